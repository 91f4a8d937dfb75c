"""A runtime broken in a basic operation gets a red on that operation's requirement, with the preflight's
evidence, and the checks that need the operation are not judged (issue 13).

Each misbehaving runtime (tests/bad_runtimes/) breaks one step of the lifecycle the preflight proves.
The run must end normally (exit 1, a full report, no harness error), the step must be failed in the
report's ``preflight`` and as the entry ``preflight::<step>`` on the step's requirements, checks that
need the step must be skipped with a reason naming it, and nothing may be left behind (where the
runtime's own delete works). A runtime whose operation hangs only for some configs is judged per config:
the first timeouts are reds, the rest are cut short and named in the report, and every other config is
judged as usual.
"""

from __future__ import annotations

import subprocess

import pytest

from ocitest.lifecycle import GATE_NEEDS, HUNG_CALL_GATES, NOT_JUDGED, STEPS

from . import leftovers
from .conftest import BAD_RUNTIMES, needs_root_and
from .live_run import LiveRun

#: wrapper -> (the step that must fail, the requirement it must turn red, environment for the wrapper).
CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    "create_does_nothing": ("create", "runtime.create-new-container", {}),
    "create_starts_program": ("program-waits", "runtime.lifecycle-program-not-run-at-create", {}),
    "state_prints_garbage": ("state-created", "runtime.state-returns-state", {"OCITEST_GARBAGE_ALWAYS": "1"}),
    "start_does_nothing": ("program-runs", "runtime.start-runs-program", {}),
    "start_hangs": ("start", "runtime.start-runs-program", {}),
    "exit_code_lost": ("exit", "runtime.start-runs-program", {}),
    "state_always_created": ("state-stopped", "runtime.state-status", {}),
    "delete_does_nothing": ("state-deleted", "runtime.lifecycle-destroy", {}),
    "state_unknown_succeeds": ("state-unknown", "runtime.state-unknown-container", {}),
    "kill_ignores_signals": ("kill-TERM", "runtime.kill-sends-signal", {}),
    "kill_does_nothing": ("kill-KILL", "runtime.kill-sends-signal", {}),
    # A call that hangs is made once: the later steps that need it are not run, its gates close all the same.
    "state_hangs": ("state-unknown", "runtime.state-unknown-container", {}),
    "kill_hangs": ("kill-TERM", "runtime.kill-sends-signal", {}),
    "delete_hangs": ("delete", "runtime.lifecycle-destroy", {}),
}


def _remove_what_the_runtime_could_not(run: LiveRun) -> None:
    """delete_does_nothing cannot remove its containers: the real runtime does, before looking for leftovers."""
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, timeout=60).stdout.split()
    marks = tuple(f"ocitest-{pid}-" for pid in run.pids)
    for container in listed:
        if container.startswith(marks):
            subprocess.run(["runc", "delete", "--force", container], capture_output=True, timeout=60)


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_a_failed_lifecycle_step_is_a_red_and_what_needs_it_is_not_judged(wrapper, tmp_path, monkeypatch):
    step_name, requirement, env = CASES[wrapper]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run = LiveRun.start(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "runtime", "-n", "2")
    code = run.finish(600)
    report = run.report()
    assert report is not None, f"no report; the run printed: {run.output[-3000:]}"
    assert code == 1 and report["verdict"] == "red", run.output[-3000:]
    errors = [f"{t['nodeid']}: {t['message']}" for t in report["tests"] if t["outcome"] == "error"]
    assert not errors, f"harness errors: {errors}"

    steps = {s["name"]: s for s in report["preflight"]["lifecycle"]}
    step = steps[step_name]
    assert step["outcome"] == "failed" and requirement in step["requirements"], step
    assert step["calls"] or step["kind"] == "wait", f"the failed step carries no calls as evidence: {step}"
    entry = next(t for t in report["tests"] if t["nodeid"] == f"preflight::{step_name}")
    assert entry["outcome"] == "fail" and requirement in entry["requirements"], entry
    assert entry["calls"] == step["calls"]
    red = next(r for r in report["requirements"] if r["id"] == requirement)
    assert red["outcome"] == "fail", red

    gates = {STEPS[step_name][1], *HUNG_CALL_GATES.get(step["stalled"], ())}
    reasons = tuple(f"{NOT_JUDGED} {GATE_NEEDS[gate]}" for gate in gates)
    not_judged = [t for t in report["tests"] if t["outcome"] == "skip" and t["message"].startswith(reasons)]
    assert not_judged, f"no check was stopped by the failed {step_name} step ({reasons})"
    assert all(f"preflight::{step_name}" in t["message"] for t in not_judged)
    # What timed out in the preflight is cut short from then on: no check of the suite waits it out again.
    waited_out = [t["nodeid"] for t in report["tests"] if t["outcome"] == "fail" and not t["nodeid"].startswith(
        "preflight::") and ("did not return within 10" in t["message"] or "within 10 s" in t["message"])]
    assert not waited_out, f"checks still waited out a time limit on the broken operation: {waited_out}"

    if wrapper in ("delete_does_nothing", "delete_hangs"):
        _remove_what_the_runtime_could_not(run)
    leftovers.assert_none("runc", run.pids, run.tmpdir, f"a run against {wrapper}")


@needs_root_and("runc")
def test_an_operation_that_hangs_for_some_configs_is_judged_per_config_then_cut_short(tmp_path):
    run = LiveRun.start(tmp_path, "--runtime", str(BAD_RUNTIMES / "start_hangs_with_hooks"), "--suite", "runtime",
                        "--runtime-timeout", "2", "-p", "no:xdist")
    code = run.finish(600)
    report = run.report()
    assert report is not None and code == 1, run.output[-3000:]
    tests = {t["nodeid"]: t for t in report["tests"]}
    assert not [n for n, t in tests.items() if t["outcome"] == "error"], run.output[-3000:]
    steps = report["preflight"]["lifecycle"]
    assert all(s["outcome"] == "passed" for s in steps), "the simplest containers have no hooks: the lifecycle holds"

    hung = [n for n, t in tests.items() if "did not return within 2.0 s" in t["message"] and t["outcome"] == "fail"]
    assert len(hung) >= 3, f"the first starts that hung are judged (red): {hung}"
    cut = report["preflight"]["cut_short"]
    assert cut and all(tests[n]["outcome"] == "skip" and "cut short" in tests[n]["message"] for n in cut), cut
    assert all(why.startswith("not judged, cut short: start: kept timing out") for why in cut.values()), cut
    assert not set(hung) & set(cut)
    judged = [n for n, t in tests.items() if "test_hooks" not in n and t["outcome"] == "pass"
              and n.startswith("suites/runtime/test_start")]
    assert judged, "configs without hooks are still judged"
    assert "cut short:" in run.output
    leftovers.assert_none("runc", run.pids, run.tmpdir, "a run against start_hangs_with_hooks")

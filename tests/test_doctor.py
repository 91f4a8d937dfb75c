"""``ocitest doctor`` names, before a run, exactly the skips that the run's preconditions cause."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT, needs_root_and, run_ocitest

#: A cheap selection holding host-fact skips (cgroups, resctrl, SELinux, NUMA) and parameter-set
#: preconditions (rlimits).
SUBSET = ("--suite", "config", "--suite", "linux", "-k", "cgroup or misc or linux_process or rlimit")


def doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocitest.cli", "doctor", "--runtime", "runc", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@needs_root_and("runc")
def test_doctor_lists_the_skips_by_reason_with_their_requirements():
    text = doctor()
    assert text.returncode == 0, text.stderr
    plan = json.loads(doctor("--json").stdout)["skips"]
    assert plan["collected"] > 300 and not plan["problems"], plan["problems"]
    lines = text.stdout.splitlines()
    assert any(line.startswith(f"skips:     {plan['skipped']} of {plan['collected']} tests") for line in lines)
    for group in plan["groups"]:
        assert f"- {group['reason']}" in text.stdout
        assert group["requirements"][0] in text.stdout
    assert "more tests may skip during the run" in text.stdout
    assert "collected" not in text.stdout.lower(), "pytest's collection output leaked into doctor's"


@needs_root_and("runc")
def test_each_skip_doctor_names_happens_in_a_real_run_with_the_same_reason(tmp_path):
    plan = json.loads(doctor("--json").stdout)["skips"]
    predicted = {nodeid: group["reason"] for group in plan["groups"] for nodeid in group["tests"]}
    run = run_ocitest(tmp_path, "--runtime", "runc", *SUBSET)
    assert run.report is not None, run.output[-3000:]
    tests = {t["nodeid"]: t for t in run.report["tests"]}
    in_run = {nodeid: why for nodeid, why in predicted.items() if nodeid in tests}
    assert len(in_run) >= 5, f"the selection should hold skips doctor predicts; it has {sorted(in_run)}"
    differ = {nodeid: (tests[nodeid]["outcome"], tests[nodeid]["message"], why) for nodeid, why in in_run.items()
              if (tests[nodeid]["outcome"], tests[nodeid]["message"]) != ("skip", why)}
    assert not differ, f"doctor predicted these skips, the run did otherwise (outcome, message, predicted): {differ}"
    # Every other skip of the run comes from a test doctor counted as deciding while it runs.
    may_skip = set(plan["may_skip_on_the_runtime"])
    unforeseen = {n: t["message"] for n, t in tests.items() if t["outcome"] == "skip" and n not in predicted
                  and n not in may_skip}
    assert not unforeseen, f"skips doctor neither predicted nor counted as possible: {unforeseen}"
    # A requirement doctor says gets no test run ends up "skip" in the verdict (not-run: its suite is
    # outside the selection).
    outcomes = run.outcomes()
    wrong = {rid: outcomes[rid] for rid in plan["unchecked_requirements"]
             if rid in outcomes and outcomes[rid] not in ("skip", "not-run")}
    assert not wrong, f"doctor said no test of these runs, yet they were judged: {wrong}"

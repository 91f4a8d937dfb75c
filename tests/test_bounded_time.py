"""Bounded time: against a runtime that hangs in `start`, one whose `state` prints garbage and one whose
containers never exit, the run ends within its timeouts, the report says which call or wait and for how
long, and nothing is left behind. (A state that is always garbage is a failed preflight step:
test_prerequisites.py.)"""

from __future__ import annotations

import pytest

from . import leftovers
from .conftest import BAD_RUNTIMES, needs_root_and
from .live_run import LiveRun

TIMEOUTS = ("--runtime-timeout", "2", "--wait-timeout", "2")
#: wrapper -> words that a failing test's message must hold: what hung or was wrong, and for how long.
CASES = {
    "start_hangs": ("start ocitest-", "did not return within 2.0 s and was killed"),
    "state_prints_garbage": ("state ocitest-", "printed no JSON object"),
    "kill_ignores_signals": ("kill returned success, but the signal did not take effect", "within 2 s"),
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_a_hostile_runtime_gets_a_finished_run_a_clear_report_and_no_leftovers(wrapper, tmp_path):
    run = LiveRun.start(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "runtime", *TIMEOUTS, "-n", "2")
    code = run.finish(600)
    report = run.report()
    assert report is not None, run.output[-3000:]
    assert code == 1 and report["verdict"] == "red", run.output[-3000:]
    errors = [f"{t['nodeid']}: {t['message']}" for t in report["tests"] if t["outcome"] == "error"]
    assert not errors, f"harness errors: {errors}"
    messages = [t["message"] for t in report["tests"] if t["outcome"] == "fail"]
    assert any(all(words in m for words in CASES[wrapper]) for m in messages), (
        f"no failure names the call and the time ({CASES[wrapper]}): {messages}")
    leftovers.assert_none("runc", run.pids, run.tmpdir, f"a run against {wrapper}")

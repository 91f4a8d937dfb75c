"""The pieces behind the preflight's findings, without a runtime: gates, sized limits, cutting short, reaping."""

from __future__ import annotations

import os
import subprocess

import pytest

from ocitest.lifecycle import (
    CEILING,
    FAILED,
    FLOOR,
    GATE_NEEDS,
    NOT_RUN,
    PASSED,
    STEPS,
    Lifecycle,
    NotJudged,
    StepResult,
    size_limit,
)
from ocitest.runtime import run_command
from ocitest.stalls import STREAK, Stalls
from ocitest.waits import ExitReaper


def test_every_step_closes_a_gate_whose_skip_reason_is_written():
    assert all(gate in GATE_NEEDS for _, gate in STEPS.values())


def test_a_failed_step_closes_its_gate_with_a_reason_naming_it_and_survives_json():
    lifecycle = Lifecycle([
        StepResult("create", PASSED, ["runtime.create-new-container"], "ok", 0.03),
        StepResult("program-runs", FAILED, ["runtime.start-runs-program"], "no output within 10 s", 10.0, "wait",
                   stalled="output after start"),
        StepResult("exit", NOT_RUN, [], "not run: the program did not run"),
    ])
    again = Lifecycle.from_json(lifecycle.to_json())
    assert again == lifecycle
    gates = again.prerequisites()
    assert gates.works("kill") and not gates.works("start")
    with pytest.raises(NotJudged, match=r"needs start to run the program.*preflight::program-runs"):
        gates.require("start")
    gates.require("kill")  # open: nothing happens
    assert again.stalled == ["output after start"]
    assert again.slowest("call") == 0.03 and again.slowest("wait") is None  # failed steps measure no speed


def test_limits_are_the_option_else_ten_times_the_slowest_step_within_floor_and_ceiling():
    assert size_limit(2.5, 0.01, "call").seconds == 2.5
    assert size_limit(None, 0.01, "call").seconds == FLOOR
    assert size_limit(None, 1.5, "call").seconds == 15.0
    assert size_limit(None, 9.0, "call").seconds == CEILING
    assert size_limit(None, None, "call").seconds == CEILING
    assert "0.010 s" in size_limit(None, 0.01, "runtime call").why


def test_an_operation_is_cut_short_after_a_streak_and_whole_again_after_a_success():
    stalls = Stalls()
    stalls.arm(0.01, 0.01, [])
    for _ in range(STREAK):
        assert stalls.limit("start", 10.0) == (10.0, False)
        stalls.timed_out("start", 10.0, False, "hung")  # judged: the check itself fails
    limit, cut = stalls.limit("start", 10.0)
    assert cut and limit < 10.0
    assert stalls.limit("delete", 10.0) == (10.0, False), "another operation keeps its full limit"
    with pytest.raises(NotJudged, match="cut short: start"):
        stalls.timed_out("start", 10.0, True, "hung again")
    assert len(stalls.cut) == 1
    stalls.succeeded("start")
    assert stalls.limit("start", 10.0) == (10.0, False)


def test_what_timed_out_in_the_preflight_starts_out_cut_short():
    stalls = Stalls()
    stalls.arm(0.02, 0.5, ["output after kill"])
    assert stalls.limit("output after kill", 10.0, "wait")[1]
    assert stalls.limit("output after start", 10.0, "wait") == (10.0, False)
    assert stalls.short["wait"] == 1.5  # three times the slowest wait


def test_the_reaper_reaps_a_child_that_exits_while_a_call_runs():
    child = subprocess.Popen(["sleep", "0.2"])
    reaper = ExitReaper()
    reaper.add_pid(child.pid)
    try:
        call = run_command(["sleep", "0.6"], timeout=10, reaper=reaper)
    finally:
        reaper.close()
    assert call.ok
    with pytest.raises(ChildProcessError):  # already reaped, during the call
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG)
    child.returncode = 0  # nothing left for Popen to wait for

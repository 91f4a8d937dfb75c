"""The event-driven machinery on plain processes: bounded calls, pidfd exits, pipes."""

import os
import subprocess
import time

import pytest

from ocitest.caller import ProcessWatch, Stdio
from ocitest.errors import RuntimeTimeout
from ocitest.runtime import Runtime, run_command


def test_a_call_records_exit_code_and_both_streams():
    call = run_command(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (call.exit, call.stdout, call.stderr, call.timed_out) == (3, "out\n", "err\n", False)
    assert call.failed and not call.ok


def test_a_hung_call_is_killed_at_its_timeout_with_everything_it_forked():
    started = time.monotonic()
    call = run_command(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.3)
    assert call.timed_out and call.exit is None
    assert time.monotonic() - started < 5


def test_a_call_returns_when_the_process_exits_even_if_a_child_keeps_its_pipes():
    started = time.monotonic()
    call = run_command(["sh", "-c", "sleep 5 & echo $!"], timeout=10)
    assert time.monotonic() - started < 3
    os.kill(int(call.stdout), 9)


def test_a_runtime_call_that_hangs_raises_a_timeout_naming_the_command():
    runtime = Runtime("/bin/sleep", timeout=0.2)
    with pytest.raises(RuntimeTimeout, match="sleep 5.* did not return"):
        runtime.call("5")
    assert runtime.calls and runtime.calls[0].timed_out


def test_a_missing_binary_is_a_failed_call_not_a_crash():
    call = run_command(["/nonexistent/runtime", "state", "x"], timeout=5)
    assert call.exit == 127 and "could not execute" in call.stderr


def test_exit_codes_and_signals_come_from_the_pidfd():
    proc = subprocess.Popen(["sh", "-c", "exit 42"])
    status = ProcessWatch(proc.pid).wait(10)
    assert status.code == 42 and status.signal is None
    proc = subprocess.Popen(["sleep", "30"])
    watch = ProcessWatch(proc.pid)
    assert watch.alive()
    os.kill(proc.pid, 9)
    assert watch.wait(10).signal == 9


def test_waiting_for_a_process_that_does_not_exit_is_bounded():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(RuntimeTimeout, match="did not exit within"):
            ProcessWatch(proc.pid).wait(0.2)
    finally:
        proc.kill()
        proc.wait()


def test_stdio_pipes_carry_input_and_output_and_show_eof():
    stdio = Stdio()
    stdin, stdout, stderr = stdio.child_fds()
    proc = subprocess.Popen(["sh", "-c", "echo ready; read line; echo got:$line; echo e >&2"],
                            stdin=stdin, stdout=stdout, stderr=stderr)
    stdio.close_child_ends()
    assert b"ready" in stdio.read_until(b"ready", 10)
    stdio.write(b"hello\n")
    out, err = stdio.read_to_eof(10)
    assert out == b"ready\ngot:hello\n" and err == b"e\n"
    proc.wait()
    stdio.close()


def test_read_until_names_what_the_program_printed_instead():
    stdio = Stdio()
    proc = subprocess.Popen(["sh", "-c", "echo something-else"], stdin=stdio.child_fds()[0],
                            stdout=stdio.child_fds()[1], stderr=stdio.child_fds()[2])
    stdio.close_child_ends()
    with pytest.raises(AssertionError, match="something-else"):
        stdio.read_until(b"ready", 10)
    proc.wait()
    stdio.close()

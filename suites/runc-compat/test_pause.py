"""pause and resume: every process of the container stops, then goes on.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-pause.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-resume.8.md

Whether a process was stopped is told by its own clock: each prints a tick with the time it read
every 20 ms, so a process that ran while the container was paused shows no gap as long as the pause,
and one that was stopped cannot show anything else. No mechanism is assumed (a cgroup freezer, a
sandbox that stops itself): only what the programs lived through.
"""

import time

import pytest

from ocitest import RuntimeTimeout, probe, requirement

#: How long the checks keep the container paused, seconds: far above the ticker's 20 ms steps.
HOLD = 0.3
#: A stopped process's gap, by its 10 ms clock, is at least the hold less this.
SLACK = 0.03


def ticking(new_container):
    """A container whose program and a child of it tick, plus an exec'd process ticking; all seen ticking."""
    container = new_container(probe.sh(f"( {probe.ticker('child')} ) &", probe.ticker("init")))
    container.create()
    container.start()
    container.read_until("ocitest:tick child ")
    container.read_until("ocitest:tick init ")
    execd = container.exec(container.process_spec(probe.sh(probe.ticker("exec"))))
    execd.read_until("ocitest:tick exec ")
    return container, execd


def streams(container, execd) -> dict[str, str]:
    """What each ticker printed so far (read without waiting)."""
    container.stdio.take()
    execd.stdio.take()
    out, exec_out = bytes(container.stdio.out).decode(), bytes(execd.stdio.out).decode()
    return {"init": out, "child": out, "exec": exec_out}


def pause_for_a_while(container) -> float:
    """pause, hold, resume; how long the container was paused as the caller measured it."""
    container.pause()
    paused_at = time.monotonic()
    time.sleep(HOLD)  # the pause's own length, not a wait for anything
    held = time.monotonic() - paused_at
    container.resume()
    return held


def tick_again(container, execd) -> dict[str, str]:
    """Wait until each ticker printed a tick later than the last one seen: all are running again."""
    seen = streams(container, execd)
    for name, output in seen.items():
        ticks = probe.ticks(output, name)
        last = ticks[-1][0] if ticks else 0
        (execd if name == "exec" else container).read_until(f"ocitest:tick {name} {last + 1} ")
    return streams(container, execd)


@requirement("compat.pause-freezes-all")
def test_pause_stops_every_process_of_the_container(new_container):
    container, execd = ticking(new_container)
    held = pause_for_a_while(container)
    try:
        seen = tick_again(container, execd)
    except RuntimeTimeout:
        pytest.skip("cannot judge this: after resume the processes did not run again (judged by "
                    "compat.resume-thaws-all)")
    ran = {}
    for name, output in seen.items():
        ticks = probe.ticks(output, name)
        gaps = [later[1] - earlier[1] for earlier, later in zip(ticks, ticks[1:], strict=False)]
        if not gaps or max(gaps) < held - SLACK:
            ran[name] = round(max(gaps, default=0.0), 3)
    assert not ran, (f"the container was paused for {held:.2f} s, yet these processes kept running (their longest "
                     f"gap between ticks, s): {ran}")


@requirement("compat.pause-state")
def test_state_of_a_paused_container_is_paused_then_running_after_resume(new_container):
    container = new_container(probe.waiting())
    container.launch()
    pid = container.state().get("pid")
    container.pause()
    paused = container.state()
    assert paused.get("status") == "paused", f"state of a paused container says {paused.get('status')!r}"
    assert paused.get("pid") == pid, f"state of a paused container gives pid {paused.get('pid')}, before it {pid}"
    container.resume()
    status = container.status()
    assert status == "running", f"state after resume says {status!r}"


@requirement("compat.resume-thaws-all")
def test_resume_lets_every_process_run_again(new_container):
    container, execd = ticking(new_container)
    container.pause()
    status = container.status()
    if status != "paused":
        pytest.skip(f"cannot judge resume: after pause, state says {status!r} (judged by compat.pause-state)")
    container.resume()
    try:
        tick_again(container, execd)
    except RuntimeTimeout as exc:
        raise AssertionError(f"after resume, not every process ran again: {exc}") from None


@requirement("compat.pause-wrong-state")
def test_resume_of_a_running_container_fails_and_changes_nothing(new_container):
    container = new_container(probe.waiting())
    container.launch()
    call = container.resume(check=False)
    assert call.failed, f"resume of a container that is not paused did not report an error: {call.describe()}"
    status = container.status()
    assert status == "running", f"after the refused resume, state says {status!r}"


@requirement("compat.pause-wrong-state")
def test_pause_of_a_stopped_container_fails_and_changes_nothing(new_container):
    container = new_container(probe.sh("exit 0"))
    container.run_to_exit()
    call = container.pause(check=False)
    assert call.failed, f"pause of a stopped container did not report an error: {call.describe()}"
    status = container.status()
    assert status == "stopped", f"after the refused pause, state says {status!r}"

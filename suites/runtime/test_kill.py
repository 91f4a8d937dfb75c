"""runtime.md, Kill: delivering signals, and when kill must refuse.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeKill
"""

import signal

import pytest

from ocitest import probe, requirement


def signal_reporter(new_container):
    container = new_container(probe.waiting(*probe.report_signals("USR1", "TERM", "HUP")))
    container.create()
    container.start()
    container.read_until(probe.READY)
    return container


@requirement("runtime.kill-sends-signal")
@pytest.mark.parametrize("sig", ["TERM", "USR1", "HUP"])
def test_kill_delivers_the_signal_to_the_running_program(new_container, sig):
    container = signal_reporter(new_container)
    container.kill(sig)
    container.read_until(f"ocitest:signal {sig}")
    status = container.finish()
    received = probe.facts(container.output()).get("signal")
    assert received == [sig], f"sent {sig} once, the program reported {received}"
    assert status is None or status.code == 0, f"the program ended with {status}"


@requirement("runtime.kill-sends-signal")
def test_kill_with_KILL_ends_a_running_container(new_container, runtime_info):
    container = signal_reporter(new_container)
    container.kill("KILL")
    status = container.wait_exit()
    assert status is None or status.killed_by(signal.SIGKILL, sandboxed=runtime_info.profile.sandboxed), (
        f"the container process ended with {status}, not SIGKILL")
    assert container.status() == "stopped"


@requirement("runtime.kill-sends-signal")
def test_kill_with_KILL_ends_a_created_container_before_it_runs_anything(new_container):
    container = new_container(probe.waiting(probe.touch_in_exchange("ran")))
    container.create()
    container.kill("KILL")
    container.wait_exit()
    assert container.status() == "stopped", "a created container killed with KILL is not stopped"
    assert not container.exchange_file("ran").exists(), "the program ran although the container was killed before start"


@requirement("runtime.kill-requires-id")
def test_kill_without_a_container_id_fails(runtime):
    call = runtime.call("kill")
    assert call.failed, f"kill without an ID did not report an error: {call.describe()}"


@requirement("runtime.kill-only-created-or-running")
def test_kill_on_a_stopped_container_fails_and_changes_nothing(new_container):
    container = new_container(probe.sh("exit 3"))
    container.run_to_exit()
    before = container.state()
    call = container.kill("TERM", check=False)
    assert call.failed, f"kill on a stopped container did not report an error: {call.describe()}"
    after = container.state()
    assert after == before, f"the refused kill changed the container: {before} -> {after}"


@requirement("runtime.kill-only-created-or-running")
def test_kill_of_an_unknown_container_fails(runtime, unknown_container_id):
    call = runtime.kill(unknown_container_id, "KILL")
    assert call.failed, f"kill of a container that does not exist did not report an error: {call.describe()}"

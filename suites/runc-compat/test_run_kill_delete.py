"""run, kill --all, kill with a signal number, delete --force, checkpoint and restore: the engines' way of
starting, ending and moving a container.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-run.8.md
https://github.com/opencontainers/runc/blob/v1.1.5/man/runc-kill.8.md (the last manual with --all)
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-delete.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-checkpoint.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-restore.8.md
"""

import os
import signal

import pytest

from ocitest import RuntimeTimeout, needs, probe, readable, requirement

#: The program's exit code in the run checks.
RUN_EXIT = 5


@requirement("compat.run-foreground")
def test_run_in_the_foreground_returns_the_program_status(new_container):
    container = new_container(probe.sh(probe.say("ran", "yes"), f"exit {RUN_EXIT}"))
    call = container.run(check=False)
    out, _ = container.stdio.take()
    assert call.exit == RUN_EXIT, f"the program exited {RUN_EXIT}; {call.describe()}"
    assert probe.facts(out.decode()).get("ran") == ["yes"], (
        f"the program's output did not reach the caller's stdout: {out[-300:]!r}")


@requirement("compat.run-detach")
def test_run_detached_leaves_the_program_running(new_container):
    container = new_container(probe.waiting())
    container.run(detach=True)
    container.read_until(probe.READY)
    state = container.state()
    assert state.get("status") == "running", f"after `run --detach`, state says {state.get('status')!r}"
    assert container.read_pid_file() == state.get("pid"), (
        f"the pid file says {container.read_pid_file()}, state says pid {state.get('pid')}")
    status = container.finish()
    assert status is None or status.code == 0, f"the program ended with {status}"


@requirement("compat.kill-all")
# The program's child tells its pid with $$, a host pid only when the container is in the host's PID
# namespace; a sandbox's program is always in the sandbox kernel's own, so that pid is no host process.
@needs("program_visible_from_host", "the host pid of the program's child in the host's PID namespace")
def test_kill_all_ends_every_process_of_a_container_in_the_host_pid_namespace(new_container):
    container = new_container(probe.waiting(
        "sh -c 'echo ocitest:child $$; exec sleep 1000' </dev/null &"))
    linux = container.bundle.config["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != "pid"]
    container.launch_unless_refused("a container in the host's PID namespace")
    child = int(probe.facts(container.read_until("ocitest:child "))["child"][0])
    child_fd = os.pidfd_open(child)
    try:
        call = container.runtime.call("kill", "--all", container.id, str(int(signal.SIGKILL)))
        assert call.ok, f"kill --all failed: {call.describe()}"
        container.wait_exit()
        # The child, re-parented to the caller once the container process is gone, ends too.
        if not readable([child_fd], container.timeouts.wait):
            raise AssertionError(f"after `{call.command()}` the container process ended, its child (pid {child}) "
                                 "still runs")
    finally:
        try:
            signal.pidfd_send_signal(child_fd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitid(os.P_PIDFD, child_fd, os.WEXITED)
        except ChildProcessError:
            pass
        os.close(child_fd)


@requirement("compat.kill-signal-number")
def test_kill_with_a_signal_number_delivers_that_signal(new_container, runtime):
    container = new_container(probe.waiting(*probe.report_signals("TERM")))
    container.launch()
    call = runtime.call("kill", container.id, str(int(signal.SIGTERM)))
    assert call.ok, f"kill with the signal as a number failed: {call.describe()}"
    try:
        container.read_until("ocitest:signal TERM")
    except RuntimeTimeout:
        raise AssertionError(f"`{call.command()}` returned, the program never got SIGTERM") from None


@requirement("compat.delete-force")
def test_delete_force_ends_a_running_container_and_forgets_it(new_container, runtime):
    container = new_container(probe.waiting())
    container.launch()
    call = container.delete(force=True)
    assert call.ok, f"delete --force of a running container failed: {call.describe()}"
    container.wait_exit()
    after = runtime.state(container.id)
    assert after.failed, f"after delete --force the runtime still knows the container: {after.describe()}"


def criu_errors(log) -> str:
    """The error lines of a CRIU log the runtime left in the work folder (what CRIU itself said)."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if "Error" in line]
    except OSError:
        return ""
    return f"; CRIU's {log.name}: " + " | ".join(lines[-4:]) if lines else ""


@requirement("compat.checkpoint-restore")
@needs("criu")
def test_a_restored_program_goes_on_with_its_memory_and_open_files(new_container, runtime):
    if not runtime.offers("checkpoint", "--image-path"):
        pytest.skip("the runtime's `checkpoint --help` does not list --image-path: not claimed")
    # The count lives in the shell's memory; fd 3 stays open on a file of the exchange folder.
    container = new_container(probe.sh(
        f"exec 3>>{probe.EXCHANGE_DIR}/counted", "i=0",
        f'while read -r line; do i=$((i+1)); echo $i >&3; {probe.say("count", "$i $(readlink /proc/$$/fd/3)")}; done'))
    container.create()
    container.start()
    container.stdio.write(b"one\n")
    before = probe.facts(container.read_until("ocitest:count 1 "))["count"][0].split()[1]
    image, work = container.bundle.path / "checkpoint", container.bundle.path / "criu-work"
    call = container.checkpoint(image, work)
    assert call.ok, f"checkpoint of a running container failed: {call.describe()}{criu_errors(work / 'dump.log')}"
    container.wait_exit()
    container.delete(check=False)
    call = container.restore(image, work)
    assert call.ok, f"restore from the checkpoint failed: {call.describe()}{criu_errors(work / 'restore.log')}"
    container.stdio.write(b"two\n")
    try:
        out = container.read_until("ocitest:count ")
    except RuntimeTimeout:
        raise AssertionError("the restored program does not read its new stdin or write its new stdout") from None
    count = probe.facts(out)["count"][0].split()
    assert count[0] == "2", f"the restored program counted {count[0]}: its memory (1 before) was not restored"
    assert count[1] == before, f"fd 3 was {before} before the checkpoint, {count[1]} after the restore"
    written = container.exchange_file("counted").read_text()
    assert written == "1\n2\n", f"the file the program held open has {written!r}, not the counts 1 and 2"

"""exec: a further process in a running container, as containerd's shim and conmon start it.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-exec.8.md

The engines write the process as JSON and call ``exec --process FILE --detach --pid-file P ID`` with
pipes of their own as stdio; the runtime returns while the program runs, and the engine, a child
subreaper, reaps the program named in the pid file.
"""

import json
import os

import pexpect
import pexpect.fdpexpect
import pytest

from ocitest import PidfdSocket, RuntimeTimeout, needs, pidfd_target, probe, requirement

#: The exec'd program's exit code in the exit-status checks: neither 0 nor a runtime's error code.
EXEC_EXIT = 7


def running(new_container, *before: str):
    """A launched container whose program reports where it is, then waits on stdin."""
    container = new_container(probe.waiting(*before))
    container.bundle.config["process"]["env"].append("OCITEST_INIT_ONLY=init")
    return container.launch()


def exec_reporting_identity(new_container, **changes) -> dict[str, list[str]]:
    """Exec a process with ``changes`` to the container's own that reports who it is; what it reported."""
    container = running(new_container)
    execd = container.exec(container.process_spec(probe.sh(*probe.report_identity()), **changes))
    return probe.facts(execd.output())


@requirement("compat.exec-process-file")
def test_exec_runs_exactly_the_process_file(new_container):
    container = running(new_container)
    process = container.process_spec(probe.sh(*probe.report_identity(), f"exit {EXEC_EXIT}"),
                                      env=["PATH=/bin", "OCITEST_EXEC=given value"], cwd="/bin")
    execd = container.exec(process)
    assert execd.watch is not None, (
        f"after `{execd.call.command()}` returned, its pid file named no live process "
        f"({execd.pid_file.read_text() if execd.pid_file.exists() else 'no pid file'!r})")
    seen = probe.facts(execd.output())
    env = sorted(seen.get("env", []))
    assert "OCITEST_EXEC=given value" in env, f"the exec'd program's env lacks the given OCITEST_EXEC: {env}"
    assert not [v for v in env if v.startswith("OCITEST_INIT_ONLY=")], (
        f"the exec'd program got the container process's own env too: {env}")
    assert seen.get("cwd") == ["/bin"], f"process.cwd was /bin; the exec'd program ran in {seen.get('cwd')}"


@requirement("compat.exec-joins-container")
def test_exec_joins_every_namespace_and_the_cgroup_of_the_container(new_container):
    container = running(new_container, *probe.report_namespaces(), *probe.report_namespaces())
    init = probe.facts(container.read_until(probe.READY))
    if len(set(init.get("ns", []))) != len(probe.NAMESPACE_LINKS):
        pytest.skip("the container's /proc/self/ns links change from one process to the next (a sandbox kernel's "
                    f"do): no identity to compare ({sorted(set(init.get('ns', [])))})")
    execd = container.exec(container.process_spec(probe.sh(*probe.report_namespaces())))
    seen = probe.facts(execd.output())
    assert seen.get("ns"), f"the exec'd program printed no namespaces: {execd.stdio.out[-300:]!r}"
    differ = sorted(set(seen.get("ns", [])) ^ set(init.get("ns", [])))
    assert not differ, f"the exec'd program's namespaces differ from the container process's: {differ}"
    assert set(seen.get("cgroup", [])) == set(init.get("cgroup", [])), (
        f"the exec'd program is in cgroups {seen.get('cgroup')}, the container process in {init.get('cgroup')}")


@requirement("compat.exec-process-identity")
@needs("privileged", "run an exec'd program as 1000:1000 (only the caller's uid is mapped, as 0)")
def test_exec_applies_the_user_and_capabilities_of_the_process_file(new_container):
    seen = exec_reporting_identity(new_container, user={"uid": 1000, "gid": 1000, "additionalGids": [2000]},
                                   capabilities={"bounding": ["CAP_KILL"]}, noNewPrivileges=False)
    assert seen.get("ids") == ["1000:1000:1000 2000"], f"uid:gid:groups of the exec'd program: {seen.get('ids')}"
    bounding = int((seen.get("CapBnd") or ["-1"])[0], 16)
    assert bounding == 1 << 5, f"the bounding set was to be CAP_KILL alone; the exec'd program has {bounding:#x}"
    if seen.get("NoNewPrivs") is None:
        pytest.skip("the exec'd program's /proc/self/status shows no NoNewPrivs: not observable from inside")
    assert seen.get("NoNewPrivs") == ["0"], (
        f"noNewPrivileges false in the process file (true for the container process); the exec'd program has "
        f"NoNewPrivs {seen.get('NoNewPrivs')}")


@requirement("compat.exec-process-identity")
def test_exec_applies_the_rlimits_of_the_process_file(new_container):
    seen = exec_reporting_identity(new_container, rlimits=[{"type": "RLIMIT_NOFILE", "soft": 101, "hard": 102}])
    assert seen.get("nofile") == ["101 102"], (
        f"RLIMIT_NOFILE soft 101, hard 102 asked (the container process has 1024); the exec'd program has "
        f"soft and hard {seen.get('nofile')}")


@requirement("compat.exec-exit-status")
def test_a_detached_exec_leaves_the_program_to_the_caller_with_its_exit_status(new_container):
    container = running(new_container)
    execd = container.exec(container.process_spec(probe.sh(f"exit {EXEC_EXIT}")))
    status = execd.wait_exit()
    assert status is not None, (f"the pid file named pid {execd.pid}, which is not the caller's child (a subreaper "
                                "gets the exec'd program once the runtime has returned)")
    assert status.code == EXEC_EXIT, f"the exec'd program exited {EXEC_EXIT}; the caller reaped {status}"


@requirement("compat.exec-exit-status")
def test_a_foreground_exec_exits_with_the_program_status(new_container):
    container = running(new_container)
    execd = container.exec(container.process_spec(probe.sh(f"exit {EXEC_EXIT}")), detach=False, check=False)
    assert execd.call.exit == EXEC_EXIT, f"the program exited {EXEC_EXIT}; {execd.call.describe()}"


@requirement("compat.exec-terminal")
def test_exec_with_a_terminal_sends_its_master_over_the_console_socket(new_container):
    container = running(new_container)
    process = container.process_spec(
        probe.sh('[ -t 0 ] && [ -t 1 ] && echo "ocitest:tty yes"', "read -r x", 'echo "ocitest:typed $x"'),
        terminal=True)
    execd = container.exec(process, console=True)
    assert execd.console is not None
    try:
        master = execd.console.receive(container.timeouts.wait)
    except RuntimeTimeout:
        raise AssertionError(f"exec with terminal: true sent no pty master over --console-socket "
                             f"({execd.call.describe()})") from None
    assert os.isatty(master), "the descriptor received over --console-socket is not a terminal"
    term = pexpect.fdpexpect.fdspawn(master, timeout=container.timeouts.wait, encoding="utf-8",
                                     codec_errors="replace")
    try:
        term.expect("ocitest:tty yes")
        term.send("hello\r")
        term.expect("ocitest:typed hello")
    except (pexpect.EOF, pexpect.TIMEOUT):
        raise AssertionError(f"the exec'd program's stdin and stdout are not the terminal sent; it showed "
                             f"{term.before!r}") from None
    execd.wait_exit()


@requirement("compat.exec-needs-running")
def test_exec_into_a_stopped_container_fails_and_runs_nothing(new_container):
    container = new_container(probe.sh("exit 0"))
    container.run_to_exit()
    execd = container.exec(container.process_spec(probe.sh(probe.touch_in_exchange("exec-ran"))), check=False)
    if execd.watch is not None:
        execd.wait_exit()
    assert execd.call.failed, f"exec into a stopped container did not report an error: {execd.call.describe()}"
    assert not container.exchange_file("exec-ran").exists(), "exec into a stopped container ran the program"


@requirement("compat.exec-needs-running")
def test_exec_into_an_unknown_container_fails(new_container, runtime, unknown_container_id):
    container = new_container()
    spec = container.bundle.path / "process.json"
    spec.write_text(json.dumps(container.process_spec(probe.sh("exit 0"))))
    call = runtime.exec(unknown_container_id, process_file=spec, detach=True,
                        pid_file=container.bundle.path / "unknown.pid")
    assert call.failed, f"exec into a container that does not exist did not report an error: {call.describe()}"


@requirement("compat.exec-paused-refused")
def test_exec_into_a_paused_container_is_refused(new_container):
    container = running(new_container)
    container.pause()
    process = container.process_spec(probe.sh(probe.touch_in_exchange("exec-ran")))
    try:
        execd = container.exec(process, check=False)
    except RuntimeTimeout:
        pytest.fail("exec into a paused container neither failed nor returned: it waits for a resume")
    assert execd.call.failed, f"exec into a paused container did not report an error: {execd.call.describe()}"


@requirement("compat.exec-command-line-form")
def test_exec_with_options_and_a_command_runs_it_that_way(new_container, runtime):
    container = running(new_container)
    call = runtime.exec(container.id, command=("/bin/sh", "-c", f"{probe.say('cwd', '$(pwd)')}; "
                                               f"{probe.say('env', '$OCITEST_CLI')}; {probe.say('uid', '$(id -u)')}; "
                                               f"exit {EXEC_EXIT}"),
                        options=("--env", "OCITEST_CLI=from the option", "--cwd", "/bin", "--user", "0:0"),
                        timeout=container.timeouts.wait)
    seen = probe.facts(call.stdout)
    assert call.exit == EXEC_EXIT, f"the command exited {EXEC_EXIT}; {call.describe()}"
    assert seen.get("cwd") == ["/bin"] and seen.get("env") == ["from the option"] and seen.get("uid") == ["0"], (
        f"--cwd /bin --env OCITEST_CLI=... --user 0:0; the command saw {seen}")


@requirement("compat.exec-pidfd-socket")
def test_exec_sends_a_pidfd_of_the_program_where_offered(new_container, runtime):
    if not runtime.offers("exec", "--pidfd-socket"):
        pytest.skip("the runtime's `exec --help` does not list --pidfd-socket: not claimed")
    container = running(new_container)
    listener = PidfdSocket(container.bundle.path / "pidfd.sock")
    try:
        execd = container.exec(container.process_spec(probe.waiting()), pidfd_socket=str(listener.path))
        try:
            pidfd = listener.receive(container.timeouts.wait)
        except RuntimeTimeout:
            raise AssertionError(f"exec --pidfd-socket sent nothing over the socket "
                                 f"({execd.call.describe()})") from None
        target = pidfd_target(pidfd)
        assert target == execd.pid, (
            f"the descriptor sent over --pidfd-socket is {os.readlink(f'/proc/self/fd/{pidfd}')}, a pidfd of pid "
            f"{target}; the exec'd program is pid {execd.pid}")
        execd.finish()
    finally:
        listener.close()

"""command-line-interface.md, kill: `--signal <SIGNAL>`, TERM by default, TERM and KILL with their
POSIX meaning, other signal names (MAY), and the exit code.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#kill

The document's own form, ``kill --signal SIG ID``, is checked whatever the runtime's profile says;
the other checks speak the profile's dialect, so that each is judged on its own.
"""

import signal

import pytest

from ocitest import probe, requirement


def signal_reporter(new_container, *names: str):
    """A running program that reports each of ``names`` when it arrives."""
    return new_container(probe.waiting(*probe.report_signals(*names))).launch()


def killed_by_sigkill(status, sandboxed: bool) -> bool:
    return status is None or status.killed_by(signal.SIGKILL, sandboxed=sandboxed)


def assert_reported(container, sig: str, how: str) -> None:
    try:
        container.read_until(f"ocitest:signal {sig}")
    except AssertionError as exc:
        raise AssertionError(f"{how}: the program's {sig} handler did not run ({exc})") from None
    container.finish()
    received = probe.facts(container.output()).get("signal")
    assert received == [sig], f"{how}: the program reported the signals {received}, expected [{sig!r}]"


@requirement("cli.kill-default-term", "cli.kill-posix-signals")
def test_kill_without_a_signal_sends_TERM(new_container):
    container = signal_reporter(new_container, "TERM", "INT", "HUP", "USR1", "QUIT")
    call = container.runtime.kill(container.id, None)
    assert call.ok, f"kill without a signal: {call.describe()}"
    assert_reported(container, "TERM", f"`{call.command()}`")


@requirement("cli.kill-term-kill", "cli.kill-posix-signals")
def test_kill_TERM_reaches_the_programs_handler(new_container):
    container = signal_reporter(new_container, "TERM")
    call = container.kill("TERM")
    assert_reported(container, "TERM", f"`{call.command()}`")


@requirement("cli.kill-term-kill", "cli.kill-exit-code")
def test_kill_KILL_ends_a_program_that_ignores_TERM(new_container, runtime_info):
    container = new_container(probe.waiting("trap '' TERM")).launch()
    term = container.kill("TERM", check=False)
    assert term.exit == 0, f"TERM sent to a program that ignores it: kill must still exit zero: {term.describe()}"
    container.kill("KILL")
    status = container.wait_exit()
    assert killed_by_sigkill(status, runtime_info.profile.sandboxed), f"after kill KILL the program ended with {status}"


@requirement("cli.kill-signal-option")
@pytest.mark.parametrize("sig", ["TERM", "KILL"])
def test_kill_takes_the_signal_as_the_signal_option(new_container, runtime_info, sig):
    container = signal_reporter(new_container, "TERM")
    call = container.runtime.call("kill", "--signal", sig, container.id)
    said = (call.stderr.strip().splitlines() or [""])[0][:200]
    assert call.ok, f"`{call.command()}` (the document's form) exited {call.exit}: {said!r}"
    if sig == "TERM":
        assert_reported(container, "TERM", f"`{call.command()}`")
    else:
        status = container.wait_exit()
        assert killed_by_sigkill(status, runtime_info.profile.sandboxed), (
            f"after `{call.command()}` the program ended with {status}"
        )


@requirement("cli.kill-other-names")
@pytest.mark.parametrize("sig", ["USR1", "HUP"])
def test_kill_delivers_other_named_signals(new_container, sig):
    container = signal_reporter(new_container, sig)
    call = container.kill(sig, check=False)
    assert call.ok, f"kill with the signal name {sig}: {call.describe()}"
    assert_reported(container, sig, f"`{call.command()}`")


@requirement("cli.kill-exit-code")
def test_kill_of_an_unknown_container_exits_non_zero(runtime, unknown_container_id):
    call = runtime.kill(unknown_container_id, "KILL")
    assert call.failed, f"kill of a container that does not exist did not exit non-zero: {call.describe()}"

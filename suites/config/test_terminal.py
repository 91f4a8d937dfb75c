"""config.md, process.terminal and process.consoleSize: the program gets a pseudoterminal, the caller
gets its master side over ``--console-socket``, and consoleSize sizes it (and is ignored without one).

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configProcess

The harness plays the caller of a terminal container: it listens on the console socket, receives
the pty master after ``create`` and talks to the program through it with pexpect.
"""

from __future__ import annotations

import os

import pexpect
import pexpect.fdpexpect
import pytest

from ocitest import RuntimeTimeout, probe, requirement

#: An odd size, unlikely to be anybody's default.
ROWS, COLS = 37, 91


def terminal_container(new_container, new_bundle, args: list[str], *, size: tuple[int, int] | None = None):
    bundle = new_bundle()
    process = bundle.config["process"]
    process["terminal"] = True
    if size is not None:
        process["consoleSize"] = {"height": size[0], "width": size[1]}
    return new_container(args, bundle=bundle)


def open_terminal(container) -> pexpect.fdpexpect.fdspawn:
    """create with a console socket, receive the pty master, start; the caller's end of the terminal."""
    call = container.create(console=True)
    try:
        master = container.console.receive(container.timeouts.wait)
    except RuntimeTimeout:
        raise AssertionError(
            f"with process.terminal, the runtime never sent a pty master over --console-socket ({call.describe()})"
        ) from None
    except AssertionError as exc:
        raise AssertionError(f"with process.terminal, {exc}") from None
    assert os.isatty(master), "the file descriptor received over --console-socket is not a terminal"
    container.start()
    return pexpect.fdpexpect.fdspawn(master, timeout=container.timeouts.wait, encoding="utf-8",
                                     codec_errors="replace")


def expect(term: pexpect.fdpexpect.fdspawn, pattern: str, what: str) -> str:
    """Wait for ``pattern`` on the terminal; its first group."""
    try:
        term.expect(pattern)
    except pexpect.EOF:
        raise AssertionError(f"the terminal closed before {what}; it showed {term.before!r}") from None
    except pexpect.TIMEOUT:
        raise AssertionError(f"{what} did not appear on the terminal; it showed {term.before!r}") from None
    return term.match.group(1) if term.match and term.match.groups() else ""


@requirement("config.terminal-console-socket")
def test_terminal_master_is_sent_over_the_console_socket(new_container, new_bundle):
    container = terminal_container(new_container, new_bundle, probe.sh(probe.say("hello", "tty"), "exit 0"))
    term = open_terminal(container)
    expect(term, r"ocitest:hello (\w+)", "the program's output")
    status = container.wait_exit()
    assert status is None or status.code == 0, f"the program ended with {status}"


@requirement("config.terminal-stdio")
def test_program_stdin_stdout_stderr_are_the_terminal(new_container, new_bundle):
    script = probe.sh(
        *[f'if [ -t {fd} ]; then {probe.say(f"tty{fd}", "yes")}; else {probe.say(f"tty{fd}", "no")}; fi'
          for fd in (0, 1, 2)],
        probe.say("done", "end"),
        "exit 0",
    )
    container = terminal_container(new_container, new_bundle, script)
    term = open_terminal(container)
    expect(term, r"ocitest:done (end)", "the program's report")
    container.wait_exit()
    seen = probe.facts(term.before.replace("\r\n", "\n"))
    not_tty = [f"fd {fd}" for fd in (0, 1, 2) if seen.get(f"tty{fd}") != ["yes"]]
    # Its report came through the master the runtime sent, so these terminals are that pty. The
    # name `tty` prints is not judged: the spec does not fix it (gVisor's is a host fd, no /dev/pts).
    assert not not_tty, f"with process.terminal, the program's {', '.join(not_tty)} is not a terminal ({seen})"


@requirement("config.terminal-io")
def test_caller_types_to_the_program_and_gets_its_exit_status(new_container, new_bundle):
    script = probe.sh(probe.say("ask", "line"), "read -r line", probe.say("got", "[$line]"), "exit 7")
    container = terminal_container(new_container, new_bundle, script)
    term = open_terminal(container)
    expect(term, r"ocitest:ask (line)", "the program's prompt")
    term.sendline("typed by ocitest")
    got = expect(term, r"ocitest:got \[([^\]\r\n]*)\]", "the program's echo of the typed line")
    assert got == "typed by ocitest", (
        f"the program read {got!r} from the terminal, the harness typed 'typed by ocitest'"
    )
    status = container.wait_exit()
    if status is None:
        pytest.skip("the container process is not the caller's child here, so its exit code cannot be read")
    assert status.code == 7, f"the terminal program exited 7, the caller saw {status}"


@requirement("config.console-size")
def test_console_size_is_applied_to_the_terminal(new_container, new_bundle):
    script = probe.sh(probe.say("size", "[$(stty size)]"), "exit 0")
    container = terminal_container(new_container, new_bundle, script, size=(ROWS, COLS))
    term = open_terminal(container)
    size = expect(term, r"ocitest:size \[([^\]\r\n]*)\]", "the program's `stty size`")
    container.wait_exit()
    assert size == f"{ROWS} {COLS}", (
        f"consoleSize was {ROWS} rows x {COLS} columns, the program's terminal is {size!r} (rows columns)"
    )


@requirement("config.console-size-ignored")
def test_console_size_without_terminal_is_ignored(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["process"]["terminal"] = False
    bundle.config["process"]["consoleSize"] = {"height": ROWS, "width": COLS}
    script = probe.sh(f'if [ -t 1 ]; then {probe.say("tty", "yes")}; else {probe.say("tty", "no")}; fi', "exit 0")
    container = new_container(script, bundle=bundle)
    call = container.create(check=False)
    assert call.ok, f"consoleSize with terminal false must be ignored, yet {call.describe()}"
    start = container.start(check=False)
    assert start.ok, f"consoleSize with terminal false must be ignored, yet {start.describe()}"
    status = container.wait_exit()
    out = container.output()
    assert probe.facts(out).get("tty") == ["no"], (
        f"without process.terminal the program's stdout was a terminal: {out!r}"
    )
    assert status is None or status.code == 0, f"the program ended with {status}"

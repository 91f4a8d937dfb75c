"""command-line-interface.md, create --console-socket and the Console socket protocol: the runtime
sends the pseudoterminal master through an inherited socket, with a JSON request.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#create
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#console-socket
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#requests

The document's dialect (``--console-socket <FD>``) is checked whatever the runtime's profile says:
a runtime that only takes a socket path fails that requirement, with its own words. The message's
content is checked in the dialect the runtime speaks (a path for runc and crun), so that its JSON
is judged on its own.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import termios

import pexpect
import pexpect.fdpexpect

from ocitest import RuntimeTimeout, probe, requirement

#: _IOR('T', 0x30, unsigned int): Python's termios does not export it.
TIOCGPTN = getattr(termios, "TIOCGPTN", 0x80045430)
HELLO = probe.sh(probe.say("hello", "tty"), "exit 0")


def terminal_container(new_container, new_bundle, args: list[str]):
    bundle = new_bundle()
    bundle.config["process"]["terminal"] = True
    return new_container(args, bundle=bundle)


def is_pty_master(fd: int) -> bool:
    """Only a pseudoterminal master answers TIOCGPTN (the number of its slave)."""
    try:
        fcntl.ioctl(fd, TIOCGPTN, b"\0\0\0\0")
    except OSError:
        return False
    return True


def receive_master(container, call) -> int:
    try:
        return container.console.receive(container.timeouts.wait)
    except RuntimeTimeout:
        raise AssertionError(f"create returned but no pseudoterminal master came over the console socket "
                             f"({call.describe()})") from None


def hello_through(container, master: int) -> None:
    """start, and read the program's greeting from the master side."""
    container.start()
    term = pexpect.fdpexpect.fdspawn(master, timeout=container.timeouts.wait, encoding="utf-8",
                                     codec_errors="replace")
    try:
        term.expect(r"ocitest:hello tty")
    except (pexpect.EOF, pexpect.TIMEOUT):
        raise AssertionError(f"the program's output did not come through the received master; it showed "
                             f"{term.before!r}") from None
    container.wait_exit()


@requirement("cli.create-console-socket-fd")
def test_console_socket_given_as_an_inherited_descriptor_receives_the_master(new_container, new_bundle, runtime):
    container = terminal_container(new_container, new_bundle, HELLO)
    container.runtime = dataclasses.replace(runtime, console_socket="fd")
    call = container.create(console=True, check=False)
    container.runtime = runtime
    fd = container.console.fd
    assert call.ok, (
        f"create --console-socket {fd} (an open AF_UNIX socket inherited at descriptor {fd}) failed: "
        f"{call.describe()}"
    )
    master = receive_master(container, call)
    assert is_pty_master(master), "the descriptor sent over the console socket is not a pseudoterminal master"
    hello_through(container, master)


def request_payload(container) -> bytes:
    """create a terminal container in the runtime's own dialect; the bytes that came with the master."""
    call = container.create(console=True)
    master = receive_master(container, call)
    assert is_pty_master(master), "the descriptor sent over the console socket is not a pseudoterminal master"
    hello_through(container, master)
    return container.console.payload


@requirement("cli.console-socket-json")
def test_console_socket_message_is_utf8_json(new_container, new_bundle):
    container = terminal_container(new_container, new_bundle, HELLO)
    payload = request_payload(container)
    try:
        json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise AssertionError(f"the console-socket message is not UTF-8: {payload[:200]!r}") from None
    except ValueError:
        raise AssertionError(f"the console-socket message is not JSON: {payload[:200]!r}") from None


@requirement("cli.console-request-terminal")
def test_console_socket_request_names_type_terminal_and_the_container(new_container, new_bundle):
    container = terminal_container(new_container, new_bundle, HELLO)
    payload = request_payload(container)
    try:
        request = json.loads(payload.decode("utf-8"))
    except ValueError:
        raise AssertionError(f"the console-socket request is not a JSON object with `type` and `container`: "
                             f"{payload[:200]!r}") from None
    assert isinstance(request, dict), f"the console-socket request is not a JSON object: {payload[:200]!r}"
    wanted = {"type": "terminal", "container": container.id}
    got = {key: request.get(key) for key in wanted}
    assert got == wanted, f"the console-socket request has {got}, wanted {wanted} (whole request {request})"

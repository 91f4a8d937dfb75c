"""command-line-interface.md, the standard streams of create, start, state, kill and delete.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#create
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#start
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#state
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#kill
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#delete

With ``process.terminal`` false, create hands its stdin, stdout and stderr to the program as they
are: the harness gives it pipes (or a file) and checks that the program holds those very files and
that bytes pass both ways unchanged. Every command must leave its own stdin alone: the harness gives
it a pipe holding data and checks that the data is all still there afterwards.
"""

from __future__ import annotations

import array
import fcntl
import os
import signal
import threading

import pytest

from ocitest import EXCHANGE_DIR, Wiring, probe, read_available, requirement, set_nonblocking

#: A bit over 1 MiB, every byte value: far more than a pipe holds (64 KiB).
BIG = 1024 * 1024 + 4321
#: What the harness leaves in a stdin that must not be read.
UNTOUCHABLE = b"ocitest: the runtime must leave these bytes alone\n" + bytes(range(256))
STREAM_REQUIREMENT = {0: "cli.create-stdin-passthrough", 1: "cli.create-stdout-passthrough",
                      2: "cli.create-stderr-passthrough"}
STREAM_NAME = {0: "stdin", 1: "stdout", 2: "stderr"}


def pending(fd: int) -> int:
    """Bytes waiting in a pipe (either end), without taking them (FIONREAD)."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, 0x541B, count)  # FIONREAD
    return count[0]


def drain(fd: int) -> bytes:
    set_nonblocking(fd)
    return read_available(fd)[0]


def difference(expected: bytes, got: bytes) -> str:
    """Where two byte strings part, for a failure message."""
    if got == expected:
        return "identical"
    common = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
                  min(len(expected), len(got)))
    return (f"{len(got)} bytes arrived of {len(expected)} sent; they differ from offset {common} "
            f"(sent {expected[common:common + 16]!r}, got {got[common:common + 16]!r})")


def assert_bytes_arrived(expected: bytes, got: bytes, what: str) -> None:
    """Fail, saying where the bytes part, when ``got`` is not ``expected``.

    Not a plain ``assert got == expected``: pytest explains a failed ``==`` with a line-by-line diff of
    both values, which for a megabyte takes minutes (and pytest computes it in full when $CI is set).
    """
    if got != expected:
        raise AssertionError(f"{what}: {difference(expected, got)}")


class Feeder:
    """Writes ``data`` to the container's stdin from a thread, then closes it (EOF).

    The thread writes through its own duplicate of the pipe's write end, and the harness's copy
    is closed at once: whatever happens to the test, the thread never touches a reused number.
    """

    def __init__(self, container, data: bytes) -> None:
        self.fd = os.dup(container.stdio.stdin)
        container.stdio.close_stdin()
        self.data = data
        self.problem: OSError | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        # A program that ends early makes the write fail with EPIPE; blocked here, SIGPIPE (fatal
        # under `ocitest run`) stays pending on this thread and dies with it.
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGPIPE])
        view = memoryview(self.data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            self.problem = exc
        finally:
            os.close(self.fd)

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


def saved_stdin(container) -> bytes:
    path = container.exchange_file("stdin.bin")
    return path.read_bytes() if path.exists() else b""


SAVE_STDIN = probe.sh(f"cat > {EXCHANGE_DIR}/stdin.bin", probe.say("saved", "$?"))


# -- terminal false: the program's stdio is create's stdio -------------------------------------------


@pytest.mark.parametrize("fd", [pytest.param(fd, marks=requirement(STREAM_REQUIREMENT[fd]), id=STREAM_NAME[fd])
                                for fd in (0, 1, 2)])
def test_program_fd_is_the_very_pipe_given_to_create(new_container, runtime_info, fd):
    if runtime_info.profile.sandboxed:
        pytest.skip(f"the program runs on the sandbox's kernel ({runtime_info.profile.name}): its view of its "
                    "descriptors has that kernel's inode numbers, not the host's")
    container = new_container(probe.sh(probe.say("link", f"$(readlink /proc/$$/fd/{fd})")))
    host_end = {0: container.stdio.stdin, 1: container.stdio.stdout_fd, 2: container.stdio.stderr_fd}[fd]
    expected = f"pipe:[{os.fstat(host_end).st_ino}]"
    container.create()
    container.start()
    container.wait_exit()
    link = probe.facts(container.output()).get("link")
    assert link == [expected], (
        f"the program's {STREAM_NAME[fd]} is {link}, not the pipe create was given as {STREAM_NAME[fd]} ({expected})"
    )


@requirement("cli.create-stdin-passthrough")
def test_megabyte_of_binary_stdin_reaches_the_program_intact(new_container):
    container = new_container(SAVE_STDIN)
    data = os.urandom(BIG)
    container.create()
    container.start()
    feeder = Feeder(container, data)
    container.wait_exit()
    feeder.join(container.timeouts.wait)
    got = saved_stdin(container)
    assert_bytes_arrived(data, got, "binary data written to create's stdin")


@requirement("cli.create-stdin-passthrough")
def test_closing_stdin_gives_the_program_end_of_file(new_container):
    container = new_container(probe.sh("cat > /dev/null", probe.say("eof", "reached")))
    container.create()
    container.start()
    container.stdio.close_stdin()
    out = container.read_until("ocitest:eof reached")
    assert "ocitest:eof reached" in out


@requirement("cli.create-stdin-passthrough")
def test_create_leaves_data_waiting_on_stdin_for_the_program(new_container):
    container = new_container(SAVE_STDIN)
    before = UNTOUCHABLE
    container.stdio.write(before)
    container.create()
    left = pending(container.stdio.stdin)
    container.start()
    after = b"ocitest: written after start\n"
    feeder = Feeder(container, after)
    container.wait_exit()
    feeder.join(container.timeouts.wait)
    got = saved_stdin(container)
    assert left == len(before) and got == before + after, (
        f"{len(before)} bytes waited on stdin before create, {left} were still there when create returned; "
        f"the program read: {difference(before + after, got)}"
    )


@requirement("cli.create-stdin-passthrough")
def test_create_does_not_seek_a_file_given_as_stdin(new_container):
    offset = 4099
    container = new_container(probe.sh(probe.say("pos", "$(grep -i '^pos' /proc/$$/fdinfo/0)"),
                                       f"cat > {EXCHANGE_DIR}/stdin.bin"))
    content = os.urandom(3 * offset)
    path = container.bundle.path / "stdin-file.bin"
    path.write_bytes(content)
    stdin = os.open(path, os.O_RDONLY)
    try:
        os.lseek(stdin, offset, os.SEEK_SET)
        container.create(wiring=Wiring(stdin=stdin))
        position = os.lseek(stdin, 0, os.SEEK_CUR)
    finally:
        os.close(stdin)
    container.start()
    container.wait_exit()
    reported = (probe.facts(container.output()).get("pos") or [""])[0].split()
    got = saved_stdin(container)
    assert position == offset, (
        f"create's stdin was a file at offset {offset}; when create returned it was at {position}"
    )
    if reported and reported[-1].isdigit():
        assert int(reported[-1]) == offset, (
            f"create's stdin was a file at offset {offset}; the program found its stdin at offset {reported[-1]}"
        )
    if got == content:
        raise AssertionError(f"create's stdin was a file at offset {offset}; the program read it from its start "
                             f"(its stdin does not share the caller's file offset)")
    assert_bytes_arrived(content[offset:], got, f"the program read from its stdin (a file at offset {offset})")


@pytest.mark.parametrize("fd", [pytest.param(fd, marks=requirement(STREAM_REQUIREMENT[fd]), id=STREAM_NAME[fd])
                                for fd in (1, 2)])
def test_megabyte_of_binary_output_arrives_intact_and_alone(new_container, fd):
    container = new_container(probe.sh(f"cat {EXCHANGE_DIR}/blob.bin >&{fd}"))
    data = os.urandom(BIG)
    container.exchange_file("blob.bin").write_bytes(data)
    container.create()
    container.start()
    out, err = container.stdio.read_to_eof(container.timeouts.wait)
    container.wait_exit()
    got = out if fd == 1 else err
    assert_bytes_arrived(data, got, f"the program wrote {len(data)} random bytes to its {STREAM_NAME[fd]}; "
                                    f"on create's {STREAM_NAME[fd]}")


# -- terminal true: create leaves stdin alone --------------------------------------------------------


@requirement("cli.create-terminal-stdin-unread")
def test_create_of_a_terminal_container_does_not_read_stdin(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["process"]["terminal"] = True
    container = new_container(probe.sh(probe.say("hello", "tty"), "exit 0"), bundle=bundle)
    r, w = os.pipe()
    os.write(w, UNTOUCHABLE)
    os.close(w)
    try:
        call = container.create(console=True, wiring=Wiring(stdin=r))
        after_create = pending(r)
        container.console.receive(container.timeouts.wait)
        container.start()
        container.wait_exit()
        left = drain(r)
    finally:
        os.close(r)
    assert after_create == len(UNTOUCHABLE), (
        f"with process.terminal, {len(UNTOUCHABLE)} bytes waited on create's stdin and {after_create} were left "
        f"when it returned ({call.describe()})"
    )
    assert left == UNTOUCHABLE, (
        f"with process.terminal, create's stdin was read later on: {difference(UNTOUCHABLE, left)}"
    )


# -- start, state, kill, delete leave stdin alone ----------------------------------------------------


def call_with_data_on_stdin(runtime, *args: str):
    """``runtime args...`` with a pipe holding UNTOUCHABLE (and then EOF) as stdin; the call and what is left."""
    r, w = os.pipe()
    os.write(w, UNTOUCHABLE)
    os.close(w)
    try:
        call = runtime.call(*args, wiring=Wiring(stdin=r))
        return call, drain(r)
    finally:
        os.close(r)


def assert_untouched(call, left: bytes) -> None:
    assert left == UNTOUCHABLE, (
        f"`{call.command()}` read its stdin: {difference(UNTOUCHABLE, left)} ({call.describe()})"
    )


def container_for(new_container, operation: str):
    """A container in the state ``operation`` acts on: created (start, state), running (kill), stopped (delete)."""
    if operation == "delete":
        container = new_container(probe.sh("exit 0"))
        container.run_to_exit()
    else:
        container = new_container(probe.waiting())
        if operation == "kill":
            container.launch()
        else:
            container.create()
    return container


@pytest.mark.parametrize("operation", [
    pytest.param(op, marks=requirement(f"cli.{op}-stdin-unread")) for op in ("start", "state", "kill", "delete")
])
def test_start_state_kill_and_delete_do_not_read_stdin(new_container, operation):
    container = container_for(new_container, operation)
    runtime = container.runtime
    args = runtime.kill_args(container.id, "KILL") if operation == "kill" else (operation, container.id)
    call, left = call_with_data_on_stdin(runtime, *args)
    assert_untouched(call, left)

"""The caller's side of a container: what the entity that runs ``create`` holds and collects.

* The harness is a *child subreaper*: when ``runtime create`` exits, the container process it
  forked is re-parented to us, so its exit status is ours to collect (``waitid`` on a pidfd).
* The container's stdin, stdout and stderr are pipes whose other ends the harness keeps: it
  writes the program's input, reads its output as it comes, and sees EOF when it is gone.
* With ``process.terminal`` the runtime sends the pty master over ``--console-socket``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .errors import HarnessError, RuntimeTimeout
from .waits import Deadline, read_available, readable, set_nonblocking

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make this process the reaper of orphaned descendants (the container processes)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise HarnessError(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(err)}")


def reap_strays() -> list[int]:
    """Reap every exited child nobody waits for (runtime helpers re-parented to us).

    Only called when no runtime call or container wait of ours is in flight, so nothing that
    somebody still waits for is taken away.
    """
    reaped: list[int] = []
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            return reaped
        if info is None:
            return reaped
        reaped.append(info.si_pid)


def reap_exited(zombies: Collection[int], keep: Collection[int]) -> list[int]:
    """Reap the exited children ``zombies`` (``host.own_children``), except the pids in ``keep``;
    returns the pids reaped.

    Unlike ``reap_strays`` this never takes a process somebody may still wait for: the caller
    names those in ``keep``, and each other zombie is reaped by its own pid.
    """
    reaped = []
    for pid in zombies:
        if pid in keep:
            continue
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            continue
        reaped.append(pid)
    return reaped


@dataclass(frozen=True)
class ExitStatus:
    """How the container process ended: an exit code, or the signal that killed it."""

    code: int | None = None
    signal: int | None = None

    def killed_by(self, signum: int, *, sandboxed: bool = False) -> bool:
        """Whether the program died of ``signum``. A sandbox process (gVisor's) reports its
        program's death by a signal as the shell convention 128+N, not as a signal of its own."""
        return self.signal == signum or (sandboxed and self.code == 128 + signum)

    def __str__(self) -> str:
        if self.signal is not None:
            return f"killed by {signal.Signals(self.signal).name}"
        return f"exit code {self.code}"


class ProcessWatch:
    """A pidfd on the container process: wait for its exit without polling."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None = os.pidfd_open(pid)
        self.status: ExitStatus | None = None

    def _pidfd(self) -> int:
        """The open pidfd; once ``close()`` gave it up, asking the process again is a harness bug."""
        if self.fd is None:
            raise HarnessError(f"the pidfd on pid {self.pid} was already closed")
        return self.fd

    def alive(self) -> bool:
        return self.status is None and not readable([self._pidfd()], 0)

    def wait(self, timeout: float, what: str = "the container process") -> ExitStatus | None:
        """Wait up to ``timeout`` s for the exit; return its status.

        Returns None when the process was not our child (some runtimes keep the container
        process under a daemon of their own): it exited, but its status is not ours to read.
        """
        if self.status is not None:
            return self.status
        fd = self._pidfd()
        if not readable([fd], timeout):
            raise RuntimeTimeout(f"{what} (pid {self.pid}) did not exit within {timeout:g} s")
        try:
            info = os.waitid(os.P_PIDFD, fd, os.WEXITED)
        except ChildProcessError:
            return None
        if info is None:  # pragma: no cover - WNOHANG not given
            return None
        if info.si_code == os.CLD_EXITED:
            self.status = ExitStatus(code=info.si_status)
        else:
            self.status = ExitStatus(signal=info.si_status)
        return self.status

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Stdio:
    """Pipes for the container's stdin, stdout and stderr; the harness keeps its own ends."""

    def __init__(self) -> None:
        self._stdin_r, self.stdin = os.pipe()
        self.stdout_fd, self._stdout_w = os.pipe()
        self.stderr_fd, self._stderr_w = os.pipe()
        for fd in (self.stdout_fd, self.stderr_fd):
            set_nonblocking(fd)
        self.out = bytearray()
        self.err = bytearray()
        self.out_eof = False
        self.err_eof = False
        self._child_ends_open = True

    def child_fds(self) -> tuple[int, int, int]:
        """The ends the runtime (and through it the container) gets as fds 0, 1, 2."""
        return self._stdin_r, self._stdout_w, self._stderr_w

    def close_child_ends(self) -> None:
        """After ``create``: the container holds these now; keeping them would hide EOF."""
        if self._child_ends_open:
            for fd in self.child_fds():
                os.close(fd)
            self._child_ends_open = False

    def pump(self, timeout: float = 0.0) -> bool:
        """Read whatever arrives within ``timeout`` on stdout/stderr; True if anything did."""
        fds = [fd for fd, eof in ((self.stdout_fd, self.out_eof), (self.stderr_fd, self.err_eof)) if not eof]
        got = False
        for fd in readable(fds, timeout):
            data, eof = read_available(fd)
            got = got or bool(data) or eof
            if fd == self.stdout_fd:
                self.out += data
                self.out_eof = self.out_eof or eof
            else:
                self.err += data
                self.err_eof = self.err_eof or eof
        return got

    def take(self) -> tuple[bytes, bytes]:
        """What is in the pipes right now (no waiting), also kept in ``out``/``err``."""
        before = len(self.out), len(self.err)
        self.pump(0.0)
        return bytes(self.out[before[0]:]), bytes(self.err[before[1]:])

    def read_until(self, marker: bytes, timeout: float) -> bytes:
        """Wait until stdout holds ``marker``; returns all of stdout so far."""
        deadline = Deadline(timeout)
        while marker not in self.out:
            if self.out_eof:
                raise AssertionError(
                    f"the container closed stdout without printing {marker!r}; it printed "
                    f"{bytes(self.out)[-500:]!r} (stderr {bytes(self.err)[-500:]!r})"
                )
            if deadline.expired:
                raise RuntimeTimeout(
                    f"the container did not print {marker!r} within {timeout:g} s; it printed "
                    f"{bytes(self.out)[-500:]!r} (stderr {bytes(self.err)[-500:]!r})"
                )
            self.pump(deadline.remaining())
        return bytes(self.out)

    def read_to_eof(self, timeout: float) -> tuple[bytes, bytes]:
        """Wait until the container (and everything holding its stdio) closed stdout and stderr."""
        deadline = Deadline(timeout)
        while not (self.out_eof and self.err_eof):
            if deadline.expired:
                raise RuntimeTimeout(f"the container's stdout/stderr stayed open for {timeout:g} s")
            self.pump(deadline.remaining())
        return bytes(self.out), bytes(self.err)

    def write(self, data: bytes) -> None:
        """Write to the container's stdin (small writes; the pipe buffer holds 64 KiB)."""
        try:
            os.write(self.stdin, data)
        except BrokenPipeError:
            pass

    def close_stdin(self) -> None:
        if self.stdin >= 0:
            os.close(self.stdin)
            self.stdin = -1

    def close(self) -> None:
        self.close_child_ends()
        self.close_stdin()
        for name in ("stdout_fd", "stderr_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


class ConsoleSocket:
    """The listening AF_UNIX socket given as ``--console-socket``; receives the pty master."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if len(str(path).encode()) >= 108:
            raise HarnessError(f"console socket path too long for AF_UNIX: {path}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.master_fd: int | None = None
        self.payload: bytes = b""

    def receive(self, timeout: float) -> int:
        """Accept the runtime's connection and take the pty master it sends (SCM_RIGHTS)."""
        if not readable([self.sock.fileno()], timeout):
            raise RuntimeTimeout(f"the runtime did not connect to the console socket within {timeout:g} s")
        conn, _ = self.sock.accept()
        with conn:
            if not readable([conn.fileno()], timeout):
                raise RuntimeTimeout("the runtime connected to the console socket but sent nothing")
            msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
        if not fds:
            raise AssertionError(f"the console socket message carried no file descriptor (payload {msg!r})")
        for extra in fds[1:]:
            os.close(extra)
        self.payload = msg
        self.master_fd = fds[0]
        return self.master_fd

    def close(self) -> None:
        if self.master_fd is not None:
            try:
                os.close(self.master_fd)
            except OSError as exc:  # pragma: no cover
                if exc.errno != errno.EBADF:
                    raise
            self.master_fd = None
        self.sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class PidfdSocket(ConsoleSocket):
    """The listening socket given as ``--pidfd-socket`` (runc 1.2+): the runtime sends a pidfd of the
    program over it, as it sends a pty master over a console socket."""


def pidfd_target(fd: int) -> int | None:
    """The pid the pidfd ``fd`` refers to (its fdinfo ``Pid:``); None when ``fd`` is no pidfd."""
    try:
        if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:[pidfd]":
            return None
        with open(f"/proc/self/fdinfo/{fd}") as info:
            return next((int(line.split()[1]) for line in info if line.startswith("Pid:")), None)
    except (OSError, ValueError):
        return None


class ConsoleFd:
    """The CLI document's dialect: ``--console-socket <FD>`` names an inherited, connected socket.

    The runtime sends a JSON request (``{"type": "terminal", "container": ID}``) with the pty
    master attached, and may wait for the answer before ``create`` returns; so the harness, as
    the server, answers from a thread at once, one JSON response per request.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self.sock, self._runtime_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.fd = self._runtime_end.fileno()
        self.master_fd: int | None = None
        self.payload: bytes = b""
        self.problem: str = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(timeout,), daemon=True)
        self._thread.start()

    def _serve(self, timeout: float) -> None:
        try:
            if not readable([self.sock.fileno()], timeout):
                self.problem = f"the runtime sent nothing over the console socket fd within {timeout:g} s"
                return
            msg, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 4)
            self.payload = msg
            for extra in fds[1:]:
                os.close(extra)
            if fds:
                self.master_fd = fds[0]
                self.sock.send(b'{"type": "success"}', socket.MSG_NOSIGNAL)
            else:
                self.problem = f"the console socket message carried no file descriptor (payload {msg!r})"
                # MSG_NOSIGNAL: the runtime may be gone, and `ocitest run` leaves SIGPIPE fatal.
                self.sock.send(b'{"type": "error", "message": "no file descriptor attached"}', socket.MSG_NOSIGNAL)
        except OSError as exc:
            self.problem = self.problem or f"console socket: {exc}"
        finally:
            self._done.set()

    def runtime_done(self) -> None:
        """After ``create``: only the runtime's copy should keep its end open."""
        self._runtime_end.close()

    def receive(self, timeout: float) -> int:
        if not self._done.wait(timeout):
            raise RuntimeTimeout(f"the runtime sent nothing over the console socket fd within {timeout:g} s")
        if self.master_fd is None:
            raise AssertionError(self.problem or "no pty master came over the console socket fd")
        return self.master_fd

    def close(self) -> None:
        self._runtime_end.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the serving thread's wait with EOF
        except OSError:
            pass
        self._thread.join(5)
        self.sock.close()
        if self.master_fd is not None:
            os.close(self.master_fd)
            self.master_fd = None

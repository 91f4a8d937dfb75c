"""Event-driven waiting on file descriptors, always bounded by a deadline.

Nothing in ocitest sleeps in a loop. A process exit is a readable pidfd, output is a readable
pipe, a console is a connection on a listening socket: every wait is a ``select`` on such a
descriptor with the time that remains.
"""

from __future__ import annotations

import functools
import os
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Deadline:
    """A point in monotonic time; ``remaining()`` is what is left of it (never negative)."""

    seconds: float
    end: float = field(init=False)

    def __post_init__(self) -> None:
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


def readable(fds: list[int], timeout: float) -> list[int]:
    """The subset of ``fds`` that became readable within ``timeout`` seconds."""
    if not fds:
        return []
    ready, _, _ = select.select(fds, [], [], timeout)
    return ready


def set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


def read_available(fd: int, limit: int = 1 << 24) -> tuple[bytes, bool]:
    """Read what a non-blocking ``fd`` holds right now; returns (data, reached_eof)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return b"".join(chunks), False
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


class ExitReaper:
    """Processes to reap the moment they exit, while a runtime call runs: their pidfds and what to do.

    A runtime's delete may wait until its own helper processes are gone (runsc: its sandbox and
    gofer, 5 s, then it fails). Under the harness, their subreaper, an exited helper stays a zombie
    until reaped, and a zombie is never gone; so while such a call runs, its helpers are reaped
    as they exit (``Runtime.call`` watches these descriptors beside the call's own).
    """

    def __init__(self) -> None:
        self._handlers: dict[int, Callable[[], object]] = {}
        self._owned: list[int] = []

    def add_pid(self, pid: int) -> None:
        """Reap ``pid`` when it exits (a child of the harness nobody else waits for)."""
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return
        self._owned.append(fd)
        self.reap_on_exit(fd)

    def reap_on_exit(self, pidfd: int) -> None:
        """Reap the process behind ``pidfd`` (kept open by its owner) when it exits."""
        self._handlers[pidfd] = functools.partial(_reap_pidfd, pidfd)

    def add(self, pidfd: int, on_exit: Callable[[], object]) -> None:
        """Call ``on_exit`` when the process behind ``pidfd`` (kept open by its owner) exits."""
        self._handlers[pidfd] = on_exit

    def fds(self) -> list[int]:
        return list(self._handlers)

    def exited(self, fd: int) -> None:
        handler = self._handlers.pop(fd, None)
        if handler is not None:
            handler()

    def close(self) -> None:
        for fd in self._owned:
            os.close(fd)
        self._owned.clear()
        self._handlers.clear()


def _reap_pidfd(fd: int) -> None:
    try:
        os.waitid(os.P_PIDFD, fd, os.WEXITED | os.WNOHANG)
    except ChildProcessError:
        pass


def wait_pidfd(pidfd: int, timeout: float) -> bool:
    """True when the process behind ``pidfd`` exited within ``timeout`` seconds."""
    return bool(readable([pidfd], timeout))

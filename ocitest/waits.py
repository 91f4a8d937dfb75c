"""Event-driven waiting on file descriptors, always bounded by a deadline.

Nothing in ocitest sleeps in a loop. A process exit is a readable pidfd, output is a readable
pipe, a console is a connection on a listening socket: every wait is a ``select`` on such a
descriptor with the time that remains.
"""

from __future__ import annotations

import os
import select
import time
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


def wait_pidfd(pidfd: int, timeout: float) -> bool:
    """True when the process behind ``pidfd`` exited within ``timeout`` seconds."""
    return bool(readable([pidfd], timeout))

"""SIGTERM ends a run the way Ctrl-C does, so that fixture teardown removes every container.

`kill PID` (a CI job's timeout, a supervisor) reaches the xdist controller alone, while the
workers hold the containers: the controller passes the SIGINT a Ctrl-C would have given them.
While the containers are removed, a further SIGINT waits (``deferred_interrupts``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import psutil


def unwind_on_sigterm(worker: bool = False) -> None:
    """Make SIGTERM raise KeyboardInterrupt in this process (signals can be set from the main thread only).

    A worker also takes SIGINT as Ctrl-C even when the run was started with SIGINT ignored (a
    background job of a non-interactive shell, which CI scripts make): the SIGINT its controller
    forwards on SIGTERM would otherwise be ignored, and the worker killed later with its containers.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
        if worker and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:  # pragma: no cover - the leftover tests
    if signum == signal.SIGTERM:
        try:
            for child in psutil.Process().children():
                if child.name().startswith("python"):
                    child.send_signal(signal.SIGINT)
        except psutil.Error:
            pass
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT off while the block removes what the run made, then raise it (KeyboardInterrupt).

    A second Ctrl-C, or one signal delivered twice (timeout(1) signals its child and then its process
    group), would otherwise stop the removal half-way and leave containers behind. Every runtime call
    inside is time-bounded, so the hold is too; SIGTERM and SIGKILL still end the process.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt("interrupted while the containers were removed (they were removed first)")

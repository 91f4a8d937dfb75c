"""SIGTERM ends a run the way Ctrl-C does, so that fixture teardown removes every container.

`kill PID` (a CI job's timeout, a supervisor) reaches the xdist controller alone, while the
workers hold the containers: the controller passes the SIGINT a Ctrl-C would have given them.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import psutil


def unwind_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt in this process (signals can be set from the main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:  # pragma: no cover - the leftover tests
    if signum == signal.SIGTERM:
        try:
            for child in psutil.Process().children():
                if child.name().startswith("python"):
                    child.send_signal(signal.SIGINT)
        except psutil.Error:
            pass
    raise KeyboardInterrupt(f"signal {signum}")

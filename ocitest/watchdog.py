"""A hard time limit on every phase of a test: the last line of defence against a wait nobody bounded.

Every runtime call and every wait on a container has a timeout of its own (``waits``,
``runtime.run_command``). Should a wait slip through without one (a harness bug, or a kernel that
leaves a process unkillable), the test would block the whole run. The watchdog arms a real-time
timer around setup, call and teardown; when it fires, the phase ends with ``TestHung`` (a harness
error, never a red), whose message names the phase, the limit and where every thread was waiting.
The teardown that follows gets a fresh limit of its own, so the containers are still removed.

Like pytest-timeout's signal method, it needs the main thread (where pytest, and each xdist
worker, runs tests); elsewhere it stays off.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from .errors import HarnessError
from .lifecycle import CEILING


class TestHung(HarnessError):
    """A phase of a test ran past the watchdog's limit."""

    __test__ = False  # not a pytest test class


def default_limit(runtime_timeout: float | None, wait_timeout: float | None) -> float:
    """Room for about ten bounded calls or waits in one phase, and never less than two minutes
    (an option not given is a limit sized by the preflight: at most lifecycle.CEILING)."""
    return max(120.0, 10 * max(runtime_timeout or CEILING, wait_timeout or CEILING))


def _other_threads() -> str:
    """Where the threads other than the interrupted one were, for the error message."""
    frames = sys._current_frames()
    me = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in frames.items():
        if ident == me:
            continue
        where = traceback.extract_stack(frame)[-1]
        parts.append(f"{names.get(ident, ident)} at {where.filename}:{where.lineno} in {where.name}")
    return "; ".join(parts)


class PhaseLimit:
    """pytest hooks that put each phase of each test under ``limit`` seconds (0: off)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    @contextmanager
    def armed(self, phase: str, nodeid: str) -> Iterator[None]:
        if self.limit <= 0 or threading.current_thread() is not threading.main_thread():
            yield
            return

        def expired(signum, frame) -> None:
            others = _other_threads()
            raise TestHung(
                f"the {phase} of {nodeid} ran past the hard limit of {self.limit:g} s (--test-timeout); "
                f"every runtime call and wait has a shorter timeout of its own, so this is an unbounded wait "
                f"in ocitest or an unkillable process (see the traceback for where it was)"
                + (f"; other threads: {others}" if others else "")
            )

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, self.limit)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        with self.armed("setup", item.nodeid):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        with self.armed("call", item.nodeid):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem):
        with self.armed("teardown", item.nodeid):
            return (yield)

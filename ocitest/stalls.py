"""Cutting short an operation that keeps timing out, so one misbehaviour cannot stall the run.

A runtime may hang on an operation only for some configs (start with a terminal, delete after a
hook): the preflight's simplest containers do not show it, and each check that meets it waits out
its full time limit. Per pytest process, ``Stalls`` counts the timeouts of each operation in a row;
after ``STREAK`` of them (with no success of that operation in between) the operation gets a short
limit. What finishes within it is judged as usual, so a config for which the operation works is
still judged on its own. What does not is *not judged* (a skip saying what was cut short), never a
red: a shortened wait proves nothing. A success ends the streak and restores the full limit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .lifecycle import NotJudged

#: Timeouts in a row of one operation after which it is cut short.
STREAK = 3
#: The short limit is this many times the slowest call or wait of the preflight, never below SHORT seconds
#: (long enough for a working call or wait of the simplest kind on a live runtime).
SHORT_FACTOR = 3.0
SHORT = 1.0
#: How the skip reason of a check cut short begins (the report lists those checks).
CUT_SHORT = "not judged, cut short"


@dataclass
class Stalls:
    """Per pytest process: the current timeout streak of each operation (a call name, or a wait)."""

    streaks: Counter[str] = field(default_factory=Counter)
    #: The short limit of a call ("call") and of a wait ("wait"), see ``arm``.
    short: dict[str, float] = field(default_factory=lambda: {"call": SHORT, "wait": SHORT})
    #: One line per check cut short, for the report.
    cut: list[str] = field(default_factory=list)

    def arm(self, slowest_call: float | None, slowest_wait: float | None, stalled: list[str]) -> None:
        """Size the short limits from what the preflight measured (None: not measured); the operations
        that timed out in the preflight (``stalled``) start out cut short: the simplest container
        already waited out their full limit."""
        for kind, slowest in (("call", slowest_call), ("wait", slowest_wait)):
            self.short[kind] = max(SHORT, SHORT_FACTOR * (slowest or 0.0))
        for operation in stalled:
            self.streaks[operation] = max(self.streaks[operation], STREAK)

    def limit(self, operation: str, full: float, kind: str = "call") -> tuple[float, bool]:
        """The limit to give ``operation`` (a "call" or a "wait") now, and whether it is cut short."""
        if self.streaks[operation] >= STREAK and self.short[kind] < full:
            return self.short[kind], True
        return full, False

    def succeeded(self, operation: str) -> None:
        self.streaks[operation] = 0

    def timed_out(self, operation: str, full: float, cut_short: bool, what: str) -> None:
        """Count the timeout; when the operation was cut short, stop the check, not judged."""
        self.streaks[operation] += 1
        if cut_short:
            line = (f"{operation}: kept timing out at {full:g} s (in the preflight, or {STREAK} times in a row), "
                    f"so this one was cut short and did not finish either ({what})")
            self.cut.append(line)
            raise NotJudged(f"{CUT_SHORT}: {line}")

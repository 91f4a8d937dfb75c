"""What the preflight proved of the lifecycle, and what the rest of the run makes of it.

The preflight (preflight.py) carries the simplest containers through their whole life once and
times each step. Its outcome, a ``Lifecycle``, is used three ways:

* each step is a finding of its own, reported against the runtime.md requirements it exercises
  (``preflight_items.py`` turns the steps into report entries, with the calls as evidence);
* a step that failed is a prerequisite that failed: every check that needs it is not judged
  (``Prerequisites.require``), instead of waiting out a time limit to find the same breakage again;
* what the steps took sizes the run's time limits (``sized_timeouts``), so that a fast runtime is
  given seconds and a slow one more.

Everything here is plain data that travels as JSON from the controller to xdist workers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pytest

#: Steps in the order the preflight takes them: (name, what it proves, gate a failure closes).
#: A gate names what the checks of the suite rely on (see ``Prerequisites``); "" closes none.
STEPS: dict[str, tuple[str, str]] = {
    "state-unknown": ("state of an ID no one created fails", "state-unknown"),
    "create": ("create makes the simplest container", "create"),
    "program-waits": ("the program does not run before start", "start"),
    "state-created": ("state reports the created container: its ID, status created, its pid", "state"),
    "start": ("start returns success", "start"),
    "program-runs": ("after start the program runs: its output reaches the caller", "start"),
    "exit": ("the program's exit status reaches the caller", "exit"),
    "state-stopped": ("once the program exited, state says stopped", "state-status"),
    "delete": ("delete of the stopped container returns success", "delete"),
    "state-deleted": ("after delete, state of its ID fails", "delete"),
    "state-running": ("while the program runs, state says running", "state-status"),
    "kill-TERM": ("kill TERM reaches a running program", "kill"),
    "kill-KILL": ("kill KILL ends a running program", "kill-KILL"),
}

#: What a closed gate stops, in the skip reason of each check it stops.
GATE_NEEDS = {
    "state-unknown": "relies on state failing for a container that does not exist",
    "create": "needs create to make a container",
    "state": "needs state to report a container",
    "start": "needs start to run the program",
    "exit": "needs the program's exit to reach the caller",
    "state-status": "needs state to say the status the container is in (running, stopped)",
    "delete": "needs delete to remove a container",
    "kill": "needs kill to deliver a signal",
    "kill-KILL": "needs kill KILL to end a container",
}

#: The gates a runtime call that hung in the preflight closes, by the call's name.
HUNG_CALL_GATES = {"state": ("state",), "start": ("start",), "delete": ("delete",), "kill": ("kill", "kill-KILL")}

PASSED, FAILED, NOT_RUN = "passed", "failed", "not-run"

#: How the skip reason of a check stopped by a closed gate begins (the terminal counts those checks).
NOT_JUDGED = "not judged: this check"


@dataclass
class StepResult:
    """One step: its outcome, the requirements it stands for, and the evidence."""

    name: str
    outcome: str
    #: With ``passed``, every requirement the step exercises; with ``failed``, those it broke.
    requirements: list[str] = field(default_factory=list)
    #: What happened, in words: for a failure the violation, for a pass what was seen.
    detail: str = ""
    #: The time the step took: a runtime call's duration, or how long a wait lasted.
    seconds: float = 0.0
    #: Whether ``seconds`` is a runtime call's ("call") or a wait on the container ("wait").
    kind: str = "call"
    #: What the harness waited for, and how long it was willing to (waits only).
    waited_for: str = ""
    #: The runtime calls of the step, as the report records calls.
    calls: list[dict] = field(default_factory=list)
    #: When the step failed by running out of time: what timed out, as stalls.py names an operation
    #: ("start", "output after kill"); the run then cuts that operation short from its first timeout.
    stalled: str = ""

    @property
    def title(self) -> str:
        return STEPS[self.name][0]

    @property
    def gate(self) -> str:
        return STEPS[self.name][1]

    def to_json(self) -> dict:
        return {"title": self.title, **asdict(self), "seconds": round(self.seconds, 4)}

    @classmethod
    def from_json(cls, data: dict) -> StepResult:
        return cls(**{k: v for k, v in data.items() if k != "title"})


@dataclass
class Lifecycle:
    """The preflight's steps, in the order taken."""

    steps: list[StepResult] = field(default_factory=list)

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.outcome == FAILED]

    def prerequisites(self) -> Prerequisites:
        closed: dict[str, str] = {}
        for step in self.failed:
            if step.gate and step.gate not in closed:
                closed[step.gate] = (
                    f"{NOT_JUDGED} {GATE_NEEDS[step.gate]}, and in the preflight {step.title!r} failed "
                    f"({', '.join(step.requirements)}: see preflight::{step.name}): {step.detail}")
        # A call that hung hangs for what needs it too, though the steps that would have shown it
        # were not run (the preflight does not make a call again once it hung).
        for step in self.failed:
            for gate in HUNG_CALL_GATES.get(step.stalled, ()):
                closed.setdefault(gate, f"{NOT_JUDGED} {GATE_NEEDS[gate]}, and in the preflight "
                                        f"`{step.stalled}` hung (see preflight::{step.name}): {step.detail}")
        return Prerequisites(closed, frozenset(self.stalled))

    def slowest(self, kind: str) -> float | None:
        """The longest time a passed step of ``kind`` ("call" or "wait") took, or None."""
        times = [s.seconds for s in self.steps if s.outcome == PASSED and s.kind == kind]
        return max(times) if times else None

    @property
    def stalled(self) -> list[str]:
        """The operations a failed step saw time out (see ``StepResult.stalled``)."""
        return [s.stalled for s in self.failed if s.stalled]

    def to_json(self) -> list[dict]:
        return [s.to_json() for s in self.steps]

    @classmethod
    def from_json(cls, data: list[dict]) -> Lifecycle:
        return cls([StepResult.from_json(d) for d in data])


class NotJudged(pytest.skip.Exception):  # type: ignore[name-defined]  # pytest's public name, not in its stubs
    """A check that cannot be judged because something it needs is known not to work.

    A skip, with the reason naming the failed prerequisite: the failure itself is reported once,
    against its own requirements, not once more against every check that happened to need it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, allow_module_level=False)


@dataclass(frozen=True)
class Prerequisites:
    """The gates the preflight closed: gate name -> the skip reason of a check that needs it."""

    closed: dict[str, str] = field(default_factory=dict)
    #: The operations that hung in the preflight (``StepResult.stalled``): teardown does not call them.
    stalled: frozenset[str] = frozenset()

    def works(self, gate: str) -> bool:
        return gate not in self.closed

    def hangs(self, operation: str) -> bool:
        """Whether the preflight saw this runtime call (by name) hang."""
        return operation in self.stalled

    def require(self, gate: str) -> None:
        """Stop the check here, not judged, when ``gate`` is closed."""
        reason = self.closed.get(gate)
        if reason is not None:
            raise NotJudged(reason)


#: Time limits when the preflight measured nothing (or the options are given): the old defaults.
CEILING = 30.0
#: No limit sized from measurements goes below this: a loaded CI machine must not turn slow into red.
FLOOR = 10.0
#: A sized limit is this many times the slowest passed step of its kind.
FACTOR = 10.0


@dataclass(frozen=True)
class SizedLimit:
    """One time limit of the run, with where it came from (for the report)."""

    seconds: float
    why: str

    def to_json(self) -> dict:
        return {"seconds": round(self.seconds, 3), "why": self.why}


def size_limit(option: float | None, measured: float | None, what: str) -> SizedLimit:
    """The limit for ``what``: the option when given, else FACTOR x the slowest passed step, within [FLOOR, CEILING]."""
    if option is not None:
        return SizedLimit(option, "given on the command line")
    if measured is None:
        return SizedLimit(CEILING, f"the default: the preflight measured no {what}")
    sized = min(CEILING, max(FLOOR, FACTOR * measured))
    return SizedLimit(sized, f"{FACTOR:g} x the slowest {what} of the preflight ({measured:.3f} s), "
                             f"within {FLOOR:g}-{CEILING:g} s")

"""The preflight's failed steps as entries of the run: each is a finding like any failed check.

A step of the lifecycle that failed (lifecycle.py) broke runtime.md requirements; the checks
that needed it are not judged, so the step itself must be where the red shows, with its
evidence: it becomes a test item of its own, ``preflight::<step>``, marked with the requirements
it broke, that fails with the step's detail and carries the preflight's calls into the report.
Every report (terminal, JSON, HTML, TAP, JUnit) then shows it as it shows any failed check.

A step that passed adds no entry: the suite's own checks judge those requirements in detail
(a coarse pass here would override their skips). Its timing is in the report's ``preflight``.
"""

from __future__ import annotations

import pytest

from .errors import Violation
from .lifecycle import Lifecycle, StepResult

#: The first part of each entry's node ID.
PREFIX = "preflight"


class PreflightStep(pytest.Item):
    """One failed lifecycle step, replayed as a failing check (nothing is run again)."""

    def __init__(self, *, step: StepResult, **kwargs) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.add_marker(pytest.mark.requirement(*step.requirements))

    def runtest(self) -> None:
        raise Violation(self.step.detail)

    def repr_failure(self, excinfo, style=None) -> str:
        """The step's detail, not a traceback of this replay."""
        return f"preflight, {self.step.title}: {self.step.detail}"

    def reportinfo(self) -> tuple:
        return self.path, None, f"{PREFIX}::{self.step.name}"


def items(session: pytest.Session, lifecycle: Lifecycle) -> list[pytest.Item]:
    """An item per failed step, in the order the preflight took them."""
    return [PreflightStep.from_parent(session, name=step.name, nodeid=f"{PREFIX}::{step.name}", step=step)
            for step in lifecycle.failed]

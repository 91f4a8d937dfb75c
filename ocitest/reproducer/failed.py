"""The failed test a reproducer is made of: what the plugin knows about it when the test is over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..runtime import Call, Event, Runtime, runtime_calls


@dataclass
class FailedTest:
    """One test that did not pass, with its record.

    ``containers`` are the test's Container objects (their bundles are still on disk when
    ``keep`` runs); ``events`` is the test's record, runtime calls and harness steps in order.
    """

    nodeid: str
    containers: list[Any]
    events: list[Event]
    requirements: list[str] = field(default_factory=list)
    failure: str = ""

    @property
    def calls(self) -> list[Call]:
        return runtime_calls(self.events)

    @property
    def runtime(self) -> Runtime | None:
        """The runtime the test's containers spoke to: its path and global options go into the script."""
        return next((c.runtime for c in self.containers if getattr(c, "runtime", None) is not None), None)

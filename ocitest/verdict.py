"""From test outcomes to requirement outcomes to one red/yellow/green verdict.

* A test is ``pass``, ``fail`` (the runtime broke something), ``skip`` (does not apply here,
  with the reason) or ``error`` (the harness could not decide), from its pytest phases (setup,
  call, teardown) by ``fold_test``.
* A requirement is ``fail`` if any of its tests failed; else ``error`` if any errored; else
  ``pass`` if any passed; else ``skip``. Skips never count as passes.
* The run is ``red`` when a MUST failed, else ``yellow`` when a SHOULD failed or the harness
  could not decide something, else ``green``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .requirements import Catalog, Requirement

OUTCOMES = ("pass", "fail", "skip", "error")


@dataclass(frozen=True)
class Phase:
    """One pytest phase of a test as reported: pytest's outcome word, its message, its duration."""

    outcome: str  # "passed", "failed" or "skipped"
    message: str = ""
    duration: float = 0.0


def fold_test(phases: Mapping[str, Phase], harness_error: str = "") -> tuple[str, str]:
    """The test's outcome and message from its phases (``harness_error``: the call raised a non-check error).

    A failed setup is the harness's error, not the runtime's fault; a test cut short (no call
    phase) never counts as a pass; a failed cleanup turns a pass or a skip into an error,
    because the runtime was left in a state the harness could not undo.
    """
    outcome, message = "pass", ""
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    if setup and setup.outcome == "failed":
        outcome, message = "error", f"setup: {setup.message}"
    elif setup and setup.outcome == "skipped":
        outcome, message = "skip", setup.message
    elif call is None:
        outcome, message = "skip", "the test did not run to completion (interrupted)"
    elif call.outcome == "failed":
        outcome, message = ("error", harness_error) if harness_error else ("fail", call.message)
    elif call.outcome == "skipped":
        outcome, message = "skip", call.message
    if teardown and teardown.outcome == "failed" and outcome in ("pass", "skip"):
        outcome, message = "error", f"teardown: {teardown.message}"
    return outcome, message


#: The exception name in front of a failure message ("ocitest.errors.Violation: ..."): noise in a report.
VIOLATION_PREFIX = re.compile(r"^(?:[\w.]+\.)?(?:AssertionError|Violation|RuntimeTimeout|Failed): ")


def phase_message(longrepr: object) -> str:
    """A phase's message as a runtime author reads it: a skip's reason, or what the runtime did.

    ``longrepr`` is pytest's (a skip's (file, line, reason) tuple, a failure's representation
    with its crash line, or text); a failure keeps its first line without the exception name,
    since the assertion message of a check already says what the runtime did.
    """
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        first = crash.message.strip().splitlines()[0] if crash.message.strip() else ""
        return VIOLATION_PREFIX.sub("", first)
    text = str(longrepr or "").strip()
    return text.splitlines()[-1] if text else ""


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    duration: float = 0.0
    requirements: list[str] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    message: str = ""
    #: For a test that did not pass: ``evidence.ContainerEvidence.to_json()`` of each container.
    containers: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration": round(self.duration, 4),
            "requirements": list(self.requirements),
            "message": self.message,
            "calls": self.calls,
            "containers": self.containers,
        }


@dataclass
class RequirementResult:
    requirement: Requirement
    outcome: str
    tests: list[str]
    message: str = ""

    def to_json(self) -> dict:
        req = self.requirement
        return {
            "id": req.id,
            "level": req.level,
            "reference": req.reference,
            "section": req.section,
            "summary": req.summary,
            "since": req.since,
            "outcome": self.outcome,
            "tests": list(self.tests),
            "message": self.message,
        }


#: Levels, the most binding first.
LEVELS = ("MUST", "SHOULD", "MAY")


def severity(outcome: str, level: str) -> tuple[int, int]:
    """Sort key of a requirement's outcome, most severe first: what a reader of a report looks at first.

    Failed MUSTs (they make a run red), failed SHOULDs, failed MAYs, then what the harness
    could not decide, then everything else; within each, by level.
    """
    rank = {"fail": 0, "error": 1}.get(outcome, 2)
    return rank, LEVELS.index(level) if level in LEVELS else len(LEVELS)


def fold_requirement(req: Requirement, results: list[TestResult]) -> RequirementResult:
    tests = [r.nodeid for r in results]
    if not req.covered:
        return RequirementResult(req, "skip", tests, f"not covered by ocitest: {req.why}")
    if not results:
        return RequirementResult(req, "skip", tests, "no test of this requirement ran")
    for outcome in ("fail", "error"):
        hit = [r for r in results if r.outcome == outcome]
        if hit:
            return RequirementResult(req, outcome, tests, f"{hit[0].nodeid}: {hit[0].message}")
    if any(r.outcome == "pass" for r in results):
        return RequirementResult(req, "pass", tests)
    reasons = sorted({r.message for r in results if r.message})
    return RequirementResult(req, "skip", tests, "; ".join(reasons))


def fold_all(catalog: Catalog, results: list[TestResult]) -> list[RequirementResult]:
    by_req: dict[str, list[TestResult]] = {}
    for result in results:
        for rid in result.requirements:
            by_req.setdefault(rid, []).append(result)
    return [fold_requirement(req, by_req.get(req.id, [])) for req in catalog]


@dataclass
class Verdict:
    color: str
    must_failed: int
    should_failed: int
    passed: int
    skipped: int
    errors: int

    def counts(self) -> dict:
        return {
            "must_failed": self.must_failed,
            "should_failed": self.should_failed,
            "passed": self.passed,
            "skipped": self.skipped,
            "errors": self.errors,
        }

    def line(self, *, interrupted: bool = False) -> str:
        """The last line of a run; an interrupted run says so instead of a color it did not earn."""
        head = f"INTERRUPTED (partial: {self.color.upper()})" if interrupted else self.color.upper()
        return (
            f"ocitest: {head} — {self.must_failed} MUST failed, {self.should_failed} SHOULD failed, "
            f"{self.skipped} skipped, {self.errors} errors"
        )


def overall(results: list[RequirementResult]) -> Verdict:
    def count(outcome: str, level: str | None = None) -> int:
        return sum(1 for r in results if r.outcome == outcome and (level is None or r.requirement.level == level))

    must_failed, should_failed, errors = count("fail", "MUST"), count("fail", "SHOULD"), count("error")
    if must_failed:
        color = "red"
    elif should_failed or errors:
        color = "yellow"
    else:
        color = "green"
    return Verdict(color, must_failed, should_failed, count("pass"), count("skip"), errors)


def exit_status(verdict: Verdict, *, strict: bool = False) -> int:
    """0 green or yellow, 1 red (and yellow with ``strict``), 3 when the harness could not decide."""
    if verdict.color == "red":
        return 1
    if verdict.errors:
        return 3
    if verdict.color == "yellow" and strict:
        return 1
    return 0

"""From test outcomes to requirement outcomes to one red/yellow/green verdict per scope.

* A test is ``pass``, ``fail`` (the runtime broke something), ``skip`` (does not apply here,
  with the reason) or ``error`` (the harness could not decide), from its pytest phases (setup,
  call, teardown) by ``fold_test``.
* A requirement's *observed* outcome is ``fail`` if any of its tests failed; else ``error`` if
  any errored; else ``pass`` if any passed; else ``skip``; ``not-run`` when none of its tests ran
  (its suite was not selected, ``-k`` deselected them). Skips never count as passes.
* Judged at a spec release, a requirement whose text is newer (``since``) is ``not-applicable``:
  what its checks observed is kept (``observed``) but counts for nothing at that release. So is a
  test (a parametrized case) marked ``since`` newer than that release: a case an older release's
  text does not make (the ``time`` namespace type of a requirement on every type); a requirement
  all of whose tests are such cases is not applicable.
* A scope (the runtime-spec at the judged release, the runtime-spec at the newest release, the
  command-line-interface document) is ``red`` when a MUST failed, else ``yellow`` when a SHOULD
  failed or the harness could not decide something, else ``green``. A failed MAY is counted,
  never a color. The run's own verdict is the runtime-spec's at the judged release (with
  ``--judge-cli``, the worse of it and the command-line document's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .requirements import CLI, RUNC_COMPAT, RUNTIME_SPEC, SIDE_SCOPES, Catalog, Requirement
from .specversion import NEWEST, JudgedVersion, applies, version_key

NOT_APPLICABLE, NOT_RUN = "not-applicable", "not-run"
OUTCOMES = ("pass", "fail", "skip", "error", NOT_APPLICABLE, NOT_RUN)


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


#: The exception name in front of a skip's reason ("Skipped: ...", "ocitest.lifecycle.NotJudged: ...").
SKIP_PREFIX = re.compile(r"^(?:[\w.]+\.)?(?:Skipped|NotJudged): ")
#: The exception name in front of a failure message ("ocitest.errors.Violation: ..."): noise in a report.
VIOLATION_PREFIX = re.compile(r"^(?:[\w.]+\.)?(?:AssertionError|Violation|RuntimeTimeout|Failed): ")


def phase_message(longrepr: object) -> str:
    """A phase's message as a runtime author reads it: a skip's reason, or what the runtime did.

    ``longrepr`` is pytest's (a skip's (file, line, reason) tuple, a failure's representation
    with its crash line, or text); a failure keeps its first line without the exception name,
    since the assertion message of a check already says what the runtime did.
    """
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return SKIP_PREFIX.sub("", str(longrepr[2]))
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
    #: The release whose text makes this case (``@since``), when newer than its requirements' own.
    since: str | None = None

    def to_json(self) -> dict:
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "since": self.since,
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
    #: What the checks observed when that is not the outcome (a requirement not applicable at the
    #: judged release); None when the outcome is what they observed.
    observed: str | None = None

    @property
    def seen(self) -> str:
        """What the requirement's checks observed, whatever the release it is judged at."""
        return self.observed or self.outcome

    def to_json(self) -> dict:
        req = self.requirement
        return {
            "id": req.id,
            "level": req.level,
            "scope": req.scope,
            "reference": req.reference,
            "basis": list(req.basis_references),
            "engines": list(req.engines),
            "sandbox_view": req.sandbox_view,
            "section": req.section,
            "summary": req.summary,
            "since": req.since,
            "changes": [{"version": c.version, "note": c.note} for c in req.changes],
            "outcome": self.outcome,
            "observed": self.seen,
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
        return RequirementResult(req, NOT_RUN, tests, "no test of this requirement ran (its suite was not selected, "
                                                      "-k deselected its tests, or the run stopped first)")
    for outcome in ("fail", "error"):
        hit = [r for r in results if r.outcome == outcome]
        if hit:
            return RequirementResult(req, outcome, tests, f"{hit[0].nodeid}: {hit[0].message}")
    if any(r.outcome == "pass" for r in results):
        return RequirementResult(req, "pass", tests)
    reasons = sorted({r.message for r in results if r.message})
    return RequirementResult(req, "skip", tests, "; ".join(reasons))


def fold_all(catalog: Catalog | list[Requirement], results: list[TestResult]) -> list[RequirementResult]:
    by_req: dict[str, list[TestResult]] = {}
    for result in results:
        for rid in result.requirements:
            by_req.setdefault(rid, []).append(result)
    return [fold_requirement(req, by_req.get(req.id, [])) for req in catalog]


def at_versions(catalog: Catalog | list[Requirement], tests: list[TestResult],
                versions: Mapping[str, str]) -> list[RequirementResult]:
    """Every requirement judged at a version per scope (a scope missing from ``versions``: at every version).

    A requirement newer than its scope's version is not applicable; so is one all of whose tests
    are cases newer than it (``TestResult.since``). Otherwise it folds only the tests that apply,
    and says which newer cases it set aside. What all its tests observed is kept (``observed``)
    wherever that differs from the outcome.
    """
    observed = fold_all(catalog, tests)
    judged: dict[str, RequirementResult] = {}
    for scope, scope_version in versions.items():
        applicable = [t for t in tests if applies(t.since, scope_version)]
        judged.update((r.requirement.id, r) for r in fold_all(catalog, applicable) if r.requirement.scope == scope)
    out = []
    for seen in observed:
        req = seen.requirement
        version = versions.get(req.scope)
        if version is None:
            out.append(seen)
            continue
        detail = f"observed {seen.outcome}" + (f": {seen.message}" if seen.message else "")
        at = judged[req.id]
        if not applies(req.since, version):
            out.append(RequirementResult(req, NOT_APPLICABLE, seen.tests, f"not applicable at {version} (since "
                                         f"{req.since}); {detail}", observed=seen.outcome))
        elif at.outcome == NOT_RUN and seen.outcome != NOT_RUN:
            dated = [t.since for t in tests if req.id in t.requirements and t.since is not None]
            newest = max(dated, key=version_key) if dated else "?"
            out.append(RequirementResult(req, NOT_APPLICABLE, seen.tests, f"not applicable at {version}: every case "
                                         f"is newer (since {newest}); {detail}", observed=seen.outcome))
        else:
            newer = [t for t in tests if req.id in t.requirements and not applies(t.since, version)]
            message = at.message
            if newer:
                aside = "; ".join(f"{t.nodeid} (since {t.since}) {t.outcome}" for t in newer)
                message = f"{message}; " if message else ""
                message += f"set aside, newer than {version}: {aside}"
            out.append(RequirementResult(req, at.outcome, seen.tests, message,
                                         observed=seen.outcome if seen.outcome != at.outcome else None))
    return out


#: How the verdict line names each side scope, and the option that counts it in the run's own verdict.
SCOPE_LABELS = {CLI: CLI, RUNC_COMPAT: "runc compatibility"}
COUNTING_OPTION = {CLI: "--judge-cli", RUNC_COMPAT: "--judge-runc-compat"}

#: The order of ``Verdict.counts()`` and of the verdict line.
COUNT_KEYS = ("must_failed", "should_failed", "may_failed", "passed", "skipped", "errors", "not_applicable",
              "not_run")
_WORSE = {"green": 0, "yellow": 1, "red": 2}


@dataclass
class Verdict:
    """The verdict of one scope at one version (or of several, summed): a color and what it counts."""

    color: str
    must_failed: int
    should_failed: int
    passed: int
    skipped: int
    errors: int
    may_failed: int = 0
    not_applicable: int = 0
    not_run: int = 0
    #: What was judged: ``runtime-spec 1.0.2 (declared)``; empty for an unnamed fold.
    label: str = ""

    def counts(self) -> dict:
        return {key: getattr(self, key) for key in COUNT_KEYS}

    def tally(self) -> str:
        """The counts as words: what a runtime author reads after the color."""
        skipped = f"{self.skipped} requirement{'' if self.skipped == 1 else 's'} skipped"
        text = (f"{self.must_failed} MUST failed, {self.should_failed} SHOULD failed, {self.may_failed} MAY failed, "
                f"{skipped}, {self.errors} errors, {self.not_applicable} not applicable")
        return text + (f", {self.not_run} not run" if self.not_run else "")

    def line(self, *, interrupted: bool = False) -> str:
        """The last line of a run; an interrupted run says so instead of a color it did not earn."""
        head = f"INTERRUPTED (partial: {self.color.upper()})" if interrupted else self.color.upper()
        against = f" against {self.label}" if self.label else ""
        return f"ocitest: {head}{against} — {self.tally()}"

    def plus(self, other: Verdict) -> Verdict:
        """Two scopes counted together: the worse color, the counts summed, both names."""
        color = max(self.color, other.color, key=_WORSE.__getitem__)
        summed = {key: getattr(self, key) + getattr(other, key) for key in COUNT_KEYS}
        return Verdict(color=color, label=f"{self.label} and {other.label}", **summed)


def overall(results: list[RequirementResult], label: str = "") -> Verdict:
    """The verdict of ``results`` as they are (fold them ``at_versions`` first to judge at a release)."""
    def count(outcome: str, level: str | None = None) -> int:
        return sum(1 for r in results if r.outcome == outcome and (level is None or r.requirement.level == level))

    must_failed, should_failed, errors = count("fail", "MUST"), count("fail", "SHOULD"), count("error")
    if must_failed:
        color = "red"
    elif should_failed or errors:
        color = "yellow"
    else:
        color = "green"
    return Verdict(color, must_failed, should_failed, count("pass"), count("skip"), errors,
                   may_failed=count("fail", "MAY"), not_applicable=count(NOT_APPLICABLE), not_run=count(NOT_RUN),
                   label=label)


@dataclass
class Scope:
    """One scope's verdict as the report keeps it (a value of the JSON key ``verdicts``)."""

    key: str
    verdict: Verdict
    spec_version: str
    #: Why this version: ``declared``, ``option``, ``not declared``, ``newest``, ``document``.
    basis: str
    #: Whether the run's own verdict (and exit status) includes it.
    counted: bool
    note: str = ""

    def to_json(self) -> dict:
        return {"verdict": self.verdict.color, "counts": self.verdict.counts(), "spec_version": self.spec_version,
                "basis": self.basis, "counted": self.counted, "note": self.note}


@dataclass
class Judgement:
    """A run's results judged: the requirements at the judged version, and every scope's verdict."""

    #: Each requirement at the judged version (the command-line document's at its own).
    results: list[RequirementResult]
    scopes: list[Scope]
    #: The run's own verdict: the runtime-spec at the judged version (plus each side scope counted).
    top: Verdict

    def scope(self, key: str) -> Scope | None:
        return next((s for s in self.scopes if s.key == key), None)

    def lines(self, *, interrupted: bool = False) -> list[str]:
        """The verdict lines: the other scopes' verdicts, then the run's own as the very last line."""
        out = []
        for scope in self.scopes:
            if scope.key == RUNTIME_SPEC:
                continue
            tail = ""
            option = COUNTING_OPTION.get(scope.key)
            if option:
                tail = f" (counted: {option})" if scope.counted else f" (not counted; {option} to count it)"
            out.append(f"{scope.verdict.label}: {scope.verdict.color.upper()} — {scope.verdict.tally()}{tail}")
        return [*out, self.top.line(interrupted=interrupted)]

    def to_json(self) -> dict:
        return {scope.key: scope.to_json() for scope in self.scopes}


def judge(catalog: Catalog, tests: list[TestResult], version: JudgedVersion, *,
          judge_cli: bool = False, judge_runc_compat: bool = False) -> Judgement:
    """Judge the tests' outcomes at ``version``, at the newest release, and each side scope apart.

    A side scope (runtime-tools' command-line document, runc compatibility) is judged at its own
    document's version and joins the run's own verdict only when asked (``judge_cli``, ``judge_runc_compat``).
    """
    counted = {CLI: judge_cli, RUNC_COMPAT: judge_runc_compat}
    side_versions = {key: catalog.versions[key] for key in SIDE_SCOPES if catalog.versions.get(key)}
    at_judged = at_versions(catalog, tests, {RUNTIME_SPEC: version.version, **side_versions})
    at_newest = at_versions(catalog, tests, {RUNTIME_SPEC: NEWEST})
    spec_label = f"runtime-spec {version.version} ({version.label})"
    judged = overall([r for r in at_judged if r.requirement.scope == RUNTIME_SPEC], spec_label)
    newest = overall([r for r in at_newest if r.requirement.scope == RUNTIME_SPEC], f"runtime-spec {NEWEST} (newest)")
    scopes = [Scope(RUNTIME_SPEC, judged, version.version, version.basis, True, version.note),
              Scope("runtime-spec-newest", newest, NEWEST, "newest", False)]
    top = judged
    for key in SIDE_SCOPES:
        results = [r for r in at_judged if r.requirement.scope == key]
        if not results:
            continue
        side_version = side_versions.get(key, "")
        side = overall(results, f"{SCOPE_LABELS.get(key, key)} {side_version}".rstrip())
        scopes.append(Scope(key, side, side_version, "document", counted.get(key, False)))
        if counted.get(key):
            top = top.plus(side)
    return Judgement(at_judged, scopes, top)


def exit_status(verdict: Verdict, *, strict: bool = False) -> int:
    """0 green or yellow, 1 red (and yellow with ``strict``), 3 when the harness could not decide."""
    if verdict.color == "red":
        return 1
    if verdict.errors:
        return 3
    if verdict.color == "yellow" and strict:
        return 1
    return 0

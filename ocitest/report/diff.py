"""``ocitest diff OLD.json NEW.json``: what changed between two runs, requirement by requirement.

Requirements are matched by ID. Each requirement present in both reports whose outcome
changed lands in exactly one group:

* **regression**: NEW is ``fail`` and OLD was not ``fail``; or NEW is ``error`` and OLD was
  ``pass`` or ``skip``. A requirement that newly fails is a regression whatever it was before
  (a pass, a skip, an undecided error), unless it was already failing. ``fail -> error`` is not
  one: it was broken and still is not known to hold.
* **fix**: ``fail`` or ``error`` -> ``pass``.
* **newly skipped**: anything -> ``skip`` (a failure that turns into a skip is listed here, not
  as a fix: nothing shows it holds now).
* **no longer skipped**: ``skip`` -> ``pass`` (``skip -> fail/error`` is a regression).
* **changed**: the one transition left, ``fail -> error``.
* **applicability**: to or from ``not-applicable`` (the two reports judged different releases, or
  the catalog dated the requirement differently): never a regression, but shown, with what was
  observed on the other side.
* **not run** / **now run**: to or from ``not-run`` (a different selection of suites): neither
  a regression nor a fix; nothing was observed on one side.

Outcomes are compared at each report's judged release (``spec_version``); the text output says
when the two differ.

Requirements only in NEW (a newer catalog) are **added**, with their outcome, and never count
as regressions: they say something about ocitest, not about the runtime. Requirements only
in OLD are **removed**. ``ocitest diff`` exits 1 when there is a regression.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

_BAD = ("fail", "error")
NOT_APPLICABLE, NOT_RUN = "not-applicable", "not-run"


@dataclass(frozen=True)
class Change:
    """One requirement whose outcome differs (``old``/``new`` is None where it is absent)."""

    id: str
    level: str
    summary: str
    reference: str
    old: str | None
    new: str | None
    #: NEW's message (OLD's for a removed requirement): why it fails or is skipped now.
    message: str = ""
    #: What the checks observed in OLD and NEW (``observed``; the outcome in reports that lack it).
    old_observed: str | None = None
    new_observed: str | None = None


@dataclass
class DiffResult:
    old_runtime: str
    new_runtime: str
    old_verdict: str
    new_verdict: str
    old_spec_version: str = "?"
    new_spec_version: str = "?"
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    newly_skipped: list[Change] = field(default_factory=list)
    no_longer_skipped: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    applicability: list[Change] = field(default_factory=list)
    not_run: list[Change] = field(default_factory=list)
    now_run: list[Change] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)

    @property
    def verdict_changed(self) -> bool:
        return self.old_verdict != self.new_verdict

    def to_json(self) -> dict:
        return {
            "old": {"runtime": self.old_runtime, "verdict": self.old_verdict, "spec_version": self.old_spec_version},
            "new": {"runtime": self.new_runtime, "verdict": self.new_verdict, "spec_version": self.new_spec_version},
            "verdict_changed": self.verdict_changed,
            **{name: [asdict(c) for c in getattr(self, name)] for name, _ in _GROUPS},
        }


#: Group attribute and its heading, in the order the text output shows them.
_GROUPS = (
    ("regressions", "regressions"),
    ("fixes", "fixes"),
    ("newly_skipped", "newly skipped"),
    ("no_longer_skipped", "no longer skipped"),
    ("changed", "still failing, now an error"),
    ("applicability", "applicability changed (judged release or since; not a regression)"),
    ("not_run", "not run now"),
    ("now_run", "run now, not run before"),
    ("added", "new requirements"),
    ("removed", "removed requirements"),
)


#: Groups the summary line names only when they are not empty, and how it names them.
_SHOWN_WHEN_ANY = ("changed", "applicability", "not_run", "now_run")
_SHORT = {"applicability": "applicability changed", "now_run": "now run"}


def group_of(old: str, new: str) -> str | None:
    """The group (a DiffResult attribute) of a requirement going from ``old`` to ``new``, or None."""
    if old == new:
        return None
    if NOT_APPLICABLE in (old, new):
        return "applicability"
    if new == NOT_RUN:
        return "not_run"
    if old == NOT_RUN:
        return "now_run"
    if new == "fail" or (new == "error" and old not in _BAD):
        return "regressions"
    if new == "pass" and old in _BAD:
        return "fixes"
    if new == "skip":
        return "newly_skipped"
    if old == "skip":
        return "no_longer_skipped"
    return "changed"


def _runtime_label(report: dict) -> str:
    runtime = report.get("runtime") or {}
    path = str(runtime.get("path") or "?")
    return f"{path} ({runtime['version']})" if runtime.get("version") else path


def _by_id(report: dict) -> dict[str, dict]:
    return {str(r.get("id")): r for r in report.get("requirements") or [] if isinstance(r, dict)}


def _observed(req: dict | None) -> str | None:
    return None if req is None else str(req.get("observed") or req.get("outcome"))


def _change(req: dict, old: str | None, new: str | None, before: dict | None = None,
            after: dict | None = None) -> Change:
    return Change(id=str(req.get("id")), level=str(req.get("level", "")), summary=str(req.get("summary", "")),
                  reference=str(req.get("reference", "")), old=old, new=new, message=str(req.get("message") or ""),
                  old_observed=_observed(before), new_observed=_observed(after))


def compare(old: dict, new: dict) -> DiffResult:
    """Compare two JSON reports (format ``ocitest-report/1``); order follows NEW, then OLD's removed."""
    before, after = _by_id(old), _by_id(new)
    result = DiffResult(old_runtime=_runtime_label(old), new_runtime=_runtime_label(new),
                        old_verdict=str(old.get("verdict", "?")), new_verdict=str(new.get("verdict", "?")),
                        old_spec_version=str(old.get("spec_version", "?")),
                        new_spec_version=str(new.get("spec_version", "?")))
    for rid, req in after.items():
        outcome = str(req.get("outcome"))
        if rid not in before:
            result.added.append(_change(req, None, outcome, after=req))
            continue
        was = str(before[rid].get("outcome"))
        group = group_of(was, outcome)
        if group is not None:
            getattr(result, group).append(_change(req, was, outcome, before[rid], req))
    for rid, req in before.items():
        if rid not in after:
            result.removed.append(_change(req, str(req.get("outcome")), None, before=req))
    return result


def _first_line(text: str, limit: int = 400) -> str:
    return (text.strip().splitlines() or [""])[0][:limit]


def render_text(result: DiffResult) -> str:
    """Sections by group (empty ones left out), then a one-line summary."""
    lines = [f"old: {result.old_runtime}: {result.old_verdict.upper()} at runtime-spec {result.old_spec_version}",
             f"new: {result.new_runtime}: {result.new_verdict.upper()} at runtime-spec {result.new_spec_version}"]
    if result.old_spec_version != result.new_spec_version:
        lines.append("note: the reports judged different releases; requirements newer than one of them are listed "
                     "under applicability, not as regressions or fixes")
    for name, heading in _GROUPS:
        changes: list[Change] = getattr(result, name)
        if not changes:
            continue
        lines += ["", f"{heading} ({len(changes)}):"]
        for c in changes:
            move = f"{c.old or '-'} -> {c.new or '-'}"
            lines.append(f"  {move:<15} {c.level:<6} {c.id}: {c.summary}")
            if name == "applicability":
                lines.append(f"                  observed: {c.old_observed or '-'} -> {c.new_observed or '-'}")
            if name in ("regressions", "newly_skipped", "changed") and c.message:
                lines.append(f"                  {_first_line(c.message)}")
            if name == "regressions" and c.reference:
                lines.append(f"                  {c.reference}")
    verdict = (f"verdict {result.old_verdict} -> {result.new_verdict}" if result.verdict_changed
               else f"verdict unchanged ({result.new_verdict})")
    counts = ", ".join(f"{_SHORT.get(name, heading)} {len(getattr(result, name))}" for name, heading in _GROUPS
                       if name not in _SHOWN_WHEN_ANY or getattr(result, name))
    lines += ["", f"ocitest diff: {counts}; {verdict}"]
    return "\n".join(lines)


def render_json(result: DiffResult) -> str:
    return json.dumps(result.to_json(), indent=2)

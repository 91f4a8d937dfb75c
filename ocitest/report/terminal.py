"""The end-of-run summary: counts per spec document (and section), then each failing requirement.

A runtime author reads the failing requirements: the level and the ID, the runtime's own words
(the check's message), the spec link (and the sentences its level rests on), and the reproducer
when ``--keep-failed`` kept one. Then the requirements set aside as newer than the judged
release whose checks failed: what is missing for a newer release. The verdict lines are not
here: they come last (collector.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

from ..lifecycle import NOT_JUDGED, Lifecycle, SizedLimit
from ..requirements import RUNTIME_SPEC, Requirement
from ..verdict import NOT_APPLICABLE, NOT_RUN, RequirementResult, TestResult, severity

#: Writes one line; keyword arguments are markup (red=True, bold=True, ...) as pytest takes them.
Write = Callable[..., None]

_MARK = {"fail": "FAIL", "error": "ERROR", "skip": "skip", "pass": "pass", NOT_APPLICABLE: "n/a", NOT_RUN: "not run"}
#: The outcomes of a count line, in order, and how the line names them.
_COUNTED = (("pass", "pass"), ("fail", "fail"), ("error", "error"), ("skip", "skip"),
            (NOT_APPLICABLE, "not applicable"), (NOT_RUN, "not run"))


def summarize(results: list[RequirementResult], write: Write, *, sections: bool = False,
              kept: Mapping[str, Path] | None = None) -> None:
    """Write the summary; ``sections``: counts per section too; ``kept``: reproducer folders by node ID."""
    documents: dict[str, dict[str, list[RequirementResult]]] = {}
    for result in results:
        section = result.requirement.section
        documents.setdefault(section.split("#", 1)[0], {}).setdefault(section, []).append(result)
    write(f"requirements by spec document{' and section' if sections else ''}:", bold=True)
    width = max([len(d) for d in documents] + [len(s.split("#", 1)[-1]) + 3 for ss in documents.values() for s in ss],
                default=0)
    for document, by_section in documents.items():
        _count_line(f"  {document:<{width}}", [r for items in by_section.values() for r in items], write, bold=True)
        if sections:
            for section, items in by_section.items():
                _count_line(f"    {'#' + section.split('#', 1)[-1]:<{width - 2}}", items, write)
    failing = sorted((r for r in results if r.outcome in ("fail", "error")),
                     key=lambda r: (r.requirement.scope != RUNTIME_SPEC, *severity(r.outcome, r.requirement.level)))
    if failing:
        write("")
        write("failing requirements (MUST first; those with a verdict of their own last):", bold=True)
        for r in failing:
            req = r.requirement
            color = {"red": r.outcome == "fail" and req.level == "MUST",
                     "yellow": r.outcome == "error" or req.level != "MUST"}
            scope = f" [{req.scope}: not in the runtime-spec verdict]" if req.scope != RUNTIME_SPEC else ""
            write(f"  {_MARK[r.outcome]:<5} {req.level:<6} {req.id}: {req.summary}{scope}", **color)
            _references(req, write)
            if r.message:
                write(f"        {r.message.splitlines()[0][:400]}")
            folder = next((kept[t] for t in r.tests if kept and t in kept), None)
            if folder is not None:
                write(f"        reproducer: {folder}")
    set_aside = [r for r in results if r.outcome == NOT_APPLICABLE and r.seen in ("fail", "error")]
    if set_aside:
        write("")
        write("not applicable at the judged release, but their checks failed (what a newer release needs):", bold=True)
        for r in sorted(set_aside, key=lambda r: severity(r.seen, r.requirement.level)):
            req = r.requirement
            write(f"  {_MARK[r.seen]:<5} {req.level:<6} {req.id} (since {req.since}): {req.summary}")
    write("")


def _references(req: Requirement, write: Write) -> None:
    """The spec link, the further sentences the level rests on, and wording changes that change the check."""
    write(f"        {req.reference}")
    for url in req.basis_references:
        write(f"        rests on: {url}")
    for change in req.changes:
        write(f"        changed in {change.version}: {change.note}")


def _count_line(label: str, items: list[RequirementResult], write: Write, *, bold: bool = False) -> None:
    """``label`` followed by the outcomes' counts; red when a requirement failed, yellow on errors only."""
    counts = Counter(r.outcome for r in items)
    parts = ", ".join(f"{counts[o]} {word}" for o, word in _COUNTED if counts[o])
    bad = counts["fail"] or counts["error"]
    write(f"{label}  {parts}", red=bool(counts["fail"]), yellow=bool(bad and not counts["fail"]), bold=bold)


def preflight_lines(lifecycle: Lifecycle | None, limits: Mapping[str, SizedLimit], cut_short: Mapping[str, str],
                    tests: list[TestResult]) -> list[str]:
    """What the preflight found and what it changed in the run: failed steps, checks not judged, time limits."""
    lines = []
    if lifecycle is not None:
        failed = lifecycle.failed
        if failed:
            stopped = sum(1 for t in tests if t.outcome == "skip" and t.message.startswith(NOT_JUDGED))
            lines.append(f"preflight: {len(failed)} of {len(lifecycle.steps)} lifecycle steps failed: "
                         + "; ".join(f"{s.name} ({', '.join(s.requirements)})" for s in failed)
                         + f"; {stopped} checks that need them were not judged")
        else:
            lines.append(f"preflight: the whole lifecycle held ({len(lifecycle.steps)} steps)")
    for key, what in (("runtime", "runtime call"), ("wait", "wait on a container")):
        if key in limits:
            lines.append(f"time limit of a {what}: {limits[key].seconds:g} s ({limits[key].why})")
    if cut_short:
        lines.append(f"cut short: {len(cut_short)} checks not judged after repeated timeouts of one operation "
                     "(their skip reasons say which)")
    return lines

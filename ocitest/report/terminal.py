"""The end-of-run summary: per spec section, the failing requirements, the verdict line."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from ..verdict import RequirementResult, Verdict

#: Writes one line; keyword arguments are markup (red=True, bold=True, ...) as pytest takes them.
Write = Callable[..., None]

_MARK = {"fail": "FAIL", "error": "ERROR", "skip": "skip", "pass": "pass"}


def summarize(results: list[RequirementResult], verdict: Verdict, write: Write, *, interrupted: bool = False) -> None:
    documents: dict[str, dict[str, list[RequirementResult]]] = {}
    for result in results:
        section = result.requirement.section
        documents.setdefault(section.split("#", 1)[0], {}).setdefault(section, []).append(result)
    write("requirements by spec document and section:", bold=True)
    width = max([len(d) for d in documents] + [len(s.split("#", 1)[-1]) + 3 for ss in documents.values() for s in ss],
                default=0)
    for document, sections in documents.items():
        _count_line(f"  {document:<{width}}", [r for items in sections.values() for r in items], write, bold=True)
        for section, items in sections.items():
            _count_line(f"    {'#' + section.split('#', 1)[-1]:<{width - 2}}", items, write)
    failing = [r for r in results if r.outcome in ("fail", "error")]
    if failing:
        write("")
        write("failing requirements:", bold=True)
        for r in failing:
            req = r.requirement
            color = {"red": r.outcome == "fail" and req.level == "MUST",
                     "yellow": r.outcome == "error" or req.level != "MUST"}
            since = f" [wording since v{req.since}]" if req.since else ""
            write(f"  {_MARK[r.outcome]:<5} {req.level:<6} {req.id}: {req.summary}{since}", **color)
            write(f"        {req.reference}")
            if r.message:
                write(f"        {r.message.splitlines()[0][:400]}")
    write("")
    color = {"red": verdict.color == "red", "yellow": verdict.color == "yellow", "green": verdict.color == "green"}
    if interrupted:
        color = {"yellow": True}
    write(verdict.line(interrupted=interrupted), bold=True, **color)


def _count_line(label: str, items: list[RequirementResult], write: Write, *, bold: bool = False) -> None:
    """``label`` followed by the outcomes' counts; red when a requirement failed, yellow on errors only."""
    counts = Counter(r.outcome for r in items)
    parts = ", ".join(f"{counts[o]} {o}" for o in ("pass", "fail", "error", "skip") if counts[o])
    bad = counts["fail"] or counts["error"]
    write(f"{label}  {parts}", red=bool(counts["fail"]), yellow=bool(bad and not counts["fail"]), bold=bold)

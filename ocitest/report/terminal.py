"""The end-of-run summary: counts per spec document (and section), then each failing requirement.

A runtime author reads the failing requirements: the level and the ID, the runtime's own words
(the check's message), the spec link, and the reproducer when ``--keep-failed`` kept one. The
verdict line is not here: it comes once, as the run's very last line (collector.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

from ..verdict import RequirementResult, severity

#: Writes one line; keyword arguments are markup (red=True, bold=True, ...) as pytest takes them.
Write = Callable[..., None]

_MARK = {"fail": "FAIL", "error": "ERROR", "skip": "skip", "pass": "pass"}


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
                     key=lambda r: severity(r.outcome, r.requirement.level))
    if failing:
        write("")
        write("failing requirements (MUST first):", bold=True)
        for r in failing:
            req = r.requirement
            color = {"red": r.outcome == "fail" and req.level == "MUST",
                     "yellow": r.outcome == "error" or req.level != "MUST"}
            since = f" [wording since v{req.since}]" if req.since else ""
            write(f"  {_MARK[r.outcome]:<5} {req.level:<6} {req.id}: {req.summary}{since}", **color)
            write(f"        {req.reference}")
            if r.message:
                write(f"        {r.message.splitlines()[0][:400]}")
            folder = next((kept[t] for t in r.tests if kept and t in kept), None)
            if folder is not None:
                write(f"        reproducer: {folder}")
    write("")


def _count_line(label: str, items: list[RequirementResult], write: Write, *, bold: bool = False) -> None:
    """``label`` followed by the outcomes' counts; red when a requirement failed, yellow on errors only."""
    counts = Counter(r.outcome for r in items)
    parts = ", ".join(f"{counts[o]} {o}" for o in ("pass", "fail", "error", "skip") if counts[o])
    bad = counts["fail"] or counts["error"]
    write(f"{label}  {parts}", red=bool(counts["fail"]), yellow=bool(bad and not counts["fail"]), bold=bold)

"""The end-of-run summary: per spec section, the failing requirements, the verdict line."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from ..verdict import RequirementResult, Verdict

#: Writes one line; keyword arguments are markup (red=True, bold=True, ...) as pytest takes them.
Write = Callable[..., None]

_MARK = {"fail": "FAIL", "error": "ERROR", "skip": "skip", "pass": "pass"}


def summarize(results: list[RequirementResult], verdict: Verdict, write: Write, *, interrupted: bool = False) -> None:
    sections: dict[str, list[RequirementResult]] = {}
    for result in results:
        sections.setdefault(result.requirement.section, []).append(result)
    write("requirements by spec section:", bold=True)
    width = max((len(s) for s in sections), default=0)
    for section, items in sections.items():
        counts = Counter(r.outcome for r in items)
        parts = ", ".join(f"{counts[o]} {o}" for o in ("pass", "fail", "error", "skip") if counts[o])
        bad = counts["fail"] or counts["error"]
        write(f"  {section:<{width}}  {parts}", red=bool(counts["fail"]), yellow=bool(bad and not counts["fail"]))
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

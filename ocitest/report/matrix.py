"""``ocitest matrix A.json B.json ...``: requirements x runtimes, as text and as one HTML page.

One row per requirement that at least one report has, one column per report, the outcome in
each cell at the release that report judged (``—`` where a report lacks the requirement, e.g. one
written by an older catalog; ``n/a`` where it is newer than that release).
What a reader looks for is where runtimes disagree, so such rows are marked (``*`` in text)
and the page can show only them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .page import (
    LEVEL_ORDER,
    OUTCOME_LABEL,
    OUTCOME_ORDER,
    badge,
    document,
    duration_text,
    esc,
    filter_controls,
    inline_code,
    judged_text,
    runtime_label,
    sortable_header,
    verdict_color,
    verdict_text,
)

ABSENT = "—"
#: The text matrix is meant for a 120-column terminal or a CI log.
WIDTH = 120
#: A summary narrower than this says nothing; it is left out instead.
MIN_SUMMARY = 16
MAX_LABEL = 18
#: Longer IDs get a line of their own above their cells, so one long ID does not squeeze every summary.
MAX_ID = 44


@dataclass
class Row:
    id: str
    level: str
    summary: str
    reference: str
    #: Per report (same order), the requirement as that report has it, or None.
    entries: list[dict | None] = field(default_factory=list)

    @property
    def outcomes(self) -> list[str | None]:
        return [None if e is None else str(e.get("outcome")) for e in self.entries]

    @property
    def differs(self) -> bool:
        return len(set(self.outcomes)) > 1


def rows(reports: list[dict]) -> list[Row]:
    """The union of the reports' requirements, in the order they first appear (catalog order)."""
    found: dict[str, Row] = {}
    for index, report in enumerate(reports):
        for req in report.get("requirements") or []:
            rid = str(req.get("id"))
            row = found.get(rid)
            if row is None:
                row = found[rid] = Row(rid, str(req.get("level") or ""), str(req.get("summary") or ""),
                                       str(req.get("reference") or ""), [None] * len(reports))
            row.entries[index] = req
    return list(found.values())


def labels(reports: list[dict]) -> list[str]:
    """Column names: ``runc 1.1.5+ds1``; the same name twice gets ``#2``, ``#3``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for report in reports:
        label = runtime_label(report)
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def _cell(outcome: str | None) -> str:
    return ABSENT if outcome is None else OUTCOME_LABEL.get(outcome, outcome)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_text(reports: list[dict]) -> str:
    table = rows(reports)
    names = [_clip(name, MAX_LABEL) for name in labels(reports)]
    id_width = min(max([len("requirement"), *(len(r.id) for r in table)]), MAX_ID)
    widths = [max(len(name), 4) for name in names]
    used = 2 + id_width + 2 + 6 + sum(w + 2 for w in widths)
    summary_width = WIDTH - used - 2
    show_summary = summary_width >= MIN_SUMMARY

    def line(mark: str, rid: str, level: str, cells: list[str], summary: str) -> str:
        # One cell per report, as one width per report: a mismatch is a bug, not something to cut short.
        text = f"{mark:<2}{rid:<{id_width}}  {level:<6}" + "".join(
            f"  {c:<{w}}" for c, w in zip(cells, widths, strict=True))
        if show_summary and summary:
            text += "  " + _clip(summary, summary_width)
        return text.rstrip()

    differing = sum(1 for r in table if r.differs)
    rows_differ = "1 row differs" if differing == 1 else f"{differing} rows differ"
    out = [f"ocitest matrix: {len(table)} requirements x {len(reports)} runtimes, {rows_differ} (marked *)"]
    label_width = max(len(n) for n in names)
    for name, report in zip(names, reports, strict=True):
        runtime = report.get("runtime") or {}
        cgroup = (report.get("host") or {}).get("cgroup", "?")
        out.append(f"  {name:<{label_width}}  {verdict_text(report):<7}  {runtime.get('path')} "
                   f"({runtime.get('version') or 'no version'}; judged at {report.get('spec_version', '?')}; "
                   f"{cgroup} cgroups, "
                   f"{duration_text(report.get('duration'))})")
    out.append("")
    out.append(line("", "requirement", "level", names, "summary"))
    for row in table:
        summary = re.sub(r"\s+", " ", row.summary.replace("`", "")).strip()
        mark, rid = "*" if row.differs else "", row.id
        if len(rid) > id_width:
            out.append(f"{mark:<2}{rid}")
            mark, rid = "", ""
        out.append(line(mark, rid, row.level, [_cell(o) for o in row.outcomes], summary))
    out.append(line("", "verdict", "", [verdict_text(r) for r in reports], ""))
    return "\n".join(out)


def render_html(reports: list[dict]) -> str:
    table = rows(reports)
    names = labels(reports)
    cards = "".join(_card(name, report, index)
                    for index, (name, report) in enumerate(zip(names, reports, strict=True)))
    levels = [(lv, lv, sum(1 for r in table if r.level == lv)) for lv in LEVEL_ORDER]
    levels += [(lv, lv, sum(1 for r in table if r.level == lv))
               for lv in sorted({r.level for r in table} - set(LEVEL_ORDER))]
    differing = sum(1 for r in table if r.differs)
    controls = (
        '<div class="controls">'
        '<fieldset class="filters"><legend>rows</legend><label class="chip"><input type="checkbox" class="only" '
        f'id="filter-differs" data-attr="differs"> only where the runtimes differ <span class="n">{differing}</span>'
        "</label></fieldset>"
        + filter_controls("level", "level", [item for item in levels if item[2]])
        + '<label>search <input type="search" id="filter-text" placeholder="id or words of a summary"></label>'
        + f'<span class="shown" id="shown-count">showing {len(table)} of {len(table)}</span></div>'
    )
    head = (sortable_header("requirement", "id") + sortable_header("level", "level")
            + "".join(sortable_header(name, f"runtime-{i}") for i, name in enumerate(names))
            + sortable_header("summary", "summary"))
    body = "".join(_row(row) for row in table)
    foot = ('<tfoot><tr><th scope="row">verdict</th><td></td>'
            + "".join(f'<td class="cell">{badge(verdict_color(r), verdict_text(r))}</td>' for r in reports)
            + "<td></td></tr></tfoot>")
    page = (
        f'<header class="top"><div><h1>OCI runtime compliance: {len(reports)} runtimes side by side</h1>'
        f'<p class="meaning">{len(table)} requirements, {differing} where the runtimes differ. A cell is the '
        "requirement's outcome in that runtime's report (— where the report does not have it); hover a cell for "
        "the reason.</p></div></header>"
        f'<section id="runtimes" class="facts">{cards}</section>'
        f'<section id="matrix-section"><h2>Requirements x runtimes</h2>{controls}'
        f'<table id="matrix" class="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table></section>'
        "<footer>Written by ocitest matrix from JSON reports of format ocitest-report/1.</footer>"
    )
    return document(f"ocitest matrix: {', '.join(names)}", page)


def _card(name: str, report: dict, index: int) -> str:
    runtime = report.get("runtime") or {}
    host = report.get("host") or {}
    counts = report.get("counts") or {}
    facts = [("path", runtime.get("path")), ("version", runtime.get("version")),
             ("declares spec", runtime.get("spec_version")), ("judged against", judged_text(report)),
             ("profile", runtime.get("profile")),
             ("rootless", "yes" if runtime.get("rootless") else "no"),
             ("cgroup driver", runtime.get("cgroup_driver") or "cgroupfs"),
             ("host", f"{host.get('kernel')}, {host.get('cgroup')} cgroups, {host.get('machine')}"),
             ("counts", f"{counts.get('must_failed', 0)} MUST failed, {counts.get('should_failed', 0)} SHOULD failed, "
                        f"{counts.get('may_failed', 0)} MAY failed, {counts.get('passed', 0)} passed, "
                        f"{counts.get('skipped', 0)} skipped, {counts.get('errors', 0)} errors, "
                        f"{counts.get('not_applicable', 0)} not applicable, {counts.get('not_run', 0)} not run"),
             ("duration", duration_text(report.get("duration")))]
    rows_html = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return (f'<div class="runtime" id="runtime-{index}"><h3>{badge(verdict_color(report), verdict_text(report))} '
            f'{esc(name)}</h3><dl class="kv">{rows_html}</dl></div>')


def _row(row: Row) -> str:
    level_rank = LEVEL_ORDER.index(row.level) if row.level in LEVEL_ORDER else len(LEVEL_ORDER)
    cells = []
    for entry in row.entries:
        outcome = None if entry is None else str(entry.get("outcome"))
        rank = len(OUTCOME_ORDER) + 1 if outcome is None else (
            OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER))
        why = "" if entry is None else str(entry.get("message") or "")
        title = f' title="{esc(why)}"' if why else ""
        css = outcome or "absent"
        cells.append(f'<td class="cell {esc(css)}" data-outcome="{esc(css)}" data-sort="{rank}"{title}>'
                     f'<span class="outcome {esc(css)}">{esc(_cell(outcome))}</span></td>')
    ident = f'<a href="{esc(row.reference)}">{esc(row.id)}</a>' if row.reference else esc(row.id)
    return (f'<tr class="req{" differs" if row.differs else ""}" data-id="{esc(row.id)}" data-level="{esc(row.level)}" '
            f'data-differs="{1 if row.differs else 0}"><td class="id">{ident}</td>'
            f'<td data-sort="{level_rank}"><span class="level {esc(row.level)}">{esc(row.level)}</span></td>'
            + "".join(cells) + f'<td class="summary">{inline_code(row.summary)}</td></tr>')



# -- commands x runtimes: the runc-compatibility scope per command, as a Markdown table ---------------

#: The scope the command table is about.
COMPAT_SCOPE = "runc-compatibility"


def command_cell(entries: list[dict]) -> str:
    """One runtime's outcomes of one command's requirements: ``pass`` when all pass, else the counts,
    failed ones first with their level (``fail (MUST 1), pass 3``)."""
    if not entries:
        return ABSENT
    outcomes = [str(e.get("outcome")) for e in entries]
    if all(o == "pass" for o in outcomes):
        return "pass"
    failed = [str(e.get("level")) for e in entries if e.get("outcome") == "fail"]
    parts = []
    if failed:
        levels = ", ".join(f"{level} {failed.count(level)}" for level in ("MUST", "SHOULD", "MAY") if level in failed)
        parts.append(f"**fail** ({levels})")
    for outcome, word in (("error", "error"), ("pass", "pass"), ("skip", "skipped"), ("not-applicable", "n/a"),
                          ("not-run", "not run")):
        if outcome in outcomes:
            parts.append(f"{outcomes.count(outcome)} {word}")
    return ", ".join(parts)


def render_commands_markdown(reports: list[dict]) -> str:
    """The runc-compatibility requirements grouped by command (their section), one column per report:
    what a runtime's README shows as its compatibility with the runc command line engines call."""
    names = labels(reports)
    groups: dict[str, list[list[dict]]] = {}
    for index, report in enumerate(reports):
        for req in report.get("requirements") or []:
            if req.get("scope") != COMPAT_SCOPE:
                continue
            command = str(req.get("section") or "").split("#", 1)[-1]
            groups.setdefault(command, [[] for _ in reports])[index].append(req)
    if not groups:
        return "(no runc-compatibility requirements in these reports)"
    out = ["| command | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for command, per_report in groups.items():
        out.append(f"| {command} | " + " | ".join(command_cell(entries) for entries in per_report) + " |")
    verdicts = []
    for report in reports:
        scope = (report.get("verdicts") or {}).get(COMPAT_SCOPE) or {}
        verdicts.append(str(scope.get("verdict", ABSENT)).upper())
    out.append("| **verdict** | " + " | ".join(verdicts) + " |")
    return "\n".join(out)

"""The HTML report (``--html FILE``): one self-contained file for a certifier.

Read from the JSON report alone (format ``ocitest-report/1``), so a page can also be made
from an old report. Top to bottom: the verdict as a badge, what failed (most severe first:
what a reader opens the page for), what ran where, every requirement by spec section
(filterable and sortable), and for each failing requirement, in the same order, the evidence
a reader needs to believe the red: the runtime calls, each container's config (what changed
from the default) and what the container printed. Nothing is fetched from the network.
"""

from __future__ import annotations

import json
import os
import shlex
from collections import Counter
from pathlib import Path

from ..verdict import severity
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
    write_atomically,
)

_MEANING = {
    "red": "a MUST requirement is broken",
    "yellow": "a SHOULD requirement is broken, or the harness could not decide a requirement",
    "green": "every requirement that applies holds; skipped checks never count as passes",
}
#: Column widths of the requirements table (fixed layout: long ids and messages wrap, the page never scrolls sideways).
_COLUMNS = ('<colgroup><col style="width:21%"><col style="width:6.5%"><col style="width:7.5%"><col style="width:33%">'
            '<col style="width:10%"><col style="width:22%"></colgroup>')
_OUTCOME_WORD = {"pass": "pass", "fail": "fail", "skip": "skipped", "error": "error (harness undecided)",
                 "not-applicable": "n/a (newer than the release judged)", "not-run": "not-run"}
#: The scopes of ``verdicts``, in order, as the page names them.
_SCOPE_NAMES = (("runtime-spec", "runtime-spec"), ("runtime-spec-newest", "runtime-spec"),
                ("command-line-interface", "command-line-interface"), ("runc-compatibility", "runc compatibility"))


def render(report: dict) -> str:
    requirements = report.get("requirements") or []
    title = f"ocitest: {verdict_text(report)} for {runtime_label(report)}"
    body = "\n".join([
        _header(report),
        _failed(requirements),
        _not_applicable(report),
        _facts(report),
        _requirements(requirements),
        _evidence(requirements, report.get("tests") or []),
        f'<footer>Written by ocitest from a report of format {esc(report.get("format"))}. Requirements of the OCI '
        f'Runtime Specification, judged at v{esc(report.get("spec_version"))}, and of runtime-tools\' '
        'command-line interface.</footer>',
    ])
    return document(title, body)


def write(report: dict, path: str | os.PathLike) -> Path:
    return write_atomically(render(report), path)


def _header(report: dict) -> str:
    color = verdict_color(report)
    counts = report.get("counts") or {}
    runtime = report.get("runtime") or {}
    if report.get("interrupted"):
        meaning = ("the run was interrupted: requirements it did not reach are missing or skipped, "
                   f"so this is no verdict; so far it is {str(report.get('verdict')).upper()}")
    else:
        meaning = _MEANING.get(str(report.get("verdict")), "")
    line = f"against {judged_text(report)} — {_tally(counts)}"
    tiles = [("MUST failed", counts.get("must_failed", 0), "bad"),
             ("SHOULD failed", counts.get("should_failed", 0), "warn"),
             ("MAY failed", counts.get("may_failed", 0), ""),
             ("passed", counts.get("passed", 0), "good"), ("requirements skipped", counts.get("skipped", 0), ""),
             ("errors", counts.get("errors", 0), "warn"), ("not applicable", counts.get("not_applicable", 0), ""),
             ("not run", counts.get("not_run", 0), "")]
    tiles_html = "".join(f'<div class="count {cls if value else ""}"><b>{esc(value)}</b>{esc(name)}</div>'
                         for name, value, cls in tiles)
    top_badge = badge(color, "PARTIAL" if report.get("interrupted") else verdict_text(report),
                      element_id="verdict", big=True)
    return (
        '<header class="top">'
        f'{top_badge}'
        f'<div><h1>OCI runtime compliance: {esc(runtime.get("version") or runtime.get("path"))}</h1>'
        f'<p class="verdict-line" id="verdict-line">{esc(verdict_text(report))} — {esc(line)}</p>'
        f'<p class="meaning">{esc(meaning)}</p>{_scopes(report)}</div></header>'
        f'<div class="counts" id="counts">{tiles_html}</div>'
    )


def _tally(counts: dict) -> str:
    text = (f"{counts.get('must_failed', 0)} MUST failed, {counts.get('should_failed', 0)} SHOULD failed, "
            f"{counts.get('may_failed', 0)} MAY failed, {counts.get('skipped', 0)} "
            f"requirement{'' if counts.get('skipped', 0) == 1 else 's'} skipped, "
            f"{counts.get('errors', 0)} errors, {counts.get('not_applicable', 0)} not applicable")
    return text + (f", {counts['not_run']} not run" if counts.get("not_run") else "")


def _scopes(report: dict) -> str:
    """Each scope's verdict, one badge each: the judged release, the newest, the command-line document."""
    verdicts = report.get("verdicts") or {}
    items = []
    for key, name in _SCOPE_NAMES:
        scope = verdicts.get(key)
        if not scope:
            continue
        color = str(scope.get("verdict"))
        counted = "counted in the verdict" if scope.get("counted") else "shown apart, not counted"
        note = f"; {scope['note']}" if scope.get("note") else ""
        items.append(f'<div class="scope{"" if scope.get("counted") else " apart"}" data-scope="{esc(key)}">'
                     f'{badge(color, color.upper())} {esc(name)} {esc(scope.get("spec_version"))} '
                     f'({esc(scope.get("basis"))}; {esc(counted)}{esc(note)}): '
                     f'{esc(_tally(scope.get("counts") or {}))}</div>')
    return f'<div class="scopes" id="scopes">{"".join(items)}</div>' if items else ""


def _not_applicable(report: dict) -> str:
    """The requirements newer than the release judged, with their ``since`` and what their checks observed."""
    newer = [r for r in report.get("requirements") or [] if r.get("outcome") == "not-applicable"]
    if not newer:
        return ""
    rows = "".join(
        f'<tr data-id="{esc(r.get("id"))}"><td class="id"><a href="#req-{esc(r.get("id"))}">{esc(r.get("id"))}</a></td>'
        f'<td><span class="level {esc(r.get("level"))}">{esc(r.get("level"))}</span></td>'
        f'<td>{esc(r.get("since"))}</td><td><span class="outcome {esc(r.get("observed"))}">'
        f'{esc(OUTCOME_LABEL.get(str(r.get("observed")), r.get("observed")))}</span></td>'
        f'<td class="summary">{inline_code(r.get("summary"))} <a href="{esc(r.get("reference"))}">spec</a></td></tr>'
        for r in sorted(newer, key=lambda r: severity(str(r.get("observed")), str(r.get("level")))))
    return (f'<section id="not-applicable"><h2>Not applicable at {esc(report.get("spec_version"))}: '
            f'{len(newer)} newer requirements</h2>'
            '<p class="meaning">Their text came in a later release than the one judged, so they count for nothing '
            'here; what their checks observed is what a newer release would need (the newest-release verdict '
            'above counts them).</p><table class="failed"><thead><tr><th>requirement</th><th>level</th>'
            f'<th>since</th><th>observed</th><th>summary</th></tr></thead><tbody>{rows}</tbody></table></section>')


def _by_severity(requirements: list[dict]) -> list[dict]:
    """The failing and undecided requirements, most severe first (catalog order within a rank).

    The runtime-spec's first: the command-line document's come after them, whatever their level.
    """
    failing = [r for r in requirements if r.get("outcome") in ("fail", "error")]
    return sorted(failing, key=lambda r: (r.get("scope", "runtime-spec") != "runtime-spec",
                                          *severity(str(r.get("outcome")), str(r.get("level")))))


def _failed(requirements: list[dict]) -> str:
    """What failed, first: each with its level, the runtime's words, the spec and a link to the evidence."""
    failing = _by_severity(requirements)
    if not failing:
        return ('<section id="failed"><h2>Nothing failed</h2><p class="meaning">Every requirement that ran holds '
                'and the harness decided each one; the table below has them all.</p></section>')
    rows = []
    for req in failing:
        rid, outcome, level = str(req.get("id")), str(req.get("outcome")), str(req.get("level"))
        message = str(req.get("message") or "").split("\n", 1)[0]
        rows.append(
            f'<tr class="{esc(outcome)}" data-id="{esc(rid)}">'
            f'<td><span class="outcome {esc(outcome)}">{esc(OUTCOME_LABEL.get(outcome, outcome))}</span></td>'
            f'<td><span class="level {esc(level)}">{esc(level)}</span>{_scope_tag(req)}</td>'
            f'<td class="id"><a href="#ev-{esc(rid)}">{esc(rid)}</a></td>'
            f'<td class="summary">{inline_code(req.get("summary"))} <a href="{esc(req.get("reference"))}">spec</a>'
            f'{_basis_links(req)}</td><td class="msg">{esc(message)}</td></tr>')
    return ('<section id="failed"><h2>What failed, most severe first</h2>'
            '<p class="meaning">Failed MUSTs, then SHOULDs and MAYs, then what the harness could not decide; '
            'each links to its evidence below; the command-line-interface document\'s and runc compatibility\'s '
            'last, since each has a verdict of its own. Every requirement, by spec section, follows.</p>'
            '<table class="failed"><thead><tr><th>outcome</th><th>level</th><th>requirement</th><th>summary</th>'
            f'<th>what the runtime did</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def _basis_links(req: dict, separator: str = " ") -> str:
    """Links to the further sentences a requirement's level rests on (``basis``), after its spec link."""
    return "".join(f'{separator}<a class="basis" href="{esc(url)}">rests on {esc(url.rsplit("/", 1)[-1])}</a>'
                   for url in req.get("basis") or [])


def _scope_tag(req: dict) -> str:
    """A requirement outside the runtime-spec verdict says so next to its level."""
    scope = str(req.get("scope") or "runtime-spec")
    return "" if scope == "runtime-spec" else f' <span class="since">{esc(scope)}</span>'


def _facts(report: dict) -> str:
    runtime = report.get("runtime") or {}
    host = report.get("host") or {}
    details = runtime.get("profile_details") or {}
    profile = str(runtime.get("profile") or "")
    if details.get("guessed"):
        profile += " (guessed from the name and --version)"
    dialect = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in details.items()
                        if key in ("console_socket", "kill_signal", "container_process") and value)
    if dialect:
        profile += f"; {dialect}"
    features = "yes" if runtime.get("features") else f"no: {runtime.get('features_problem') or 'not reported'}"
    run_rows = [
        ("path", runtime.get("path")),
        ("global options", " ".join(runtime.get("args") or []) or "(none)"),
        ("version", runtime.get("version")),
        ("declares spec", runtime.get("spec_version")),
        ("profile", profile),
        ("rootless", "yes" if runtime.get("rootless") else "no"),
        ("cgroup driver", runtime.get("cgroup_driver") or "cgroupfs"),
        ("features command", features),
    ]
    host_rows = [
        ("kernel", host.get("kernel")),
        ("cgroup", host.get("cgroup")),
        ("machine", host.get("machine")),
        ("judged against", judged_text(report)),
        ("duration", duration_text(report.get("duration"))),
        ("requirements", len(report.get("requirements") or [])),
        ("tests", len(report.get("tests") or [])),
        ("schemas", report.get("schema_dir") or "(unknown)"),
        *_preflight_rows(report.get("preflight")),
    ]
    return (
        '<section class="facts" id="facts">'
        f'<div><h2>Runtime</h2>{_kv(run_rows)}</div>'
        f'<div><h2>Host and run</h2>{_kv(host_rows)}</div>'
        '</section>'
    )


def _preflight_rows(preflight: dict | None) -> list[tuple[str, object]]:
    """The preflight's lifecycle, the time limits and the checks cut short (reports that have them)."""
    if not preflight:
        return []
    rows: list[tuple[str, object]] = []
    steps = preflight.get("lifecycle")
    if steps is None:
        rows.append(("preflight", "not run"))
    else:
        failed = [s for s in steps if s.get("outcome") == "failed"]
        rows.append(("preflight", f"{len(failed)} of {len(steps)} lifecycle steps failed: "
                     + ", ".join(str(s.get("name")) for s in failed) if failed
                     else f"the whole lifecycle held ({len(steps)} steps)"))
    for key, what in (("runtime", "runtime call limit"), ("wait", "wait limit")):
        limit = (preflight.get("limits") or {}).get(key)
        if limit:
            rows.append((what, f"{limit.get('seconds')} s: {limit.get('why')}"))
    cut = preflight.get("cut_short") or {}
    if cut:
        rows.append(("cut short", f"{len(cut)} checks not judged after repeated timeouts"))
    return rows


def _kv(rows: list[tuple[str, object]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl>"


def _requirements(requirements: list[dict]) -> str:
    sections: dict[str, list[dict]] = {}
    for req in requirements:
        sections.setdefault(str(req.get("section") or "(no section)"), []).append(req)
    outcomes = Counter(r.get("outcome") for r in requirements)
    # A requirement without a level counts under "", the data-level its row gets (see _requirement_row).
    levels = Counter(str(r.get("level") or "") for r in requirements)
    controls = (
        '<div class="controls">'
        + filter_controls("outcome", "outcome", [(o, OUTCOME_LABEL[o], outcomes[o]) for o in OUTCOME_ORDER])
        + filter_controls("level", "level", [(lv, lv, levels[lv]) for lv in LEVEL_ORDER if levels[lv]]
                          + [(lv, lv, n) for lv, n in levels.items() if lv not in LEVEL_ORDER])
        + '<label>search <input type="search" id="filter-text" placeholder="id, words of a summary or message"></label>'
        + f'<span class="shown" id="shown-count">showing {len(requirements)} of {len(requirements)}</span>'
        + "</div>"
    )
    head = "".join(sortable_header(label, key) for label, key in (
        ("requirement", "id"), ("level", "level"), ("outcome", "outcome"), ("summary", "summary"),
        ("spec", "spec"), ("message", "message")))
    groups = []
    for section, items in sections.items():
        tally = Counter(r.get("outcome") for r in items)
        tally_text = ", ".join(f"{tally[o]} {_OUTCOME_WORD[o].split()[0]}" for o in OUTCOME_ORDER if tally[o])
        link = items[0].get("reference") or ""
        title = f'<a href="{esc(link)}">{esc(section)}</a>' if link else esc(section)
        rows = "".join(_requirement_row(req) for req in items)
        groups.append(f'<tbody class="group" data-section="{esc(section)}"><tr class="section"><th colspan="6">'
                      f'{title}<span class="tally">{esc(tally_text)}</span></th></tr>{rows}</tbody>')
    return (
        '<section id="requirements-section"><h2>Requirements by spec section</h2>'
        '<p class="meaning">Filter by outcome or level; click a column header to sort (within each section).</p>'
        f'{controls}<table id="requirements" class="rows fixed">{_COLUMNS}<thead><tr>{head}</tr></thead>'
        f'{"".join(groups)}</table>'
        '</section>'
    )


def _requirement_row(req: dict) -> str:
    outcome = str(req.get("outcome") or "")
    level = str(req.get("level") or "")
    rid = str(req.get("id") or "")
    reference = str(req.get("reference") or "")
    anchor = "#" + reference.rsplit("#", 1)[-1] if "#" in reference else "spec"
    since = f' <span class="since">(since v{esc(req["since"])})</span>' if req.get("since") else ""
    since += "".join(f' <span class="since">(changed in v{esc(c.get("version"))}: {esc(c.get("note"))})</span>'
                     for c in req.get("changes") or [])
    message = req.get("message") or ""
    spec = f'<a href="{esc(reference)}">{esc(anchor)}</a>' if reference else ""
    spec += _basis_links(req, separator="<br>")
    evidence = (f' <a class="evidence-link" href="#ev-{esc(rid)}">evidence</a>'
                if outcome in ("fail", "error") else "")
    return (
        f'<tr class="req {esc(outcome)}" id="req-{esc(rid)}" data-id="{esc(rid)}" data-outcome="{esc(outcome)}" '
        f'data-level="{esc(level)}">'
        f'<td class="id">{esc(rid)}</td>'
        f'<td data-sort="{_rank(LEVEL_ORDER, level)}"><span class="level {esc(level)}">{esc(level)}</span></td>'
        f'<td data-sort="{_rank(OUTCOME_ORDER, outcome)}"><span class="outcome {esc(outcome)}">'
        f'{esc(OUTCOME_LABEL.get(outcome, outcome))}</span></td>'
        f'<td class="summary">{inline_code(req.get("summary"))}{since}</td>'
        f'<td class="spec">{spec}</td>'
        f'<td class="msg"><span class="text">{esc(message)}</span>{evidence}</td>'
        "</tr>"
    )


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else len(order)


def _evidence(requirements: list[dict], tests: list[dict]) -> str:
    """Per failing requirement (most severe first) its failing tests; a test shown under an earlier requirement is
    linked, not repeated."""
    failing = _by_severity(requirements)
    if not failing:
        return ('<section id="evidence"><h2>Evidence</h2><p class="meaning">No requirement failed and the harness '
                'decided every one, so there is no evidence to show.</p></section>')
    by_id = {t.get("nodeid"): t for t in tests}
    numbers = {t.get("nodeid"): index for index, t in enumerate(tests)}
    shown: dict[str, str] = {}
    articles = []
    for req in failing:
        rid = str(req.get("id"))
        outcome = str(req.get("outcome"))
        parts = [f'<h3><span class="outcome {esc(outcome)}">{esc(OUTCOME_LABEL.get(outcome, outcome))}</span> '
                 f'<span class="level {esc(req.get("level"))}">{esc(req.get("level"))}</span> '
                 f'<a href="#req-{esc(rid)}">{esc(rid)}</a></h3>',
                 f'<p>{inline_code(req.get("summary"))} <a href="{esc(req.get("reference"))}">spec</a></p>']
        for nodeid in req.get("tests") or []:
            test = by_id.get(nodeid)
            if test is None or test.get("outcome") not in ("fail", "error"):
                continue
            anchor = f"t-{numbers[nodeid]}"
            if nodeid in shown:
                parts.append(f'<p>The test <code>{esc(nodeid)}</code> also breaks '
                             f'<a href="#{anchor}">{esc(shown[nodeid])}</a>: its evidence is shown there.</p>')
                continue
            shown[nodeid] = rid
            parts.append(_test(test, anchor))
        articles.append(f'<article class="evidence {esc(outcome)}" id="ev-{esc(rid)}">{"".join(parts)}</article>')
    return ('<section id="evidence"><h2>Evidence of failing requirements</h2>'
            '<p class="meaning">For each failing test: its message, every runtime call it made, and each container\'s '
            'config (the changes from ocitest\'s default config, then the whole config.json) and output.</p>'
            + "".join(articles) + "</section>")


def _test(test: dict, anchor: str) -> str:
    """Open from the start: the evidence is what the page is for, and a closed <details> does not print."""
    calls = test.get("calls") or []
    containers = test.get("containers") or []
    body = [f'<p><b>{esc(str(test.get("outcome")).upper())}</b> after {esc(duration_text(test.get("duration")))}, '
            f'the message:</p><pre class="message">{esc(test.get("message") or "(no message)")}</pre>',
            f"<h4>Runtime calls ({len(calls)})</h4>" if calls else "<p>The test made no runtime call.</p>"]
    body += [_call(call) for call in calls]
    if containers:
        body.append(f"<h4>Containers ({len(containers)})</h4>")
        body += [_container(container) for container in containers]
    return (f'<details class="test" id="{esc(anchor)}" open><summary><code>{esc(test.get("nodeid"))}</code></summary>'
            + "".join(body) + "</details>")


def _call(call: dict) -> str:
    argv = [str(a) for a in call.get("argv") or []]
    if call.get("timed_out"):
        ended = "timed out (killed)"
    elif call.get("exit") is None:
        ended = "no exit status"
    else:
        ended = f"exit {call.get('exit')}"
    duration = call.get("duration")
    took = f"{duration * 1000:.0f} ms" if isinstance(duration, (int, float)) else "?"
    note = f' — {esc(call["note"])}' if call.get("note") else ""
    return (f'<div class="call"><div class="cmd mono">$ {esc(shlex.join(argv))}</div>'
            f'<div class="meta">{esc(ended)} after {esc(took)}{note}</div>'
            f'{_stream("stderr", call.get("stderr"))}{_stream("stdout", call.get("stdout"))}</div>')


def _stream(name: str, text: str | None) -> str:
    if not text:
        return f'<div class="meta">{esc(name)}: (empty)</div>'
    return f'<div class="meta">{esc(name)}:</div><pre class="{esc(name)}">{esc(text)}</pre>'


def _container(container: dict) -> str:
    changes = container.get("config_changes") or []
    if changes:
        rows = "".join(
            f'<tr><td>{esc(c.get("op"))}</td><td>{esc(c.get("path"))}</td>'
            f'<td>{esc(_json(c["old"])) if "old" in c else ""}</td>'
            f'<td>{esc(_json(c["value"])) if "value" in c else ""}</td></tr>'
            for c in changes)
        change_html = (f'<table class="changes"><thead><tr><th>op</th><th>path</th><th>default</th><th>used</th></tr>'
                       f"</thead><tbody>{rows}</tbody></table>")
    else:
        change_html = '<div class="meta">config: ocitest\'s default config, unchanged</div>'
    config = container.get("config")
    full = ("<details><summary>the whole config.json</summary>"
            f'<pre class="config">{esc(json.dumps(config, indent=2))}</pre></details>') if config is not None else ""
    return (f'<div class="container"><div><b>container</b> <code>{esc(container.get("id"))}</code></div>'
            f'<div class="meta">bundle {esc(container.get("bundle"))}; '
            f'ended: {esc(container.get("exit") or "not seen to end")}'
            f'</div>{change_html}{full}'
            f'{_stream("program stdout", container.get("stdout"))}'
            f'{_stream("program stderr", container.get("stderr"))}</div>')


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)

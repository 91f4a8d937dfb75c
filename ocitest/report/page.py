"""What the HTML report and the HTML matrix share: escaping, the page frame, the style and the script.

Both pages are single files that a certifier opens offline and hands on, so everything is
inline (no fonts, scripts or images from anywhere). Everything that came from a run (runtime
output, configs, messages) goes through :func:`esc`: a runtime under test is untrusted input.
The script only hides and reorders rows; with scripts off, the page shows everything.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from ..verdict import LEVELS

#: The order outcomes are listed and sorted in: what needs attention first.
OUTCOME_ORDER = ("fail", "error", "pass", "skip", "not-applicable", "not-run")
OUTCOME_LABEL = {"pass": "PASS", "fail": "FAIL", "skip": "skip", "error": "ERR", "not-applicable": "n/a",
                 "not-run": "not run"}
LEVEL_ORDER = LEVELS


def esc(value: object) -> str:
    """Text for an element or a quoted attribute; ``None`` is an empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def inline_code(text: str | None) -> str:
    """Escape ``text`` and show its `backtick spans` (the catalog's summaries use them) as code."""
    parts = re.split(r"`([^`]*)`", text or "")
    return "".join(f"<code>{esc(part)}</code>" if index % 2 else esc(part) for index, part in enumerate(parts))


def badge(color: str, text: str, *, element_id: str | None = None, big: bool = False) -> str:
    """A verdict as a colored block: ``color`` is red, yellow, green or partial."""
    ident = f' id="{esc(element_id)}"' if element_id else ""
    size = " big" if big else ""
    return f'<span{ident} class="badge {esc(color)}{size}" data-verdict="{esc(color)}">{esc(text)}</span>'


def verdict_color(report: dict) -> str:
    """The badge color of a report: an interrupted run earned no color, it is partial."""
    return "partial" if report.get("interrupted") else str(report.get("verdict") or "partial")


def verdict_text(report: dict) -> str:
    if report.get("interrupted"):
        return f"PARTIAL ({str(report.get('verdict') or '?').upper()} so far)"
    return str(report.get("verdict") or "?").upper()


def judged_text(report: dict) -> str:
    """``runtime-spec 1.0.2 (declared)``: the release a report judged against, and why."""
    scope = (report.get("verdicts") or {}).get("runtime-spec") or {}
    basis = scope.get("basis")
    return f"runtime-spec {report.get('spec_version', '?')}" + (f" ({basis})" if basis else "")


def runtime_label(report: dict) -> str:
    """A short name for a runtime column: the binary's name and its version without the name.

    ``/usr/sbin/runc`` with ``runc version 1.1.5+ds1`` is ``runc 1.1.5+ds1``.
    """
    runtime = report.get("runtime") or {}
    name = os.path.basename(str(runtime.get("path") or "?")) or "?"
    version = str(runtime.get("version") or "").strip()
    words = version.split()
    if words and words[0].lower() == name.lower():
        words = words[1:]
    if words and words[0].lower() == "version":
        words = words[1:]
    return " ".join([name, *words[:1]])


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def write_atomically(text: str, path: str | os.PathLike) -> Path:
    """Write beside the target, then rename: a reader never sees half a page."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target


def document(title: str, body: str) -> str:
    """The whole page around ``body``. The empty icon keeps the browser from asking for favicon.ico."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def filter_controls(legend: str, attribute: str, values: list[tuple[str, str, int]]) -> str:
    """A group of checkboxes, all checked: a row shows only if its ``data-ATTRIBUTE`` is checked.

    ``values`` are (value, label, count); the ids are ``filter-ATTRIBUTE-VALUE``.
    """
    boxes = "".join(
        f'<label class="chip {esc(value)}"><input type="checkbox" class="filter" '
        f'id="filter-{esc(attribute)}-{esc(value)}" data-attr="{esc(attribute)}" value="{esc(value)}" checked> '
        f'{esc(label)} <span class="n">{count}</span></label>'
        for value, label, count in values
    )
    return f'<fieldset class="filters"><legend>{esc(legend)}</legend>{boxes}</fieldset>'


def sortable_header(label: str, key: str) -> str:
    """A column header the script sorts by (a button inside, so the keyboard reaches it)."""
    return f'<th scope="col" data-sort-key="{esc(key)}"><button type="button" class="sort">{esc(label)}</button></th>'


STYLE = """
:root { --red: #c62828; --red-bg: #fde4e4; --yellow: #e0a800; --yellow-bg: #fff5d1; --green: #2e7d32;
  --green-bg: #e3f4e4; --grey: #6b7280; --grey-bg: #f1f3f5; --line: #d7dbe0; --ink: #1f2933; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
  margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1500px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
a { color: #1a5fb4; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .86em; }
code { background: var(--grey-bg); padding: 0 .2em; border-radius: 3px; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; padding: .5rem .7rem; margin: .3rem 0;
  white-space: pre-wrap; word-break: break-all; max-height: 24rem; overflow: auto; }
pre.empty { color: var(--grey); font-style: italic; }
header.top { display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; }
.badge { display: inline-block; font-weight: 700; letter-spacing: .04em; color: #fff; border-radius: 6px;
  padding: .15em .6em; white-space: nowrap; }
.badge.big { font-size: 2.4rem; padding: .3em .9em; border-radius: 10px; }
.badge.red { background: var(--red); }
.badge.yellow { background: var(--yellow); color: #1f1600; }
.badge.green { background: var(--green); }
.badge.partial { background: repeating-linear-gradient(45deg, #8a8f98, #8a8f98 12px, #9aa0a8 12px, #9aa0a8 24px); }
.verdict-line { font-size: 1.05rem; margin: .2rem 0; }
.meaning { color: var(--grey); margin: .2rem 0; }
.counts { display: flex; gap: .6rem; flex-wrap: wrap; margin: 1rem 0 0; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: .3rem .8rem; min-width: 7.5rem; }
.count b { display: block; font-size: 1.5rem; }
.count.bad b { color: var(--red); } .count.warn b { color: #9a7400; } .count.good b { color: var(--green); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: 0 2rem; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.kv dt { color: var(--grey); } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.controls { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-end; margin: .4rem 0 .8rem; }
fieldset.filters { border: 1px solid var(--line); border-radius: 6px; padding: .2rem .6rem .4rem; margin: 0; }
fieldset.filters legend { color: var(--grey); font-size: .85rem; padding: 0 .3rem; }
label.chip { display: inline-block; margin-right: .6rem; cursor: pointer; white-space: nowrap; }
label.chip .n { color: var(--grey); font-size: .85em; }
input#filter-text { font: inherit; padding: .25rem .5rem; border: 1px solid var(--line); border-radius: 4px;
                    width: 18rem; }
.shown { color: var(--grey); }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #fff; box-shadow: 0 1px 0 var(--line); z-index: 1; }
th button.sort { font: inherit; font-weight: 700; border: 0; background: none; padding: 0; cursor: pointer;
                 color: inherit; }
th button.sort::after { content: " \\2195"; color: #aab; font-weight: 400; }
th[aria-sort="ascending"] button.sort::after { content: " \\2191"; color: var(--ink); }
th[aria-sort="descending"] button.sort::after { content: " \\2193"; color: var(--ink); }
tr.section th { background: var(--grey-bg); font-weight: 600; padding-top: .5rem; }
tr.section .tally { font-weight: 400; color: var(--grey); margin-left: .6rem; }
table.fixed { table-layout: fixed; }
td.id { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .84em; overflow-wrap: anywhere; }
td.msg { font-size: .88em; overflow-wrap: anywhere; }
td.msg .text { display: block; max-height: 9.5em; overflow: auto; }
td.spec { font-size: .88em; overflow-wrap: anywhere; }
th { white-space: nowrap; }
table.failed td { font-size: .92em; } table.failed td.id { white-space: nowrap; }
.outcome { display: inline-block; min-width: 3.2em; text-align: center; font-weight: 700; border-radius: 4px;
  padding: 0 .35em; font-size: .85em; }
.outcome.fail { background: var(--red); color: #fff; }
.outcome.error { background: var(--yellow); color: #1f1600; }
.outcome.pass { background: var(--green-bg); color: var(--green); }
.outcome.skip, .outcome.not-applicable, .outcome.not-run { background: var(--grey-bg); color: var(--grey);
  font-weight: 400; }
.scopes { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .3rem 0; }
.scopes .scope { display: flex; align-items: center; gap: .4rem; }
.scopes .scope.apart { color: var(--grey); }
.outcome.absent { color: var(--grey); font-weight: 400; }
tr.req.fail td.id { border-left: 4px solid var(--red); }
tr.req.error td.id { border-left: 4px solid var(--yellow); }
.level { font-size: .85em; font-weight: 600; }
.level.SHOULD { color: #8a6100; } .level.MAY { color: var(--grey); }
.since { color: var(--grey); font-size: .85em; }
article.evidence { border: 1px solid var(--line); border-left: 5px solid var(--red); border-radius: 6px;
  padding: .4rem 1rem .8rem; margin: 1rem 0; }
article.evidence.error { border-left-color: var(--yellow); }
article.evidence h3 { margin-top: .4rem; }
details { margin: .4rem 0; }
details > summary { cursor: pointer; }
details.test { border-top: 1px dashed var(--line); padding-top: .4rem; }
details.test > summary { font-weight: 600; }
.call { margin: .6rem 0 .9rem; padding-left: .8rem; border-left: 3px solid var(--line); }
.call .cmd { font-weight: 600; }
.call .meta, .container .meta { color: var(--grey); font-size: .9em; }
.container { margin: .6rem 0 .9rem; padding-left: .8rem; border-left: 3px solid #b8c4d6; }
table.changes { width: auto; margin: .3rem 0; font-size: .9em; }
table.changes td, table.changes th { padding: .15rem .5rem; }
table.changes td { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .86em;
                   overflow-wrap: anywhere; }
table#matrix td.cell { text-align: center; }
table#matrix td.id { white-space: nowrap; }
td.cell.pass { background: var(--green-bg); } td.cell.fail { background: var(--red-bg); }
td.cell.error { background: var(--yellow-bg); } td.cell.skip, td.cell.not-applicable, td.cell.not-run {
  background: #fafafa; }
tr.req.differs td.id { border-left: 4px solid #5b6cff; }
tfoot td, tfoot th { border-top: 2px solid var(--line); border-bottom: 0; padding-top: .6rem; }
footer { margin-top: 2.5rem; color: var(--grey); font-size: .85rem; }
@media print { .controls, th button.sort::after { display: none; } pre { max-height: none; }
  td.msg .text { max-height: none; } thead th { position: static; } }
"""

#: Filters (checkbox groups ``input.filter[data-attr]``, "only" boxes ``input.only[data-attr]``, the
#: text box ``#filter-text``), sorting by ``th[data-sort-key]`` within each ``tbody``, and opening a
#: ``<details>`` a link points at. Rows are ``tr.req`` with ``data-*`` attributes; a cell may give
#: its sort key in ``data-sort``.
SCRIPT = r"""
(function () {
  "use strict";
  var table = document.querySelector("table.rows");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tr.req"));
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.filter"));
  var onlies = Array.prototype.slice.call(document.querySelectorAll("input.only"));
  var text = document.getElementById("filter-text");
  var shown = document.getElementById("shown-count");

  function apply() {
    var allowed = {};
    boxes.forEach(function (box) {
      var attr = box.getAttribute("data-attr");
      if (!allowed[attr]) { allowed[attr] = {}; }
      if (box.checked) { allowed[attr][box.value] = true; }
    });
    var needle = text ? text.value.trim().toLowerCase() : "";
    var count = 0;
    rows.forEach(function (row) {
      var visible = Object.keys(allowed).every(function (attr) {
        return allowed[attr][row.getAttribute("data-" + attr)] === true;
      });
      visible = visible && onlies.every(function (box) {
        return !box.checked || row.getAttribute("data-" + box.getAttribute("data-attr")) === "1";
      });
      if (visible && needle) { visible = row.textContent.toLowerCase().indexOf(needle) !== -1; }
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    Array.prototype.forEach.call(table.querySelectorAll("tbody.group"), function (group) {
      group.hidden = group.querySelector("tr.req:not([hidden])") === null;
    });
    if (shown) { shown.textContent = "showing " + count + " of " + rows.length; }
  }

  function key(row, column) {
    var cell = row.cells[column];
    if (!cell) { return ""; }
    var given = cell.getAttribute("data-sort");
    return given !== null ? given : cell.textContent.trim().toLowerCase();
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  var headers = Array.prototype.slice.call(table.querySelectorAll("thead th[data-sort-key]"));
  headers.forEach(function (th) {
    var button = th.querySelector("button") || th;
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var column = th.cellIndex;
      Array.prototype.forEach.call(table.tBodies, function (body) {
        var items = Array.prototype.slice.call(body.querySelectorAll("tr.req"));
        items.forEach(function (row, index) { row.setAttribute("data-order", String(index)); });
        items.sort(function (a, b) {
          var c = compare(key(a, column), key(b, column));
          if (!ascending) { c = -c; }
          return c !== 0 ? c : Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
        });
        items.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  boxes.concat(onlies).forEach(function (box) { box.addEventListener("change", apply); });
  if (text) { text.addEventListener("input", apply); }

  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var node = id ? document.getElementById(id) : null;
    for (var at = node; at; at = at.parentElement) {
      if (at.tagName === "DETAILS") { at.open = true; }
    }
    var inner = node && node.querySelector("details");
    if (inner) { inner.open = true; }
    if (node) { node.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  apply();
})();
"""

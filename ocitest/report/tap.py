"""TAP 13 (``--tap FILE``): one test point per requirement, each with a YAML block.

runtime-tools' validation programs print one TAP line per check; ocitest prints one per
requirement of the catalog (``report["requirements"]``), because that is the unit of the
verdict. The mapping:

* ``pass``            -> ``ok N - ID: summary``
* ``fail``, ``error`` -> ``not ok N - ID: summary`` (the YAML block's ``outcome`` tells them apart,
  its ``level`` says whether a MUST or only a SHOULD/MAY is broken: TAP itself has no levels)
* ``skip``            -> ``ok N - ID: summary # SKIP reason``
* ``not-applicable``  -> ``ok N - ID: summary # SKIP not applicable at 1.0.2 (since 1.1.0)``: newer than
  the release judged; its YAML block's ``observed`` keeps what the checks saw
* ``not-run``         -> ``ok N - ID: summary # SKIP not run``: no test of it was selected

Every string in a YAML block is written as a JSON string, which is also a valid YAML
double-quoted scalar, so messages with quotes, colons or line breaks stay one line each and
cannot break the block. A few characters JSON leaves alone are not allowed (or are line
breaks) in YAML; they are escaped too.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

#: Characters a YAML stream may not hold literally (outside its printable set) or that YAML
#: reads as line breaks (NEL, LS, PS); json.dumps(ensure_ascii=False) leaves them as they are.
_NOT_YAML_SAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _scalar(text: object) -> str:
    """A YAML scalar for ``text``: a JSON string (null stays null)."""
    if text is None:
        return "null"
    quoted = json.dumps(str(text), ensure_ascii=False)
    return _NOT_YAML_SAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _one_line(text: str) -> str:
    """Text for the result line itself: one line, and no ``#``, which would start a directive."""
    flat = " ".join(str(text).split())
    return flat.replace("\\", "\\\\").replace("#", "\\#")


#: Outcomes that are TAP skips: nothing was held against the runtime.
SKIPS = ("skip", "not-applicable", "not-run")


def _point(number: int, req: dict, version: str) -> list[str]:
    outcome = req.get("outcome", "error")
    status = "ok" if outcome in ("pass", *SKIPS) else "not ok"
    line = f"{status} {number} - {_one_line(req.get('id', '?'))}: {_one_line(req.get('summary', ''))}"
    if outcome == "skip":
        reason = " ".join(str(req.get("message") or "").split())
        line += f" # SKIP {reason}" if reason else " # SKIP"
    elif outcome == "not-applicable":
        line += f" # SKIP not applicable at {_one_line(version)} (since {_one_line(req.get('since') or '?')})"
    elif outcome == "not-run":
        line += " # SKIP not run"
    block = ["  ---"]
    for key in ("reference", "level", "section", "outcome", "message"):
        block.append(f"  {key}: {_scalar(req.get(key, ''))}")
    for key in ("scope", "observed", "since"):
        if req.get(key):
            block.append(f"  {key}: {_scalar(req[key])}")
    if req.get("basis"):
        block.append("  basis:")
        block += [f"    - {_scalar(url)}" for url in req["basis"]]
    if req.get("changes"):
        block.append("  changes:")
        block += [f"    - {{version: {_scalar(c.get('version'))}, note: {_scalar(c.get('note'))}}}"
                  for c in req["changes"]]
    tests = req.get("tests") or []
    if tests:
        block.append("  tests:")
        block += [f"    - {_scalar(nodeid)}" for nodeid in tests]
    else:
        block.append("  tests: []")
    block.append("  ...")
    return [line, *block]


def _summary(counts: dict) -> str:
    keys = ("must_failed", "should_failed", "may_failed", "passed", "skipped", "errors", "not_applicable", "not_run")
    return ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in keys if k in counts)


def render(report: dict) -> str:
    """The TAP 13 text of a JSON report (format ``ocitest-report/1``)."""
    requirements = report.get("requirements", [])
    runtime = report.get("runtime") or {}
    lines = ["TAP version 13", f"1..{len(requirements)}"]
    described = runtime.get("path", "?") + (f" ({runtime['version']})" if runtime.get("version") else "")
    version = str(report.get("spec_version", "?"))
    lines.append(f"# ocitest: runtime {_one_line(described)}, runtime-spec {version}")
    for number, req in enumerate(requirements, start=1):
        lines += _point(number, req, version)
    for key, scope in (report.get("verdicts") or {}).items():
        counted = "counted" if scope.get("counted") else "not counted"
        lines.append(f"# verdict of {key} {scope.get('spec_version')} ({scope.get('basis')}; {counted}): "
                     f"{str(scope.get('verdict')).upper()} ({_summary(scope.get('counts') or {})})")
    lines.append(f"# verdict: {str(report.get('verdict', '?')).upper()} ({_summary(report.get('counts') or {})})")
    if report.get("interrupted"):
        lines.append("# interrupted: the run was cut short, the verdict is partial")
    return "\n".join(lines) + "\n"


def write(report: dict, path: str | os.PathLike) -> Path:
    """Write ``render(report)`` to ``path`` atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(report))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

"""TAP 13 (``--tap FILE``): one test point per requirement, each with a YAML block.

runtime-tools' validation programs print one TAP line per check; ocitest prints one per
requirement of the catalog (``report["requirements"]``), because that is the unit of the
verdict. The mapping:

* ``pass``            -> ``ok N - ID: summary``
* ``fail``, ``error`` -> ``not ok N - ID: summary`` (the YAML block's ``outcome`` tells them apart,
  its ``level`` says whether a MUST or only a SHOULD/MAY is broken: TAP itself has no levels)
* ``skip``            -> ``ok N - ID: summary # SKIP reason``

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


def _point(number: int, req: dict) -> list[str]:
    outcome = req.get("outcome", "error")
    status = "ok" if outcome in ("pass", "skip") else "not ok"
    line = f"{status} {number} - {_one_line(req.get('id', '?'))}: {_one_line(req.get('summary', ''))}"
    if outcome == "skip":
        reason = " ".join(str(req.get("message") or "").split())
        line += f" # SKIP {reason}" if reason else " # SKIP"
    block = ["  ---"]
    for key in ("reference", "level", "section", "outcome", "message"):
        block.append(f"  {key}: {_scalar(req.get(key, ''))}")
    if req.get("since"):
        block.append(f"  since: {_scalar(req['since'])}")
    tests = req.get("tests") or []
    if tests:
        block.append("  tests:")
        block += [f"    - {_scalar(nodeid)}" for nodeid in tests]
    else:
        block.append("  tests: []")
    block.append("  ...")
    return [line, *block]


def render(report: dict) -> str:
    """The TAP 13 text of a JSON report (format ``ocitest-report/1``)."""
    requirements = report.get("requirements", [])
    runtime = report.get("runtime") or {}
    lines = ["TAP version 13", f"1..{len(requirements)}"]
    described = runtime.get("path", "?") + (f" ({runtime['version']})" if runtime.get("version") else "")
    lines.append(f"# ocitest: runtime {_one_line(described)}, runtime-spec {report.get('spec_version', '?')}")
    for number, req in enumerate(requirements, start=1):
        lines += _point(number, req)
    counts = report.get("counts") or {}
    summary = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in
                        ("must_failed", "should_failed", "passed", "skipped", "errors") if k in counts)
    lines.append(f"# verdict: {str(report.get('verdict', '?')).upper()} ({summary})")
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

"""The JSON report (``--json FILE``), format ``ocitest-report/1``: keys are a stable contract."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import SPEC_VERSION
from ..verdict import RequirementResult, TestResult, Verdict

FORMAT = "ocitest-report/1"


def build(*, runtime: dict, host: dict, verdict: Verdict, requirements: list[RequirementResult],
          tests: list[TestResult], schema_dir: str | None = None, duration: float | None = None) -> dict:
    return {
        "format": FORMAT,
        "runtime": runtime,
        "spec_version": SPEC_VERSION,
        "host": host,
        "verdict": verdict.color,
        "counts": verdict.counts(),
        "requirements": [r.to_json() for r in requirements],
        "tests": [t.to_json() for t in tests],
        "schema_dir": schema_dir,
        "duration": None if duration is None else round(duration, 3),
    }


def write(report: dict, path: str | os.PathLike) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(target)
    return target

"""The JSON report (``--json FILE``), format ``ocitest-report/1``: keys are a stable contract."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..specversion import JudgedVersion
from ..verdict import Judgement, TestResult

FORMAT = "ocitest-report/1"


@dataclass
class RunSummary:
    """One finished (or interrupted) run as every report writer sees it, before it becomes JSON."""

    #: The runtime's self-description (``RuntimeInfo.to_json()``, or just its path) and ``rootless``.
    runtime: dict
    #: Host facts (``host.facts()``).
    host: dict
    #: The requirements at the judged version and every scope's verdict.
    judgement: Judgement
    #: The runtime-spec release judged against, and why.
    judged: JudgedVersion
    tests: list[TestResult]
    schema_dir: str | None = None
    duration: float | None = None
    interrupted: bool = False
    #: What the preflight found and the time limits (``RunState.preflight_to_json()``), plus ``cut_short``.
    preflight: dict | None = None


def build(run: RunSummary) -> dict:
    """The report as a dict: what ``--json`` writes and what the HTML and TAP writers read."""
    verdicts = run.judgement.to_json()
    verdicts["runtime-spec"].update(run.judged.to_json())
    return {
        "format": FORMAT,
        "runtime": run.runtime,
        "spec_version": run.judged.version,
        "host": run.host,
        "verdict": run.judgement.top.color,
        "counts": run.judgement.top.counts(),
        "verdicts": verdicts,
        "requirements": [r.to_json() for r in run.judgement.results],
        "tests": [t.to_json() for t in run.tests],
        "schema_dir": run.schema_dir,
        "duration": None if run.duration is None else round(run.duration, 3),
        "interrupted": run.interrupted,
        **({"preflight": run.preflight} if run.preflight is not None else {}),
    }


def write(report: dict, path: str | os.PathLike) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(target)
    return target

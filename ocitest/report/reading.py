"""Loading a JSON report written by an earlier run (for ``diff`` and ``matrix``), with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from .json_report import FORMAT


class BadReport(Exception):
    """The file is missing, not JSON, or not an ocitest report."""


def load(path: str | Path) -> dict:
    try:
        report = json.loads(Path(path).read_text())
    except OSError as exc:
        raise BadReport(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BadReport(f"{path} is not JSON ({exc})") from None
    if not isinstance(report, dict) or report.get("format") != FORMAT:
        raise BadReport(f"{path} is not an ocitest report (format {FORMAT})")
    return report

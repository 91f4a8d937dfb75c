"""Shared helpers for the harness's own tests: run ocitest as a user would, read its report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD_RUNTIMES = ROOT / "tests" / "bad_runtimes"


@dataclass
class Run:
    exit: int
    output: str
    report: dict | None

    def outcomes(self) -> dict[str, str]:
        return {r["id"]: r["outcome"] for r in self.report["requirements"]}

    def failed_tests(self) -> dict[str, list[str]]:
        return {t["nodeid"]: t["requirements"] for t in self.report["tests"] if t["outcome"] == "fail"}

    def errors(self) -> list[str]:
        return [f"{t['nodeid']}: {t['message']}" for t in self.report["tests"] if t["outcome"] == "error"]


def needs_root_and(runtime: str):
    """Skip marker for tests that drive a real runtime."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root")
    if shutil.which(runtime) is None:
        reasons.append(f"needs {runtime}")
    return pytest.mark.skipif(bool(reasons), reason=", ".join(reasons))


def run_ocitest(tmp_path: Path, *args: str, timeout: float = 1200, env: dict[str, str] | None = None) -> Run:
    """``ocitest run ARGS --json FILE`` in a subprocess, exactly as a user runs it (``env`` is added)."""
    report_path = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ocitest.cli", "run", *args, "--json", str(report_path)],
        capture_output=True, text=True, timeout=timeout, cwd=tmp_path, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Run(proc.returncode, proc.stdout + proc.stderr, report)


@pytest.fixture(scope="session")
def runc_run(tmp_path_factory) -> Run:
    """One full compliance run against runc, shared by the tests that read its report."""
    if os.geteuid() != 0 or shutil.which("runc") is None:
        pytest.skip("needs root and runc")
    return run_ocitest(tmp_path_factory.mktemp("runc"), "--runtime", "runc")

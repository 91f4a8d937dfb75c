"""The project's habits hold: ruff and mypy, configured in pyproject.toml, find nothing.

Run as tests so that `pytest` (and CI through scripts/test) catches a lapse the moment it is made,
not at the next clean-up. Each test fails with the tool's own report, which names file, line and rule.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

#: The tools come with the `[test]` extra, next to the interpreter running the tests.
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} is not installed: `pip install -e '.[test]'` (scripts/setup does it)")
    return on_path


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    out = run(tool("ruff"), "check", "--output-format", "concise", ".")
    assert out.returncode == 0, f"ruff check (rules in pyproject.toml [tool.ruff]):\n{out.stdout}{out.stderr}"


def test_mypy_finds_nothing():
    out = run(tool("mypy"))
    assert out.returncode == 0, f"mypy (settings in pyproject.toml [tool.mypy]):\n{out.stdout}{out.stderr}"

"""The suites import only the suite-facing API: ``ocitest``, ``ocitest.host``, ``ocitest.probe`` and
``ocitest.provisions``,
and from the first two only the names their ``__all__`` declares.

So the harness's internals can move without touching a suite, and a suite reads the same to a
runtime author whatever the harness does inside. Read with ``ast``: nothing is imported or run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ocitest
import ocitest.host
import ocitest.probe
import ocitest.provisions

SUITES = Path(__file__).resolve().parent.parent / "suites"

#: What ocitest.probe defines (it has no __all__); what it imports has its home in ``ocitest``.
PROBE_NAMES = {name for name, value in vars(ocitest.probe).items()
               if not name.startswith("_") and (callable(value) or name.isupper())} - set(ocitest.__all__)

#: The modules a suite may import, and the names each offers.
API: dict[str, set[str]] = {
    "ocitest": set(ocitest.__all__) | {"host", "probe", "provisions"},
    "ocitest.host": set(ocitest.host.__all__),
    "ocitest.probe": PROBE_NAMES,
    "ocitest.provisions": set(ocitest.provisions.__all__),
}


def outside_api(tree: ast.AST) -> list[str]:
    """Every import in ``tree`` of an ocitest module or name that is not part of the API."""
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [f"line {node.lineno}: import {a.name}" for a in node.names
                         if a.name.split(".")[0] == "ocitest" and a.name not in API]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "ocitest":
            if node.module not in API:
                problems.append(f"line {node.lineno}: from {node.module} import ...")
                continue
            problems += [f"line {node.lineno}: from {node.module} import {a.name}" for a in node.names
                         if a.name not in API[node.module]]
    return problems


def suite_files() -> list[Path]:
    return sorted(SUITES.rglob("*.py"))


def test_the_suites_are_found():
    assert len(suite_files()) > 20, f"no suites under {SUITES}"


@pytest.mark.parametrize("path", suite_files(), ids=lambda p: str(p.relative_to(SUITES)))
def test_a_suite_imports_only_the_suite_facing_api(path: Path):
    problems = outside_api(ast.parse(path.read_text(), str(path)))
    assert not problems, (f"{path.relative_to(SUITES.parent)} imports harness internals; import from ocitest, "
                          f"ocitest.host or ocitest.probe (their __all__) instead: {problems}")


def test_every_name_the_api_declares_exists():
    for module in (ocitest, ocitest.host):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{module.__name__}.__all__ names what it does not have: {missing}"


@pytest.mark.parametrize("source, problem", [
    ("from ocitest.container import START_TOKEN", "from ocitest.container import ..."),
    ("import ocitest.plugin", "import ocitest.plugin"),
    ("from ocitest.host.mounts import Mount", "from ocitest.host.mounts import ..."),
    ("from ocitest.host import own_cgroup_paths", "from ocitest.host import own_cgroup_paths"),
    ("from ocitest.probe import START_TOKEN", "from ocitest.probe import START_TOKEN"),
    ("from ocitest import no_such_name", "from ocitest import no_such_name"),
])
def test_an_import_of_an_internal_is_caught(source: str, problem: str):
    assert outside_api(ast.parse(source)) == [f"line 1: {problem}"]


@pytest.mark.parametrize("source", [
    "from ocitest import needs, probe, requirement",
    "from ocitest import host",
    "import ocitest.host",
    "from ocitest.host import Mount, proc_status",
    "from ocitest.probe import say, PREFIX",
    "from .recognition import judge",
    "import pytest",
])
def test_an_import_of_the_api_passes(source: str):
    assert outside_api(ast.parse(source)) == []

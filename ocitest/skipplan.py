"""What a run will skip on this host with this runtime, known before the run (``ocitest doctor``).

The suites are collected in-process (pytest's collection only, silenced) and every test's
``needs`` preconditions are evaluated exactly as the plugin evaluates them before running it
(conditions.py), so the skips listed here are the ones the run will report, with the same
reasons. Skips that depend on what the runtime does during a check cannot be known before;
they are only counted: tests whose code (or a helper or fixture of the same module) calls
``pytest.skip``.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conditions import Evaluator, Need, needs_of


@dataclass(frozen=True)
class PlannedTest:
    """One collected test, as far as skipping goes."""

    nodeid: str
    requirements: tuple[str, ...]
    needs: tuple[Need, ...]
    #: Its code may call pytest.skip on the runtime's answer (a refused MAY option, a failed create).
    may_skip_inline: bool


@dataclass
class Collection:
    tests: list[PlannedTest] = field(default_factory=list)
    #: pytest's ``config.option`` of the collection: the run's options the conditions may read.
    options: Any = None
    problems: list[str] = field(default_factory=list)


@dataclass
class SkipGroup:
    """The tests one reason skips."""

    reason: str
    conditions: list[Need] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"reason": self.reason, "conditions": [n.to_json() for n in self.conditions],
                "requirements": self.requirements, "tests": self.tests}


@dataclass
class SkipPlan:
    collected: int
    groups: list[SkipGroup]
    #: Tests that will run and may still skip, depending on the runtime's answers.
    may_skip: list[str]
    #: Requirements none of whose tests will run (each gets a "skip" outcome).
    unchecked: list[str]
    problems: list[str]

    @property
    def skipped(self) -> int:
        return sum(len(g.tests) for g in self.groups)

    def to_json(self) -> dict:
        return {"collected": self.collected, "skipped": self.skipped, "groups": [g.to_json() for g in self.groups],
                "unchecked_requirements": self.unchecked, "may_skip_on_the_runtime": self.may_skip,
                "problems": self.problems}


def plan(collection: Collection, evaluator: Evaluator) -> SkipPlan:
    """Group the collected tests by the reason of their first unmet precondition."""
    groups: dict[str, SkipGroup] = {}
    running: set[str] = set()
    may_skip = []
    for test in collection.tests:
        unmet = evaluator.first_unmet(test.needs)
        if unmet is None:
            running.update(test.requirements)
            if test.may_skip_inline:
                may_skip.append(test.nodeid)
            continue
        group = groups.setdefault(unmet.reason, SkipGroup(unmet.reason))
        group.tests.append(test.nodeid)
        if unmet.need not in group.conditions:
            group.conditions.append(unmet.need)
        group.requirements += [r for r in test.requirements if r not in group.requirements]
    skipped_ids = {r for g in groups.values() for r in g.requirements}
    ordered = sorted(groups.values(), key=lambda g: (-len(g.tests), g.reason))
    return SkipPlan(len(collection.tests), ordered, may_skip, sorted(skipped_ids - running), collection.problems)


def collect(targets: list[str], pytest_args: list[str]) -> Collection:
    """Collect ``targets`` in this process with ``pytest_args`` (the run's options), printing nothing."""
    collector = _Collector()
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main([*targets, "--collect-only", "-p", "no:terminal", "-p", "no:cacheprovider",
                            "--continue-on-collection-errors", *pytest_args], plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and not collector.result.problems:
        last = (out.getvalue().strip().splitlines() or [f"pytest exited {int(code)}"])[-1]
        collector.result.problems.append(f"collecting the suites failed: {last}")
    return collector.result


class _Collector:
    """A pytest plugin object: keeps what doctor needs of each collected item, and collection errors."""

    def __init__(self) -> None:
        self.result = Collection()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.result.problems.append(f"{report.nodeid}: {text[-1] if text else 'collection failed'}")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        self.result.options = config.option
        self.result.tests = [
            PlannedTest(item.nodeid, tuple(r for m in item.iter_markers("requirement") for r in m.args),
                        tuple(needs_of(item)), may_skip_inline(item))
            for item in items
        ]


# -- inline skips -------------------------------------------------------------------------------


#: The suite API's calls that may skip the check that makes them: a fact the program cannot show
#: (``unseen``, view.py) and a config the runtime refuses (Container.*_unless_refused).
SKIPPING_CALLS = frozenset({"unseen", "create_unless_refused", "launch_unless_refused"})


def may_skip_inline(item: pytest.Item) -> bool:
    """Whether the test's function, a fixture it uses or a function or class of its module that
    it reaches calls ``pytest.skip`` (a skip decided while the check runs)."""
    function = getattr(item, "function", None)
    module = inspect.getmodule(function) if function is not None else None
    if function is None or module is None:
        return False
    roots = [function]
    for name in getattr(item, "fixturenames", []):
        fixture = vars(module).get(name)
        if fixture is not None and callable(fixture):
            roots.append(inspect.unwrap(fixture))
    seen: set[int] = set()
    return any(_reaches_skip(root, module, seen) for root in roots)


def _reaches_skip(func: Any, module: types.ModuleType, seen: set[int]) -> bool:
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    names = {name for c in _code_objects(code) for name in c.co_names}
    if ("pytest" in names and "skip" in names) or names & SKIPPING_CALLS:
        return True
    for name in names:
        obj = vars(module).get(name)
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            if any(_reaches_skip(m, module, seen) for m in vars(obj).values() if inspect.isfunction(m)):
                return True
        elif inspect.isfunction(obj) and _reaches_skip(obj, module, seen):
            return True
    return False


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and the code of the functions, lambdas and comprehensions nested in it."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)

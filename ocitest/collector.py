"""The run's outcome, collected on the controller: test phases -> requirement outcomes -> verdict -> reports.

Like pytest's own JUnit XML writer (``LogXML``) and xdist's controller (``DSession``), this is
one object registered on the controller's plugin manager only, whose methods are the hooks
that need its state; xdist workers run tests and send their reports, they collect nothing.
What it folds the phases into is verdict.py's; how the outcome is shown, report/'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import host
from .report import html, json_report, tap, terminal
from .report.json_report import RunSummary
from .reproducer import safe_name
from .runstate import RunState, judged_spec_version
from .stalls import CUT_SHORT
from .verdict import (
    Judgement,
    Phase,
    TestResult,
    exit_status,
    fold_test,
    judge,
    phase_message,
)

#: The plugin name the collector is registered under (``config.pluginmanager.get_plugin(NAME)``).
NAME = "ocitest-collector"

#: Where the report writers go: (option dest, writer, what the terminal calls the file).
WRITERS = (("ocitest_json", json_report.write, "JSON report"), ("ocitest_html", html.write, "HTML report"),
           ("ocitest_tap", tap.write, "TAP report"))


@dataclass
class TestRecord:
    """The phases of one test as they arrive (possibly from xdist workers)."""

    __test__ = False  # not a pytest test class

    nodeid: str
    requirements: list[str] = field(default_factory=list)
    phases: dict[str, Phase] = field(default_factory=dict)
    harness_error: str = ""
    calls: list[dict] = field(default_factory=list)
    containers: list[dict] = field(default_factory=list)
    since: str | None = None

    def result(self) -> TestResult:
        outcome, message = fold_test(self.phases, self.harness_error)
        duration = sum(p.duration for p in self.phases.values())
        return TestResult(self.nodeid, outcome, duration, list(self.requirements), self.calls, message,
                          self.containers, self.since)


class Collector:
    """Per run, on the controller: the records of each test, and at the end the results and the verdict."""

    def __init__(self, config: pytest.Config, state: RunState) -> None:
        self.config = config
        self.state = state
        self.records: dict[str, TestRecord] = {}
        self.started = time.monotonic()
        self.tests: list[TestResult] = []
        self.judgement: Judgement | None = None
        self.interrupted = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = getattr(report, "ocitest_info", None)
        if not info:
            return
        record = self.records.setdefault(report.nodeid, TestRecord(report.nodeid, info["requirements"],
                                                                   since=info.get("since")))
        record.phases[report.when] = Phase(report.outcome, phase_message(report.longrepr), report.duration)
        record.harness_error = record.harness_error or info.get("harness_error", "")
        if "calls" in info:
            record.calls = info["calls"]
        if "containers" in info:
            record.containers = info["containers"]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.records:
            return
        self.tests = [record.result() for record in self.records.values()]
        self.judgement = judge(self.state.catalog, self.tests, judged_spec_version(self.config),
                               judge_cli=self.config.getoption("ocitest_judge_cli"),
                               judge_runc_compat=self.config.getoption("ocitest_judge_runc_compat"))
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        writers = [(path, write) for option, write, _ in WRITERS if (path := self.config.getoption(option))]
        if writers:
            report = json_report.build(self.summary())
            for path, write in writers:
                write(report, path)
        if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = exit_status(self.judgement.top, strict=self.config.getoption("strict_verdict"))

    def summary(self) -> RunSummary:
        assert self.judgement is not None, "summary() after pytest_sessionfinish folded the records"
        env, info = self.state.env, self.state.info
        runtime = info.to_json() if info else {"path": self.config.getoption("runtime")}
        return RunSummary(runtime={**runtime, "rootless": bool(env and env.rootless)}, host=host.facts(),
                          judgement=self.judgement, judged=judged_spec_version(self.config), tests=self.tests,
                          schema_dir=str(env.schema_dir) if env else None,
                          duration=time.monotonic() - self.started, interrupted=self.interrupted,
                          preflight={**self.state.preflight_to_json(), "cut_short": self.cut_short()})

    def cut_short(self) -> dict[str, str]:
        """The checks not judged because their operation kept timing out (stalls.py): node ID -> why."""
        return {t.nodeid: t.message for t in self.tests if t.outcome == "skip" and t.message.startswith(CUT_SHORT)}

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        if self.judgement is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section("ocitest verdict")
        info = self.state.info
        if info:
            guessed = " (guessed)" if info.profile.guessed else ""
            write(f"runtime: {info.path} ({info.version}; declares spec {info.spec_version}; "
                  f"profile {info.profile.name}{guessed}"
                  f"{'; systemd cgroup driver' if info.cgroup_driver == 'systemd' else ''})")
            if info.features is None:
                write(f"features: none: {info.features_problem}")
        write(f"judged against {judged_spec_version(config).explain()}")
        for line in terminal.preflight_lines(self.state.lifecycle, self.state.limits or {}, self.cut_short(),
                                             self.tests):
            write(line)
        terminal.summarize(self.judgement.results, write, sections=config.getoption("verbose") > 0,
                           kept=self._kept())
        for option, what in [*((o, w) for o, _, w in WRITERS), ("xmlpath", "JUnit XML"),
                             ("ocitest_keep_failed", "reproducers of failed tests")]:
            path = config.getoption(option, None)
            if path:
                write(f"{what}: {path}")

    def _kept(self) -> dict[str, Path]:
        """The ``--keep-failed`` folder of each test that has one (by node ID)."""
        keep_dir = self.config.getoption("ocitest_keep_failed")
        if not keep_dir:
            return {}
        root = Path(keep_dir).absolute()
        folders = {test.nodeid: root / safe_name(test.nodeid) for test in self.tests}
        return {nodeid: folder for nodeid, folder in folders.items() if folder.is_dir()}

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The verdicts of the other scopes, then the run's own once, as the very last line of the run."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.judgement is None or reporter is None:
            return
        *others, last = self.judgement.lines(interrupted=self.interrupted)
        for line in others:
            reporter.write_line(line)
        color = self.judgement.top.color
        reporter.write_line(last, bold=True, red=color == "red", yellow=color == "yellow" or self.interrupted,
                            green=color == "green" and not self.interrupted)

"""pytest hooks only: options, markers, fixtures, collection of outcomes, verdict and reports.

The machinery lives beside this file (runtime, caller, bundle, container, verdict, report);
here it is wired into pytest. Under pytest-xdist every worker drives its own containers (own
subreaper, own bundles) and the controller folds the reports it receives into the verdict.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from . import evidence, host, reproducer
from .bundle import Bundle, BundleFactory
from .caller import become_subreaper
from .conditions import Context, Evaluator, needs_of
from .container import Container, LiveContainers, Timeouts
from .environment import Environment, check_environment, check_outputs, scratch_base
from .preflight import preflight
from .errors import EnvironmentProblem, HarnessError
from .report import html, json_report, junit, tap, terminal
from .requirements import Catalog, load_catalog
from .rootfs import build_rootfs
from .runtime import Event, Runtime, RuntimeInfo, inspect_runtime, runtime_calls
from .schema import Schemas
from .verdict import RequirementResult, TestResult, Verdict, exit_status, fold_all, overall
from .watchdog import PhaseLimit, default_limit


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ocitest", "OCI runtime compliance (ocitest)")
    group.addoption("--runtime", default=os.environ.get("OCITEST_RUNTIME"),
                    help="runtime binary to test: a path or a command on PATH (default: $OCITEST_RUNTIME)")
    group.addoption("--runtime-arg", action="append", default=[], metavar="ARG",
                    help="global option passed to every runtime call, before the command; repeatable "
                         "(write --runtime-arg=--flag for values that start with '-')")
    group.addoption("--profile", dest="ocitest_profile", metavar="NAME",
                    help="how to talk to the runtime (ocitest/profiles: runc, crun, runsc, youki, kata-runtime, "
                         "generic, document); default: guessed from the binary's name and --version")
    group.addoption("--rootless", dest="ocitest_rootless", action="store_true",
                    help="run as an unprivileged user against the runtime's rootless mode: configs get a user "
                         "namespace mapping root to the caller; checks that need privilege are skipped")
    group.addoption("--json", dest="ocitest_json", metavar="FILE", help="write the JSON report (ocitest-report/1) here")
    group.addoption("--html", dest="ocitest_html", metavar="FILE",
                    help="write the HTML report (one self-contained file) here")
    group.addoption("--tap", dest="ocitest_tap", metavar="FILE",
                    help="write a TAP 13 report here: one line per requirement with a YAML block")
    group.addoption("--keep-failed", dest="ocitest_keep_failed", metavar="DIR",
                    help="for each failed test, keep its bundle and a reproduce.sh of the runtime calls in DIR")
    group.addoption("--schema-dir", metavar="DIR",
                    help="runtime-spec JSON Schema folder (default: $OCITEST_SCHEMA_DIR, else the Debian package's)")
    group.addoption("--busybox", metavar="PATH", help="static busybox for the container rootfs (default: /bin/busybox)")
    group.addoption("--runtime-timeout", type=float, default=30.0, metavar="S",
                    help="time limit of one runtime call, seconds (default 30)")
    group.addoption("--wait-timeout", type=float, default=30.0, metavar="S",
                    help="time limit for a container's output or exit, seconds (default 30)")
    group.addoption("--test-timeout", type=float, default=None, metavar="S",
                    help="hard limit of each phase (setup, call, teardown) of one test, seconds; 0 turns it off "
                         "(default: ten times the larger of the two timeouts above, at least 120)")
    group.addoption("--strict-verdict", action="store_true", help="exit 1 on a yellow verdict too")
    group.addoption("--skip-preflight", action="store_true",
                    help="do not check first that the runtime can create the simplest container")


@dataclass
class TestRecord:
    """The phases of one test as they arrive (possibly from xdist workers)."""

    __test__ = False  # not a pytest test class

    nodeid: str
    requirements: list[str] = field(default_factory=list)
    phases: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    harness_error: str = ""
    calls: list[dict] = field(default_factory=list)
    containers: list[dict] = field(default_factory=list)

    def result(self) -> TestResult:
        outcome, message = "pass", ""
        setup = self.phases.get("setup")
        call = self.phases.get("call")
        teardown = self.phases.get("teardown")
        if setup and setup[0] == "failed":
            outcome, message = "error", f"setup: {setup[1]}"
        elif setup and setup[0] == "skipped":
            outcome, message = "skip", setup[1]
        elif call is None:
            outcome, message = "skip", "the test did not run to completion (interrupted)"
        else:
            if call[0] == "failed":
                outcome, message = ("error", self.harness_error) if self.harness_error else ("fail", call[1])
            elif call[0] == "skipped":
                outcome, message = "skip", call[1]
        if teardown and teardown[0] == "failed" and outcome in ("pass", "skip"):
            outcome, message = "error", f"teardown: {teardown[1]}"
        duration = sum(p[2] for p in self.phases.values())
        return TestResult(self.nodeid, outcome, duration, list(self.requirements), self.calls, message,
                          self.containers)


@dataclass
class RunState:
    """Per pytest process: settings, catalog, and (on the controller) the collected outcomes."""

    config: pytest.Config
    catalog: Catalog
    env: Environment | None = None
    info: RuntimeInfo | None = None
    records: dict[str, TestRecord] = field(default_factory=dict)
    results: list[RequirementResult] | None = None
    verdict: Verdict | None = None
    interrupted: bool = False
    started: float = field(default_factory=time.monotonic)

    def option(self, name: str):
        return self.config.getoption(name)


STATE = pytest.StashKey[RunState]()
CALLS = pytest.StashKey[list]()
#: Per test: ``evidence.ContainerEvidence`` of each container, taken before teardown removes them.
EVIDENCE = pytest.StashKey[list]()
#: Per test: whether setup or the test itself did not pass (so its evidence is worth keeping).
DID_NOT_PASS = pytest.StashKey[bool]()
#: Per test: the failure's text (setup or call phase), for ``--keep-failed``'s failure.txt.
FAILURE = pytest.StashKey[str]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the catalog requirement(s) this test checks")
    config.addinivalue_line("markers", "needs(name, *params): a precondition (ocitest/conditions.py) the host, "
                                       "the runtime's self-description or the run must meet, else the test is skipped")
    state = RunState(config=config, catalog=load_catalog())
    config.stash[STATE] = state
    limit = config.getoption("test_timeout")
    if limit is None and config.getoption("runtime"):
        limit = default_limit(config.getoption("runtime_timeout"), config.getoption("wait_timeout"))
    if limit:  # on for a compliance run; for other pytest runs that load the plugin, only when asked
        config.pluginmanager.register(PhaseLimit(limit), "ocitest-watchdog")
    if config.getoption("runtime"):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            state.env = check_environment(config.getoption("runtime"), schema_dir=config.getoption("schema_dir"),
                                          rootless=config.getoption("ocitest_rootless"),
                                          busybox=config.getoption("busybox"))
        except EnvironmentProblem as problem:
            pytest.exit(f"ocitest: {problem}", returncode=2)
        if not _is_worker(config):
            try:
                check_outputs({"--json": config.getoption("ocitest_json"), "--html": config.getoption("ocitest_html"),
                               "--tap": config.getoption("ocitest_tap")},
                              {"--keep-failed": config.getoption("ocitest_keep_failed")})
                runtime_self_description(config)
            except EnvironmentProblem as problem:
                pytest.exit(f"ocitest: {problem}", returncode=2)
            if not (config.getoption("skip_preflight") or config.option.collectonly):
                timeouts = Timeouts(config.getoption("runtime_timeout"), config.getoption("wait_timeout"))
                try:
                    preflight(state.env, state.info, timeouts)
                except EnvironmentProblem as problem:
                    pytest.exit(f"ocitest: {problem}", returncode=2)


def runtime_self_description(config: pytest.Config) -> RuntimeInfo | None:
    """The runtime's self-description, asked once per pytest process (None without a runtime).

    The controller asks in pytest_configure; an xdist worker asks the first time something
    needs it (collection, a precondition, the harness fixture), and every later caller gets
    the same answer.
    """
    state = config.stash[STATE]
    if state.env is None:
        return None
    if state.info is None:
        state.info = inspect_runtime(state.env.runtime, config.getoption("runtime_arg"),
                                     profile=config.getoption("ocitest_profile"))
    return state.info


def _requirement_ids(item: pytest.Item) -> list[str]:
    return [rid for mark in item.iter_markers("requirement") for rid in mark.args]


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """A test naming a requirement the catalog does not have is a collection error."""
    report = yield
    if report.passed:
        catalog = collector.config.stash[STATE].catalog
        problems = []
        for node in report.result:
            if not isinstance(node, pytest.Item):
                continue
            marks = list(node.iter_markers("requirement"))
            if marks and not all(m.args for m in marks):
                problems.append(f"{node.nodeid}: @requirement needs at least one ID")
            problems += [f"{node.nodeid}: unknown requirement ID {rid!r}"
                         for rid in _requirement_ids(node) if rid not in catalog]
        if problems:
            report.outcome = "failed"
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.collectonly:
        return
    if any(_requirement_ids(item) for item in items) and config.stash[STATE].env is None:
        pytest.exit("ocitest: no runtime given: pass --runtime PATH (or set OCITEST_RUNTIME)", returncode=2)


NEEDS = pytest.StashKey[Evaluator]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test whose ``needs`` preconditions are unmet, with the reason, before any fixture runs.

    The same evaluation is what ``ocitest doctor`` does before a run. An xdist worker asks the
    runtime about itself here the first time (the controller did in pytest_configure); the
    harness fixture then reuses that answer.
    """
    wanted = needs_of(item)
    state = item.config.stash[STATE]
    if not wanted or state.env is None:
        return
    evaluator = item.config.stash.get(NEEDS, None)
    if evaluator is None:
        info = runtime_self_description(item.config)
        evaluator = item.config.stash[NEEDS] = Evaluator(Context(info, item.config.option))
    unmet = evaluator.first_unmet(wanted)
    if unmet is not None:
        pytest.skip(unmet.reason)


# -- fixtures ---------------------------------------------------------------------------------


@dataclass
class Harness:
    """What one pytest process (one xdist worker) sets up once: rootfs, schemas, runtime facts."""

    env: Environment
    info: RuntimeInfo
    timeouts: Timeouts
    schemas: Schemas
    bundles: BundleFactory
    live: LiveContainers
    workdir: Path


def _raise_interrupt(signum, frame):  # pragma: no cover - exercised by the leftover tests
    """SIGTERM unwinds like Ctrl-C, so that fixture teardown removes every container.

    On the xdist controller, the workers (which hold the containers) are told first, with the
    SIGINT a Ctrl-C would have given them: `kill PID` reaches the controller alone.
    """
    if signum == signal.SIGTERM:
        import psutil

        try:
            for child in psutil.Process().children():
                if child.name().startswith("python"):
                    child.send_signal(signal.SIGINT)
        except psutil.Error:
            pass
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def ocitest_harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    state = request.config.stash[STATE]
    if state.env is None:
        pytest.exit("ocitest: no runtime given: pass --runtime PATH (or set OCITEST_RUNTIME)", returncode=2)
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="ocitest-", dir=scratch_base()))
    live = LiveContainers()

    def cleanup() -> None:
        live.remove_all()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(cleanup)
    try:
        info = runtime_self_description(request.config)
        schemas = Schemas(state.env.schema_dir)
        rootfs = build_rootfs(workdir / "rootfs", state.env.busybox)
        harness = Harness(
            env=state.env, info=info,
            timeouts=Timeouts(request.config.getoption("runtime_timeout"), request.config.getoption("wait_timeout")),
            schemas=schemas, bundles=BundleFactory(workdir / "bundles", rootfs, schemas, info.oci_version,
                                                           rootless=state.env.rootless),
            live=live, workdir=workdir,
        )
        yield harness
    finally:
        cleanup()
        atexit.unregister(cleanup)


@pytest.fixture
def runtime(ocitest_harness: Harness, request: pytest.FixtureRequest) -> Runtime:
    """The runtime under test, recording each call for this test's report."""
    calls: list[Event] = []
    request.node.stash[CALLS] = calls
    return ocitest_harness.info.new_runtime(ocitest_harness.timeouts.runtime, calls)


@pytest.fixture
def runtime_info(ocitest_harness: Harness) -> RuntimeInfo:
    """What the runtime says about itself: version, declared spec version, ``features`` (or None)."""
    return ocitest_harness.info


@pytest.fixture
def schemas(ocitest_harness: Harness) -> Schemas:
    """The runtime-spec JSON Schemas (``schemas.state_errors(state)``)."""
    return ocitest_harness.schemas


@pytest.fixture
def new_bundle(ocitest_harness: Harness) -> Iterator[Callable[[], Bundle]]:
    """Factory of fresh bundles (default config, own rootfs copy); removed after the test."""
    made: list[Bundle] = []

    def make() -> Bundle:
        bundle = ocitest_harness.bundles.new()
        made.append(bundle)
        return bundle

    yield make
    for bundle in made:
        BundleFactory.remove(bundle)


@pytest.fixture
def new_container(ocitest_harness: Harness, runtime: Runtime, new_bundle: Callable[[], Bundle],
                  request: pytest.FixtureRequest) -> Iterator[Callable[..., Container]]:
    """Factory of containers: ``new_container(args)``; each is force-removed after the test."""
    made: list[Container] = []

    def make(args: list[str] | None = None, *, bundle: Bundle | None = None,
             container_id: str | None = None) -> Container:
        bundle = bundle or new_bundle()
        if args is not None:
            bundle.set_args(args)
        container = Container(runtime, bundle, ocitest_harness.live, ocitest_harness.timeouts, container_id)
        made.append(container)
        return container

    yield make
    request.node.stash[EVIDENCE] = [evidence.of_container(c) for c in made if c.bundle is not None]
    problems = []
    for container in reversed(made):
        problems += container.remove()
    keep_dir = request.config.getoption("ocitest_keep_failed")
    if keep_dir and made and request.node.stash.get(DID_NOT_PASS, False):
        # The bundles are still there (new_bundle removes them after this fixture).
        reproducer.keep(Path(keep_dir), request.node.nodeid, made, request.node.stash.get(CALLS, []),
                        ocitest_harness.bundles.rootfs_template, requirements=_requirement_ids(request.node),
                        failure=request.node.stash.get(FAILURE, ""))
    if problems:
        pytest.fail("cleanup left the runtime in a bad state: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def unknown_container_id() -> str:
    """A container ID no runtime knows: shaped like the harness's own IDs, never handed to create."""
    return f"ocitest-{os.getpid()}-no-such-container"


# -- outcomes, verdict, reports ----------------------------------------------------------------


def _is_violation(exc: BaseException) -> bool:
    return isinstance(exc, (AssertionError, pytest.fail.Exception)) and not isinstance(exc, HarnessError)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    ids = _requirement_ids(item)
    if ids:
        info: dict = {"requirements": ids}
        if report.when == "call" and report.failed and call.excinfo is not None and not _is_violation(call.excinfo.value):
            info["harness_error"] = f"{call.excinfo.typename}: {call.excinfo.value}"
        if report.when in ("setup", "call") and report.outcome == "failed":
            item.stash[DID_NOT_PASS] = True
            item.stash[FAILURE] = f"{report.when}: {_message(report)}\n\n{report.longreprtext}"
        if report.when == "teardown":
            info["calls"] = [c.to_json() for c in runtime_calls(item.stash.get(CALLS, []))]
            if item.stash.get(DID_NOT_PASS, False) or report.failed:
                info["containers"] = [e.to_json() for e in item.stash.get(EVIDENCE, [])]
        # A report attribute, not a user property: it travels from xdist workers like one (the
        # report's __dict__ is serialized) but stays out of --junitxml, which writes str() of
        # every user property. The JUnit XML gets short string properties instead.
        report.ocitest_info = info
        report.user_properties += junit.properties(ids, item.config.stash[STATE].catalog)
    return report


#: The exception name in front of a failure message ("ocitest.errors.Violation: ..."): noise in a report.
_VIOLATION_PREFIX = re.compile(r"^(?:[\w.]+\.)?(?:AssertionError|Violation|RuntimeTimeout|Failed): ")


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        first = crash.message.strip().splitlines()[0] if crash.message.strip() else ""
        return _VIOLATION_PREFIX.sub("", first)
    text = str(longrepr or "").strip()
    return text.splitlines()[-1] if text else ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    state = _controller_state()
    if state is None:
        return
    info = dict(getattr(report, "ocitest_info", None) or {})
    if not info:
        return
    record = state.records.setdefault(report.nodeid, TestRecord(report.nodeid, info["requirements"]))
    record.phases[report.when] = (report.outcome, _message(report), report.duration)
    record.harness_error = record.harness_error or info.get("harness_error", "")
    if "calls" in info:
        record.calls = info["calls"]
    if "containers" in info:
        record.containers = info["containers"]


_controller: list[RunState] = []


def _controller_state() -> RunState | None:
    return _controller[0] if _controller else None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _controller.clear()
    if not _is_worker(session.config):
        _controller.append(session.config.stash[STATE])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _controller_state()
    if state is None or not state.records:
        return
    results = [record.result() for record in state.records.values()]
    state.results = fold_all(state.catalog, results)
    state.verdict = overall(state.results)
    state.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    writers = [(path, write) for path, write in ((session.config.getoption("ocitest_json"), json_report.write),
                                                 (session.config.getoption("ocitest_html"), html.write),
                                                 (session.config.getoption("ocitest_tap"), tap.write)) if path]
    if writers:
        info = state.info
        report = json_report.build(
            runtime={**(info.to_json() if info else {"path": state.option("runtime")}),
                     "rootless": bool(state.env and state.env.rootless)},
            host=host.facts(), verdict=state.verdict, requirements=state.results, tests=results,
            schema_dir=str(state.env.schema_dir) if state.env else None,
            duration=time.monotonic() - state.started,
        )
        report["interrupted"] = state.interrupted
        for path, write in writers:
            write(report, path)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = exit_status(state.verdict, strict=session.config.getoption("strict_verdict"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = _controller_state()
    if state is None or state.verdict is None:
        return
    terminalreporter.section("ocitest verdict")
    if state.info:
        info = state.info
        terminalreporter.write_line(f"runtime: {info.path} ({info.version}; declares spec {info.spec_version}; "
                                    f"profile {info.profile.name}{' (guessed)' if info.profile.guessed else ''})")
        if info.features is None:
            terminalreporter.write_line(f"features: none: {info.features_problem}")
    terminal.summarize(state.results, state.verdict, terminalreporter.write_line, interrupted=state.interrupted)
    for option, what in (("ocitest_json", "JSON report"), ("ocitest_html", "HTML report"), ("ocitest_tap", "TAP report"),
                         ("ocitest_keep_failed", "reproducers of failed tests")):
        path = config.getoption(option)
        if path:
            terminalreporter.write_line(f"{what}: {path}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Repeat the verdict as the very last line of the run."""
    state = _controller_state()
    if state is None or state.verdict is None or config.stash.get(STATE, None) is not state:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        color = state.verdict.color
        reporter.write_line(state.verdict.line(interrupted=state.interrupted), bold=True, red=color == "red",
                            yellow=color == "yellow" or state.interrupted, green=color == "green" and not state.interrupted)
    _controller.clear()

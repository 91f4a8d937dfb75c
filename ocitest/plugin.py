"""pytest hooks only: options, markers, the environment checks, preconditions, and what each test reports.

The machinery lives beside this file; here it is wired into pytest. Under pytest-xdist every
worker drives its own containers (own subreaper, own bundles: fixtures.py) and sends its test
reports to the controller, where the collector (collector.py) folds them into the verdict and
writes the reports.
"""

from __future__ import annotations

import atexit

import pytest

from . import preflight_items
from .collector import NAME as COLLECTOR
from .collector import Collector
from .conditions import Context, Evaluator, needs_of
from .environment import check_environment, check_outputs
from .errors import EnvironmentProblem, HarnessError
from .host import delegated_cgroup, enter_delegated_leaf
from .interrupt import unwind_on_sigterm
from .options import GROUP, add_options
from .preflight import preflight
from .report import junit
from .requirements import load_catalog
from .runstate import (
    CONTAINER_SNAPSHOTS,
    DID_NOT_PASS,
    FAILURE,
    NO_RUNTIME,
    PREFLIGHT_KEY,
    RECORD,
    STATE,
    RunState,
    case_since,
    is_worker,
    judged_spec_version,
    requirement_ids,
    runtime_self_description,
    stop,
)
from .runtime import runtime_calls
from .verdict import phase_message
from .watchdog import PhaseLimit, default_limit

# The fixtures are a plugin of their own, loaded with this one wherever it is loaded (a
# checkout's conftest.py, the installed entry point, each xdist worker).
pytest_plugins = ["ocitest.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser.getgroup(*GROUP).addoption)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the catalog requirement(s) this test checks")
    config.addinivalue_line("markers", "since(version): the runtime-spec release whose text makes this test or "
                                       "case; judged at an older release, its outcome counts for nothing")
    config.addinivalue_line("markers", "needs(name, *params): a precondition (ocitest/conditions.py) the host, "
                                       "the runtime's self-description or the run must meet, else the test is skipped")
    state = config.stash[STATE] = RunState(config=config, catalog=load_catalog())
    limit = config.getoption("test_timeout")
    if limit is None and config.getoption("runtime"):
        limit = default_limit(config.getoption("runtime_timeout"), config.getoption("wait_timeout"))
    if limit:  # on for a compliance run; for other pytest runs that load the plugin, only when asked
        config.pluginmanager.register(PhaseLimit(limit), "ocitest-watchdog")
    if not is_worker(config):
        config.pluginmanager.register(Collector(config, state), COLLECTOR)
    if config.getoption("runtime"):
        unwind_on_sigterm(worker=is_worker(config))
        try:
            _check_before_the_run(config, state)
        except EnvironmentProblem as problem:
            stop(problem)


def _check_before_the_run(config: pytest.Config, state: RunState) -> None:
    """The host, the report paths and the runtime itself, once per run (the environment on each worker)."""
    state.env = check_environment(config.getoption("runtime"), schema_dir=config.getoption("schema_dir"),
                                  rootless=config.getoption("ocitest_rootless"), busybox=config.getoption("busybox"))
    if is_worker(config):
        state.preflight_from_json(getattr(config, "workerinput", {}).get(PREFLIGHT_KEY) or {})
        return
    check_outputs({"--json": config.getoption("ocitest_json"), "--html": config.getoption("ocitest_html"),
                   "--tap": config.getoption("ocitest_tap"), "--junitxml": config.getoption("xmlpath", None)},
                  {"--keep-failed": config.getoption("ocitest_keep_failed")})
    if state.env.rootless:  # before any runtime call and any worker: all of them start in the leaf
        leaf, state.delegation_problem = enter_delegated_leaf()
        if leaf is not None:
            atexit.register(leaf.leave)  # after the last container is gone
    info = runtime_self_description(config)
    runtime_option, wait_option = config.getoption("runtime_timeout"), config.getoption("wait_timeout")
    if info is not None and not (config.getoption("skip_preflight") or config.option.collectonly):
        state.lifecycle = preflight(state.env, info, runtime_option, wait_option)
    state.size_limits(runtime_option, wait_option)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, on the controller: each worker gets what the preflight found, instead of proving it again."""
    node.workerinput[PREFLIGHT_KEY] = node.config.stash[STATE].preflight_to_json()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """The release the run judges against and why, before the first test (the preflight has passed);
    for a rootless run, where containers' cgroups go."""
    state = config.stash[STATE]
    if state.env is None:
        return None
    lines = [f"ocitest: judged against {judged_spec_version(config).explain()}"]
    if state.env.rootless:
        delegated = delegated_cgroup()
        lines.append(f"ocitest: rootless; containers' cgroups go below {delegated}, delegated to this user"
                     if delegated else f"ocitest: rootless; no cgroup of its own for a container: "
                     f"{state.delegation_problem or 'no delegated cgroup v2 subtree'}")
    return lines


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.pluginmanager.get_plugin(COLLECTOR)
    if collector is not None:
        config.pluginmanager.unregister(collector, COLLECTOR)


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
                         for rid in requirement_ids(node) if rid not in catalog]
        if problems:
            report.outcome = "failed"
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


@pytest.hookimpl(trylast=True)  # after -k/-m deselected: the preflight's findings are always reported
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.collectonly:
        return
    state = config.stash[STATE]
    if any(requirement_ids(item) for item in items) and state.env is None:
        pytest.exit(f"ocitest: {NO_RUNTIME}", returncode=2)
    if state.lifecycle is not None:
        items[:0] = preflight_items.items(session, state.lifecycle)


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
        if info is None:  # cannot be: a runtime was given (state.env), so it was asked about itself
            raise HarnessError("the runtime's self-description is missing although a runtime was given")
        evaluator = item.config.stash[NEEDS] = Evaluator(Context(info, item.config.option))
    unmet = evaluator.first_unmet(wanted)
    if unmet is not None:
        pytest.skip(unmet.reason)


def _is_violation(exc: BaseException) -> bool:
    return isinstance(exc, (AssertionError, pytest.fail.Exception)) and not isinstance(exc, HarnessError)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """What a compliance test's report carries to the collector, from wherever it ran."""
    report = yield
    ids = requirement_ids(item)
    if ids:
        info: dict = {"requirements": ids}
        since = case_since(item)
        if since:
            info["since"] = since
        if report.when == "call" and report.failed and call.excinfo is not None \
                and not _is_violation(call.excinfo.value):
            info["harness_error"] = f"{call.excinfo.typename}: {call.excinfo.value}"
        if report.when in ("setup", "call") and report.outcome == "failed":
            item.stash[DID_NOT_PASS] = True
            item.stash[FAILURE] = f"{report.when}: {phase_message(report.longrepr)}\n\n{report.longreprtext}"
        if report.when == "teardown":
            if isinstance(item, preflight_items.PreflightStep):
                info["calls"] = item.step.calls
            else:
                record = item.stash.get(RECORD, [])
                info["calls"] = [c.to_json() for c in runtime_calls(record)]
            if item.stash.get(DID_NOT_PASS, False) or report.failed:
                info["containers"] = [c.to_json() for c in item.stash.get(CONTAINER_SNAPSHOTS, [])]
        # A report attribute, not a user property: it travels from xdist workers like one (the
        # report's __dict__ is serialized) but stays out of --junitxml, which writes str() of
        # every user property. The JUnit XML gets short string properties instead.
        report.ocitest_info = info
        report.user_properties += junit.properties(ids, item.config.stash[STATE].catalog,
                                                   judged_spec_version(item.config).version)
    return report

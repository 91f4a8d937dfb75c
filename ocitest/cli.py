"""``ocitest run|requirements|doctor|diff|matrix``: the command line around the pytest plugin.

``ocitest run`` is a thin front for ``pytest SUITES -p ocitest.plugin ...``: it parses only its
own options (``--suite``, and the ``--junit``/``--strict`` spellings), hands every other
argument to pytest unparsed (the plugin's options are declared once, in options.py, and pytest
parses them; the plugin checks the host and the runtime), shows a runtime author the failing
requirements rather than pytest's tracebacks unless asked (``--tb``, ``-v``), and maps pytest's
exit codes onto the contract: 0 green or yellow, 1 red, 2 usage or environment error, 3
harness error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

import ocitest

from . import host
from .conditions import Context, Evaluator
from .environment import Environment, check_environment
from .errors import EnvironmentProblem
from .options import GROUP, RUNTIME_OPTIONS, add_options
from .preflight import preflight
from .report import diff, junit, matrix, reading
from .report.skips import lines as skip_lines
from .requirements import load_catalog
from .runstate import NO_RUNTIME, stop
from .runtime import RuntimeInfo, inspect_runtime
from .skipplan import SkipPlan, collect, plan
from .specversion import judged_version


def suites_dir() -> Path:
    """The suites: beside the package in a checkout, inside it when installed."""
    package = Path(ocitest.__file__).resolve().parent
    for candidate in (package.parent / "suites", package / "suites"):
        if (candidate / "runtime").is_dir():
            return candidate
    raise EnvironmentProblem(f"the compliance suites are missing (looked beside and inside {package})")


def _usage_error(message: str) -> int:
    print(f"ocitest: error: {message}", file=sys.stderr)
    return 2


class RunFront:
    """What ``ocitest run`` adds to a pytest run (a plugin object of this process only, not of xdist workers).

    * A run needs a runtime (plain pytest on other tests does not), so its absence is the one-line
      usage error here rather than a collection stop.
    * By default the terminal shows progress, then the failing requirements (the plugin's summary),
      then the verdict: pytest's tracebacks and its list of failed tests say the same thing in
      its own words, so they are left out unless asked for with ``--tb`` or ``-v``.
    * pytest-xdist makes a base temp folder for its workers (/tmp/pytest-of-USER/pytest-N, kept
      after the run); a run gets one of its own, removed at the end, so it leaves no folder.
    """

    def __init__(self) -> None:
        self.basetemp: Path | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        if not config.getoption("runtime"):
            stop(NO_RUNTIME)
        if config.getoption("verbose") <= 0 and config.option.reportchars == "fE":  # pytest's default
            config.option.reportchars = "N"
        if config.option.basetemp is None:
            self.basetemp = Path(tempfile.mkdtemp(prefix="ocitest-pytest-"))
            config.option.basetemp = str(self.basetemp)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Late, not at configure: the reports keep their tracebacks (--keep-failed's failure.txt),
        # the terminal (which summarizes after this hook) just does not print them.
        if session.config.getoption("verbose") <= 0 and session.config.option.tbstyle == "auto":
            session.config.option.tbstyle = "no"

    def pytest_unconfigure(self) -> None:
        if self.basetemp is not None:
            shutil.rmtree(self.basetemp, ignore_errors=True)


RUN_USAGE = "ocitest run --runtime PATH [options] [pytest arguments: -n 2, -k EXPR, --tb=short, -v, ...]"
RUN_EPILOG = ("Every other argument goes to pytest. By default the output is the progress, the failing requirements "
              "and the verdict; --tb=short (or -v) adds pytest's tracebacks. Exit status: 0 green or yellow, 1 red "
              "(--strict: yellow too), 2 usage or environment error, 3 harness error.")


def _run_options(run: argparse.ArgumentParser) -> None:
    """The options ``ocitest run`` parses itself; the rest are pytest's (and the plugin's, options.py)."""
    run.add_argument("-h", "--help", action="store_true", help="show this help (with the plugin's options) and exit")
    run.add_argument("--suite", action="append", metavar="NAME",
                     help="run only this suite (runtime, config, ...); repeatable (default: all)")
    run.add_argument("--junit", metavar="FILE",
                     help="write JUnit XML here, with requirement properties per test (pytest's --junitxml, xunit1)")
    run.add_argument("--strict", action="store_true", help="exit 1 on yellow too (the plugin's --strict-verdict)")


def run_help() -> str:
    """``ocitest run --help``: its own options, then the plugin's (the same table pytest parses)."""
    shown = argparse.ArgumentParser(prog="ocitest run", usage=RUN_USAGE, epilog=RUN_EPILOG, add_help=False)
    _run_options(shown)
    add_options(shown.add_argument_group(GROUP[1]).add_argument)
    return shown.format_help()


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        suites = suites_dir()
    except EnvironmentProblem as problem:
        return _usage_error(str(problem))
    targets = [str(suites)]
    if args.suite:
        unknown = [name for name in args.suite if not (suites / name).is_dir()]
        if unknown:
            available = sorted(p.name for p in suites.iterdir() if p.is_dir() and not p.name.startswith("_"))
            return _usage_error(f"no suite {', '.join(unknown)}; the suites are {', '.join(available)}")
        targets = [str(suites / name) for name in args.suite]
    pytest_args = [*targets, "-p", "ocitest.plugin", "-p", "no:cacheprovider", f"--rootdir={suites.parent}"]
    if args.junit:  # properties per <testcase> (requirement, level, reference) belong to xunit1
        pytest_args += ["--junitxml", args.junit, "-o", f"junit_family={junit.FAMILY}"]
    if args.strict:
        pytest_args.append("--strict-verdict")
    code = int(pytest.main(pytest_args + extra, plugins=[RunFront()]))
    # pytest's own codes: 2 interrupted, 4 usage error, 5 nothing collected; 3 internal error.
    return {4: 2, 5: 2}.get(code, code)


def cmd_requirements(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.json:
        print(json.dumps([req.to_json() for req in catalog], indent=2))
        return 0
    for req in catalog:
        print(f"{req.id:<48} {req.level:<6} {req.section}")
        print(f"    {req.summary}")
    print(f"{len(catalog)} requirements")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        env = check_environment(args.runtime, schema_dir=args.schema_dir, busybox=args.busybox,
                                rootless=args.ocitest_rootless)
        info = inspect_runtime(env.runtime, args.runtime_arg, profile=args.ocitest_profile,
                               cgroup_driver=args.ocitest_cgroup_driver, rootless=env.rootless)
    except EnvironmentProblem as problem:
        return _usage_error(str(problem))
    steps: list[dict] = []
    try:
        lifecycle = preflight(env, info)
        steps = lifecycle.to_json()
        failed = lifecycle.failed
        can_run = "yes (carried the simplest containers through their whole lifecycle)" if not failed else (
            "yes, but the lifecycle broke: " + "; ".join(f"{s.title}: FAILED ({s.detail})" for s in failed))
    except EnvironmentProblem as problem:
        can_run = f"NO: {problem}"
    skips = _skip_plan(args, env, info)
    judged = judged_version(option=args.ocitest_spec_version, features_max=info.declared_max,
                            version_spec=info.spec_version)
    if args.json:
        print(json.dumps({"runtime": info.to_json(), "preflight": {"ok": can_run.startswith("yes"), "message": can_run,
                                                                 "steps": steps},
                          "judged": {"spec_version": judged.version, "basis": judged.basis, **judged.to_json()},
                          "oci_version": info.oci_version, "busybox": str(env.busybox), "schemas": str(env.schema_dir),
                          "host": host.facts(), "skips": skips.to_json()}, indent=2))
        return 0 if can_run.startswith("yes") else 2
    print(f"runtime:   {env.runtime}: {info.version or '(no --version output)'}")
    print(f"preflight: {can_run}")
    print(f"spec:      declares {info.spec_version or 'nothing'}; configs will say ociVersion {info.oci_version}")
    print(f"judged:    {judged.explain()}")
    guessed = " (guessed from the name and --version; pass --profile to choose)" if info.profile.guessed else ""
    print(f"profile:   {info.profile.name}{guessed}: {info.profile.summary}")
    print(f"arguments: {' '.join(info.args) or '(none)'}")
    print(f"cgroups:   the {info.cgroup_driver} driver (--cgroup-driver)")
    for need in info.profile.needs:
        print(f"needs:     {need}")
    for note in info.profile.notes:
        print(f"note:      {note}")
    print(f"features:  {'yes' if info.features is not None else info.features_problem}")
    print(f"busybox:   {env.busybox}")
    print(f"schemas:   {env.schema_dir}")
    for key, value in host.facts().items():
        print(f"{key + ':':<10} {value}")
    for line in skip_lines(skips):
        print(line)
    return 0 if can_run.startswith("yes") else 2


def _skip_plan(args: argparse.Namespace, env: Environment, info: RuntimeInfo) -> SkipPlan:
    """Collect the suites as ``ocitest run`` would (same options) and evaluate their preconditions."""
    suites = suites_dir()
    pytest_args = ["-p", "ocitest.plugin", f"--rootdir={suites.parent}", "--runtime", env.runtime,
                   "--profile", info.profile.name, "--skip-preflight",
                   *(f"--runtime-arg={a}" for a in args.runtime_arg)]
    for option, value in (("--schema-dir", args.schema_dir), ("--busybox", args.busybox)):
        if value is not None:
            pytest_args += [option, str(value)]
    if args.ocitest_rootless:
        pytest_args.append("--rootless")
    if args.ocitest_cgroup_driver:
        pytest_args += ["--cgroup-driver", args.ocitest_cgroup_driver]
    collection = collect([str(suites)], pytest_args)
    return plan(collection, Evaluator(Context(info, collection.options)))


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 1 when NEW has a regression against OLD, 0 otherwise, 2 on unreadable input."""
    try:
        old, new = reading.load(args.old), reading.load(args.new)
    except reading.BadReport as problem:
        return _usage_error(str(problem))
    result = diff.compare(old, new)
    print(diff.render_json(result) if args.json else diff.render_text(result))
    return 1 if result.regressions else 0


def cmd_matrix(args: argparse.Namespace) -> int:
    try:
        reports = [reading.load(path) for path in args.reports]
    except reading.BadReport as problem:
        return _usage_error(str(problem))
    print(matrix.render_commands_markdown(reports) if args.commands else matrix.render_text(reports))
    if args.html:
        try:
            Path(args.html).write_text(matrix.render_html(reports))
        except OSError as exc:
            return _usage_error(f"cannot write {args.html}: {exc.strerror}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocitest", description="OCI runtime compliance harness")
    parser.add_argument("--version", action="version", version=f"ocitest {ocitest.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", add_help=False, allow_abbrev=False,  # an abbreviation must not swallow a pytest option
        help="run the compliance suites against a runtime; other arguments go to pytest", usage=RUN_USAGE)
    _run_options(run)
    req = sub.add_parser("requirements", help="list the requirement catalog")
    req.add_argument("--json", action="store_true", help="as JSON")
    doctor = sub.add_parser("doctor", help="check the host and the runtime before a run, and name what a run will skip")
    add_options(doctor.add_argument, RUNTIME_OPTIONS)
    doctor.add_argument("--json", action="store_true", help="as JSON")
    diff = sub.add_parser("diff", help="compare two JSON reports: regressions, fixes, new skips, new requirements")
    diff.add_argument("old", metavar="OLD.json")
    diff.add_argument("new", metavar="NEW.json")
    diff.add_argument("--json", action="store_true", help="as JSON")
    matrix = sub.add_parser("matrix", help="requirements x runtimes, from several JSON reports")
    matrix.add_argument("reports", nargs="+", metavar="REPORT.json")
    matrix.add_argument("--html", metavar="FILE", help="also write the matrix as a self-contained HTML file")
    matrix.add_argument("--commands", action="store_true",
                        help="print runc compatibility instead: commands x runtimes, as a Markdown table")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "run" and args.help:
        print(run_help(), end="")
        return 0
    if args.command == "run":
        # Not for `run`: the harness writes to container pipes whose reader may be gone, and
        # must see EPIPE there, not die of SIGPIPE.
        return cmd_run(args, extra)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `ocitest requirements | head` ends quietly
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "requirements":
        return cmd_requirements(args)
    if args.command == "diff":
        return cmd_diff(args)
    if args.command == "matrix":
        return cmd_matrix(args)
    return cmd_doctor(args)


if __name__ == "__main__":
    sys.exit(main())

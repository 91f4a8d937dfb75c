"""``ocitest run|requirements|doctor``: the command line around the pytest plugin.

``ocitest run`` is ``pytest SUITES --runtime ...`` with the environment checked first (one
line and exit 2 when the host cannot run the suite) and pytest's exit codes mapped onto the
contract: 0 green or yellow, 1 red, 2 usage or environment error, 3 harness error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import ocitest

from . import host
from .conditions import Context, Evaluator
from .environment import Environment, check_environment, check_outputs
from .container import Timeouts
from .errors import EnvironmentProblem
from .preflight import preflight
from .report.skips import lines as skip_lines
from .requirements import load_catalog
from .runtime import RuntimeInfo, inspect_runtime
from .skipplan import SkipPlan, collect, plan


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


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        env = check_environment(args.runtime, schema_dir=args.schema_dir, busybox=args.busybox,
                                rootless=args.rootless)
        check_outputs({"--json": args.json, "--html": args.html, "--tap": args.tap, "--junit": args.junit},
                      {"--keep-failed": args.keep_failed})
        suites = suites_dir()
        info = inspect_runtime(env.runtime, args.runtime_arg, profile=args.profile)
        preflight(env, info, Timeouts(args.runtime_timeout or 30.0, args.wait_timeout or 30.0))
    except EnvironmentProblem as problem:
        return _usage_error(str(problem))
    targets = [str(suites)]
    if args.suite:
        unknown = [name for name in args.suite if not (suites / name).is_dir()]
        if unknown:
            available = sorted(p.name for p in suites.iterdir() if p.is_dir() and not p.name.startswith("_"))
            return _usage_error(f"no suite {', '.join(unknown)}; the suites are {', '.join(available)}")
        targets = [str(suites / name) for name in args.suite]
    pytest_args = [*targets, "-p", "ocitest.plugin", "-p", "no:cacheprovider",
                   f"--rootdir={suites.parent}", "--runtime", env.runtime]
    pytest_args += [f"--runtime-arg={a}" for a in args.runtime_arg]
    for option, value in (("--profile", info.profile.name), ("--json", args.json), ("--html", args.html), ("--tap", args.tap),
                          ("--junitxml", args.junit), ("--keep-failed", args.keep_failed), ("--schema-dir", args.schema_dir), ("--busybox", args.busybox),
                          ("--runtime-timeout", args.runtime_timeout), ("--wait-timeout", args.wait_timeout),
                          ("--test-timeout", args.test_timeout)):
        if value is not None:
            pytest_args += [option, str(value)]
    if args.junit:  # properties per <testcase> (requirement, level, reference) belong to xunit1
        from .report.junit import FAMILY

        pytest_args += ["-o", f"junit_family={FAMILY}"]
    if args.strict:
        pytest_args.append("--strict-verdict")
    if args.rootless:
        pytest_args.append("--rootless")
    pytest_args.append("--skip-preflight")  # done above, once
    import pytest

    # pytest-xdist makes a base temp folder for its workers (/tmp/pytest-of-USER/pytest-N, kept
    # after the run); give it one of ours instead and remove it, so a run leaves no folder.
    basetemp = None
    if not any(a == "--basetemp" or a.startswith("--basetemp=") for a in extra):
        import tempfile

        basetemp = Path(tempfile.mkdtemp(prefix="ocitest-pytest-"))
        pytest_args.append(f"--basetemp={basetemp}")
    try:
        code = int(pytest.main(pytest_args + extra))
    finally:
        if basetemp is not None:
            import shutil

            shutil.rmtree(basetemp, ignore_errors=True)
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
                                rootless=args.rootless)
        info = inspect_runtime(env.runtime, args.runtime_arg, profile=args.profile)
    except EnvironmentProblem as problem:
        return _usage_error(str(problem))
    try:
        preflight(env, info, Timeouts())
        can_run = "yes (created, reported and removed the simplest container)"
    except EnvironmentProblem as problem:
        can_run = f"NO: {problem}"
    skips = _skip_plan(args, env, info)
    if args.json:
        print(json.dumps({"runtime": info.to_json(), "preflight": {"ok": can_run.startswith("yes"), "message": can_run},
                          "oci_version": info.oci_version, "busybox": str(env.busybox), "schemas": str(env.schema_dir),
                          "host": host.facts(), "skips": skips.to_json()}, indent=2))
        return 0 if can_run.startswith("yes") else 2
    print(f"runtime:   {env.runtime}: {info.version or '(no --version output)'}")
    print(f"preflight: {can_run}")
    print(f"spec:      declares {info.spec_version or 'nothing'}; configs will say ociVersion {info.oci_version}")
    guessed = " (guessed from the name and --version; pass --profile to choose)" if info.profile.guessed else ""
    print(f"profile:   {info.profile.name}{guessed}: {info.profile.summary}")
    print(f"arguments: {' '.join(info.args) or '(none)'}")
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
                   "--profile", info.profile.name, "--skip-preflight", *(f"--runtime-arg={a}" for a in args.runtime_arg)]
    for option, value in (("--schema-dir", args.schema_dir), ("--busybox", args.busybox)):
        if value is not None:
            pytest_args += [option, str(value)]
    if getattr(args, "rootless", False):
        pytest_args.append("--rootless")
    collection = collect([str(suites)], pytest_args)
    return plan(collection, Evaluator(Context(info, collection.options)))


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 1 when NEW has a regression against OLD, 0 otherwise, 2 on unreadable input."""
    from .report import diff, reading

    try:
        old, new = reading.load(args.old), reading.load(args.new)
    except reading.BadReport as problem:
        return _usage_error(str(problem))
    result = diff.compare(old, new)
    print(diff.render_json(result) if args.json else diff.render_text(result))
    return 1 if result.regressions else 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from .report import matrix, reading

    try:
        reports = [reading.load(path) for path in args.reports]
    except reading.BadReport as problem:
        return _usage_error(str(problem))
    print(matrix.render_text(reports))
    if args.html:
        try:
            Path(args.html).write_text(matrix.render_html(reports))
        except OSError as exc:
            return _usage_error(f"cannot write {args.html}: {exc.strerror}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    import os

    parser.add_argument("--runtime", default=os.environ.get("OCITEST_RUNTIME"),
                        help="runtime binary: a path or a command on PATH (default: $OCITEST_RUNTIME)")
    parser.add_argument("--runtime-arg", action="append", default=[], metavar="ARG",
                        help="global runtime option, repeatable (write --runtime-arg=--flag)")
    parser.add_argument("--rootless", action="store_true",
                        help="run as an unprivileged user against the runtime's rootless mode")
    parser.add_argument("--profile", metavar="NAME",
                        help="how to talk to the runtime: a file of ocitest/profiles (default: guessed)")
    parser.add_argument("--schema-dir", metavar="DIR", help="runtime-spec JSON Schema folder")
    parser.add_argument("--busybox", metavar="PATH", help="static busybox for the rootfs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocitest", description="OCI runtime compliance harness")
    parser.add_argument("--version", action="version", version=f"ocitest {ocitest.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the compliance suites against a runtime; other arguments go to pytest")
    _common(run)
    run.add_argument("--json", metavar="FILE", help="write the JSON report here")
    run.add_argument("--html", metavar="FILE", help="write the HTML report (self-contained) here")
    run.add_argument("--junit", metavar="FILE", help="write JUnit XML here, with requirement properties per test")
    run.add_argument("--tap", metavar="FILE", help="write TAP 13 here: a line per requirement")
    run.add_argument("--keep-failed", metavar="DIR",
                     help="for each failed test, keep its bundle and a reproduce.sh of the exact runtime calls")
    run.add_argument("--strict", action="store_true", help="exit 1 on yellow too")
    run.add_argument("--suite", action="append", metavar="NAME",
                     help="run only this suite (runtime, config, ...); repeatable (default: all)")
    run.add_argument("--runtime-timeout", type=float, metavar="S", help="time limit of one runtime call")
    run.add_argument("--wait-timeout", type=float, metavar="S", help="time limit for a container's output or exit")
    run.add_argument("--test-timeout", type=float, metavar="S",
                     help="hard limit of each phase of one test (default: 10 x the larger timeout, at least 120)")
    req = sub.add_parser("requirements", help="list the requirement catalog")
    req.add_argument("--json", action="store_true", help="as JSON")
    doctor = sub.add_parser("doctor", help="check the host and the runtime before a run, and name what a run will skip")
    _common(doctor)
    doctor.add_argument("--json", action="store_true", help="as JSON")
    diff = sub.add_parser("diff", help="compare two JSON reports: regressions, fixes, new skips, new requirements")
    diff.add_argument("old", metavar="OLD.json")
    diff.add_argument("new", metavar="NEW.json")
    diff.add_argument("--json", action="store_true", help="as JSON")
    matrix = sub.add_parser("matrix", help="requirements x runtimes, from several JSON reports")
    matrix.add_argument("reports", nargs="+", metavar="REPORT.json")
    matrix.add_argument("--html", metavar="FILE", help="also write the matrix as a self-contained HTML file")
    return parser


def main(argv: list[str] | None = None) -> int:
    import signal

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
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

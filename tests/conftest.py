"""Shared helpers for the harness's own tests: run ocitest as a user would, read its report."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocitest.host import cgroup_layout, v2_controllers

from .live_run import LiveRun

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

    def levels(self) -> dict[str, str]:
        return {r["id"]: r["level"] for r in self.report["requirements"]}


def assert_red_on_exactly(run: Run, baseline: Run, expected: set[str], what: str, *, exact: bool = True) -> None:
    """A misbehaving runtime's run must turn ``expected`` red, and (``exact``) nothing else: every
    test that fails with it but passes in runc's run of the same selection belongs to ``expected``."""
    assert run.report is not None, run.output[-3000:]
    assert baseline.report is not None, baseline.output[-3000:]
    assert not run.errors(), f"harness errors: {run.errors()}"
    assert not baseline.errors(), f"harness errors with runc itself: {baseline.errors()}"
    outcomes = run.outcomes()
    not_red = {rid: outcomes.get(rid) for rid in expected if outcomes.get(rid) != "fail"}
    assert not not_red, f"{what} breaks these requirements but ocitest did not report them red: {not_red}"
    if any(run.levels().get(rid) == "MUST" for rid in expected):
        assert run.exit == 1, f"a red run must exit 1, got {run.exit}"
    if exact:
        known = baseline.failed_tests()
        newly_failing = {nodeid: reqs for nodeid, reqs in run.failed_tests().items() if nodeid not in known}
        blamed = set().union(*newly_failing.values()) if newly_failing else set()
        assert blamed == expected, (
            f"{what}: tests failing only with it blame {sorted(blamed)}, expected {sorted(expected)}: "
            f"{sorted(newly_failing)}"
        )


def assert_sound_shell(script: Path) -> None:
    """A generated shell script parses as POSIX sh and, where shellcheck is installed, has no warning."""
    checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    if shutil.which("shellcheck"):
        linted = subprocess.run(["shellcheck", "-s", "sh", "-S", "warning", str(script)],
                                capture_output=True, text=True, timeout=60)
        assert linted.returncode == 0, linted.stdout


def cannot_drive(runtime: str) -> str | None:
    """Why a test cannot drive ``runtime`` on this machine (None when it can): not root, no such binary,
    or crun on a hybrid cgroup host whose v2 hierarchy holds a controller, where crun 1.8.1 creates
    nothing ("cgroups in hybrid mode not supported"; docs/usage.md says how to move hugetlb to v1)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root")
    if shutil.which(runtime) is None:
        reasons.append(f"needs {runtime}")
    if os.path.basename(runtime) == "crun" and cgroup_layout() == "hybrid" and v2_controllers():
        reasons.append(f"crun refuses this hybrid cgroup host: its v2 hierarchy holds {sorted(v2_controllers())}")
    return ", ".join(reasons) or None


def needs_root_and(runtime: str):
    """Skip marker for tests that drive a real runtime."""
    reason = cannot_drive(runtime)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def run_ocitest(tmp_path: Path, *args: str, timeout: float = 1200, env: dict[str, str] | None = None,
                judge_all: bool = True) -> Run:
    """``ocitest run ARGS --json FILE`` in a subprocess to its end, as a user runs it (``env`` is added);
    ``judge_all``: at the newest release with the command-line document counted (live_run.JUDGE_ALL)."""
    run = LiveRun.start(tmp_path, *args, env=env, private_tmp=False, judge_all=judge_all)
    code = run.finish(timeout)
    return Run(code, run.output, run.report())


def _baselines(runtime: str, tmp_path_factory) -> Callable[..., Run]:
    """``baseline(*selection)``: ``runtime``'s own run of that selection, once per pytest process."""
    if cannot_drive(runtime):
        pytest.skip(cannot_drive(runtime))
    runs: dict[tuple[str, ...], Run] = {}

    def baseline(*selection: str) -> Run:
        if selection not in runs:
            runs[selection] = run_ocitest(tmp_path_factory.mktemp(runtime), "--runtime", runtime, *selection)
        return runs[selection]

    return baseline


@pytest.fixture(scope="session")
def runc_on(tmp_path_factory) -> Callable[..., Run]:
    """``runc_on(*selection)``: runc's own run of that selection, the baseline against which a
    misbehaving runtime's reds must be "exactly" its own. One run per selection and pytest process,
    however many tests and files ask for it."""
    return _baselines("runc", tmp_path_factory)


@pytest.fixture(scope="session")
def crun_on(tmp_path_factory) -> Callable[..., Run]:
    """``crun_on(*selection)``: the same with crun, for wrappers around crun (``OCITEST_REAL_RUNTIME=crun``)
    that break a requirement runc 1.1.5 already fails, so that only a runtime passing it shows the break."""
    return _baselines("crun", tmp_path_factory)


@pytest.fixture(scope="session")
def runc_run(runc_on) -> Run:
    """One full compliance run against runc, shared by the tests that read its report."""
    return runc_on()

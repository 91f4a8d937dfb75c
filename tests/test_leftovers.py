"""No leftovers: after a run with failures, and after a run interrupted by Ctrl-C (SIGINT to the process
group) or by `kill` (SIGTERM to the main process), with one process and with xdist workers, the host holds
no container, process, mount, cgroup, network namespace, link or temp file of the run (tests/leftovers.py).
The hanging-runtime case is in test_bounded_time.py.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import psutil
import pytest

from ocitest.rootfs import build_rootfs, find_busybox

from . import leftovers
from .conftest import BAD_RUNTIMES, needs_root_and
from .live_run import LiveRun


def progress(output: str) -> int:
    """Tests finished so far, from pytest's progress characters after the "N items" line."""
    tail = output.split(" items", 1)[1] if " items" in output else ""
    return len(re.findall(r"[.FsEx]", re.sub(r"\S+\.py", "", tail)))


def our_container_exists(run: LiveRun) -> bool:
    out = subprocess.run(["runc", "list", "--format", "json"], capture_output=True, text=True, timeout=30).stdout
    marks = [f"ocitest-{pid}-" for pid in run.pids]
    return any(any(c["id"].startswith(m) for m in marks) for c in json.loads(out or "[]") or [])


@needs_root_and("runc")
def test_a_run_with_failures_leaves_nothing(tmp_path):
    run = LiveRun.start(tmp_path, "--runtime", "runc", "--suite", "cli", "-n", "2")
    code = run.finish(600)
    report = run.report()
    assert code == 1 and report is not None and report["verdict"] == "red", run.output[-3000:]
    leftovers.assert_none("runc", run.pids, run.tmpdir, "a run with failures")


@needs_root_and("runc")
@pytest.mark.parametrize("workers", ["1", "2"], ids=["one-process", "xdist-2"])
@pytest.mark.parametrize("signum, group", [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_leaves_nothing(tmp_path, signum, group, workers):
    args = ["--runtime", "runc", "--suite", "runtime", "--suite", "config"]
    if workers != "1":
        args += ["-n", workers]
    run = LiveRun.start(tmp_path, *args)
    assert run.read_until(lambda out: progress(out) >= 6, 300), f"no progress: {run.output[-3000:]}"
    # Interrupt while one of its containers exists (a bounded busy wait: `runc list` costs milliseconds).
    live = any(our_container_exists(run) for _ in range(2000))
    run.signal(signum, group=group)
    code = run.finish(180)
    assert live, "no container of the run existed when it was interrupted: this case proved nothing"
    assert code == 2, f"an interrupted run exits 2, got {code}: {run.output[-3000:]}"
    report = run.report()
    assert report is not None and report["interrupted"] is True, run.output[-3000:]
    leftovers.assert_none("runc", run.pids, run.tmpdir, f"a run stopped by {signal.Signals(signum).name}")


@needs_root_and("runc")
def test_a_run_started_with_sigint_ignored_leaves_nothing_on_sigterm(tmp_path):
    """A background job of a non-interactive shell (a CI script's `ocitest run ... &`) starts with SIGINT
    ignored, and its xdist workers inherit that: the SIGINT the controller forwards on SIGTERM must still
    stop a worker in the middle of a runtime call, or it stays there until xdist kills it, container and
    all. The call here is a start that hangs (start_hangs_with_hooks), far longer than xdist waits."""
    run = LiveRun.start(tmp_path, "--runtime", str(BAD_RUNTIMES / "start_hangs_with_hooks"), "--suite", "config",
                        "-k", "hook", "--runtime-timeout", "120", "-n", "2", sigint_ignored=True)
    hanging = False
    for _ in range(1200):  # up to about 2 minutes for the first hook check to reach its start
        hanging = "sleep" in names(descendants(run.proc.pid))
        if hanging or run.proc.poll() is not None:
            break
        time.sleep(0.1)
    assert hanging, f"no start hung: this case proved nothing: {run.output[-3000:]}"
    run.signal(signal.SIGTERM, group=False)
    code = run.finish(180)
    assert code == 2, f"an interrupted run exits 2, got {code}: {run.output[-3000:]}"
    leftovers.assert_none("runc", run.pids, run.tmpdir, "a run started with SIGINT ignored, stopped by SIGTERM")


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def names(processes: list[psutil.Process]) -> set[str]:
    """The names of those still there (a process of the run may end between listing and asking)."""
    found = set()
    for process in processes:
        try:
            found.add(process.name())
        except psutil.NoSuchProcess:
            pass
    return found


@needs_root_and("runc")
def test_an_interrupted_runc_compat_run_leaves_nothing(tmp_path):
    """Ctrl-C among the pause and exec checks: paused containers and exec'd processes go too."""
    run = LiveRun.start(tmp_path, "--runtime", "runc", "--suite", "runc-compat", "-k", "pause or exec")
    assert run.read_until(lambda out: progress(out) >= 3, 300), f"no progress: {run.output[-3000:]}"
    live = any(our_container_exists(run) for _ in range(2000))
    run.signal(signal.SIGINT, group=True)
    code = run.finish(180)
    assert live, "no container of the run existed when it was interrupted: this case proved nothing"
    assert code == 2, f"an interrupted run exits 2, got {code}: {run.output[-3000:]}"
    leftovers.assert_none("runc", run.pids, run.tmpdir, "an interrupted runc-compat run")


@needs_root_and("runc")
def test_the_leftover_finder_sees_what_a_run_would_leave(tmp_path):
    """A check that cannot fail proves nothing: a container made by hand under a run's marks is found."""
    fake_pid = 999999  # above the default pid_max: no real process of a run has it
    tmpdir = tmp_path / "tmp"
    bundle = tmpdir / "bundle"
    bundle.mkdir(parents=True)
    build_rootfs(bundle / "rootfs", find_busybox())
    subprocess.run(["runc", "spec"], cwd=bundle, check=True, timeout=30)
    config = json.loads((bundle / "config.json").read_text())
    config["process"].update(terminal=False, args=["sleep", "600"])
    (bundle / "config.json").write_text(json.dumps(config))
    cid = f"ocitest-{fake_pid}-1"
    subprocess.run(["runc", "create", "--bundle", str(bundle), cid], check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        found = leftovers.find("runc", {fake_pid}, tmpdir)
        assert any(cid in c for c in found["containers known to the runtime"]), found
        assert found["processes"], found  # runc init, rooted in the bundle
        assert found["cgroups"], found
        assert found["temp files"], found
    finally:
        subprocess.run(["runc", "delete", "--force", cid], timeout=60, capture_output=True)
    after = leftovers.find("runc", {fake_pid}, tmpdir)
    assert not any(after[kind] for kind in ("containers known to the runtime", "processes", "cgroups")), after

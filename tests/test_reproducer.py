"""--keep-failed: each failed test leaves a folder whose reproduce.sh replays the failure by hand.

The proof is a replay: a misbehaving runtime (create without its --pid-file) fails the pid-file
check; that test's reproduce.sh, run with the same wrapper, must make the same calls with the same
exit codes and leave no pid file, while the same script with plain runc writes it; and it must
leave no container behind.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ocitest.bundle import Bundle
from ocitest.container import Container, LiveContainers, Timeouts
from ocitest.errors import Violation
from ocitest.events import Operation, Step, StepKind
from ocitest.reproducer import PathMap, keep, safe_name
from ocitest.runtime import Call, Runtime

from .conftest import BAD_RUNTIMES, Run, assert_sound_shell, needs_root_and, run_ocitest

WRAPPER = BAD_RUNTIMES / "create_skips_pid_file"
PID_FILE_TEST = "suites/cli/test_create.py::test_pid_file_holds_the_container_pid_when_create_returns"
#: The pid-file check fails with the wrapper, the kill --signal checks fail with runc itself, the
#: rest of test_create passes: failed and passed tests side by side, over two xdist workers.
SELECTION = ("--suite", "cli", "-k", "test_create or kill_takes", "-n", "2")


@pytest.fixture(scope="module")
def wrapper_run(tmp_path_factory) -> tuple[Run, Path]:
    if os.geteuid() != 0 or shutil.which("runc") is None:
        pytest.skip("needs root and runc")
    folder = tmp_path_factory.mktemp("keep-wrapper")
    keep_dir = folder / "kept"
    run = run_ocitest(folder, "--runtime", str(WRAPPER), *SELECTION, "--keep-failed", str(keep_dir))
    assert run.report is not None, run.output[-3000:]
    return run, keep_dir


def _replay(script: Path, runtime: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(script)], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "RUNTIME": runtime})


def _exits(output: str) -> list[int]:
    return [int(line.split()[-1]) for line in output.splitlines() if line.startswith("<== exit ")]


def _runc_ids() -> set[str]:
    out = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, timeout=60)
    return set(out.stdout.split())


@needs_root_and("runc")
def test_only_failed_tests_get_a_folder(wrapper_run):
    run, keep_dir = wrapper_run
    failed = {t["nodeid"] for t in run.report["tests"] if t["outcome"] == "fail"}
    passed = {t["nodeid"] for t in run.report["tests"] if t["outcome"] == "pass"}
    assert PID_FILE_TEST in failed and len(failed) >= 2 and passed, run.output[-3000:]
    assert {p.name for p in keep_dir.iterdir()} == {safe_name(n) for n in failed} | {"rootfs"}
    assert not any((keep_dir / safe_name(n)).exists() for n in passed)
    assert (keep_dir / "rootfs" / "bin" / "busybox").is_file()
    for nodeid in failed:
        folder = keep_dir / safe_name(nodeid)
        assert not (folder / "keep-problems.txt").exists(), (folder / "keep-problems.txt").read_text()
        script = folder / "reproduce.sh"
        assert script.stat().st_mode & stat.S_IXUSR
        text = script.read_text()
        assert text.startswith("#!/bin/sh\n") and "\nset -u\n" in text
        commands = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        assert not [c for c in commands if "/tmp/ocitest-" in c], "ocitest's temporary paths must become $HERE"
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        assert nodeid in (folder / "failure.txt").read_text()


@needs_root_and("runc")
def test_the_kept_bundle_points_into_its_own_folder(wrapper_run):
    run, keep_dir = wrapper_run
    folder = keep_dir / safe_name(PID_FILE_TEST)
    test = next(t for t in run.report["tests"] if t["nodeid"] == PID_FILE_TEST)
    original = test["containers"][0]["bundle"]
    bundle = folder / Path(original).name
    text = (bundle / "config.json").read_text()
    assert original not in text
    config = json.loads(text)
    sources = [m.get("source") for m in config["mounts"] if m.get("destination") == "/ocitest"]
    assert sources == [str(bundle / "exchange")]
    assert stat.S_IMODE((bundle / "exchange").stat().st_mode) == 0o777
    failure = (folder / "failure.txt").read_text()
    assert "cli.create-pid-file" in failure and "returned without writing the file" in failure
    assert json.loads((folder / "calls.json").read_text()) == test["calls"]


@needs_root_and("runc")
def test_reproduce_sh_replays_the_failure_and_cleans_up(wrapper_run):
    run, keep_dir = wrapper_run
    folder = keep_dir / safe_name(PID_FILE_TEST)
    test = next(t for t in run.report["tests"] if t["nodeid"] == PID_FILE_TEST)
    ids = {c["id"] for c in test["containers"]}
    pid_file = folder / Path(test["containers"][0]["bundle"]).name / "container.pid"
    recorded = [c["exit"] for c in test["calls"]]

    for attempt in (1, 2):  # the second run starts from the first one's leftovers
        replay = _replay(folder / "reproduce.sh", str(WRAPPER))
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert _exits(replay.stdout) == recorded, f"run {attempt}:\n{replay.stdout}\n{replay.stderr}"
        assert not pid_file.exists(), f"run {attempt}: the wrapper wrote the pid file in the replay"
        assert not ids & _runc_ids(), f"run {attempt} left containers: {ids & _runc_ids()}"

    # The same calls through runc itself write the file: the replay shows the wrapper's failure.
    replay = _replay(folder / "reproduce.sh", "runc")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert pid_file.is_file() and pid_file.read_text().strip().isdigit()
    assert not ids & _runc_ids()


@needs_root_and("runc")
def test_a_run_without_failures_keeps_nothing(tmp_path):
    keep_dir = tmp_path / "kept"
    run = run_ocitest(tmp_path, "--runtime", "runc", "--suite", "cli", "-k", "test_create", "--keep-failed",
                      str(keep_dir))
    assert run.report is not None and run.exit == 0, run.output[-3000:]
    assert {t["outcome"] for t in run.report["tests"]} == {"pass"}
    assert not keep_dir.exists() or not any(keep_dir.iterdir())


@needs_root_and("runc")
def test_shellcheck_finds_nothing_serious(wrapper_run):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    _, keep_dir = wrapper_run
    script = keep_dir / safe_name(PID_FILE_TEST) / "reproduce.sh"
    out = subprocess.run(["shellcheck", "-s", "sh", "-S", "warning", str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout


# -- the parts that need no runtime -----------------------------------------------------------------


def test_folder_names_are_short_safe_and_unique():
    long = "suites/config/test_mounts.py::test_" + "x" * 200 + "[a/b c]"
    names = {safe_name(long), safe_name(long + "1"), safe_name("suites/a/test_b.py::test_c[1]")}
    assert len(names) == 3
    for name in names:
        assert len(name) <= 70 and all(ch.isalnum() or ch in "._-" for ch in name)


def test_paths_are_replaced_as_whole_components():
    paths = PathMap({"/tmp/o/bundles/b1": "/kept/b1", "/tmp/o/bundles/b15": "/kept/b15"})
    assert paths.text("/tmp/o/bundles/b1/exchange /tmp/o/bundles/b15 /tmp/o/bundles/b1") == \
        "/kept/b1/exchange /kept/b15 /kept/b1"
    assert paths.text("/tmp/o/bundles/b1x") == "/tmp/o/bundles/b1x"
    shell = {"/tmp/o/bundles/b1": '"$HERE/b1"', "/tmp/o/bundles/b15": '"$HERE/b15"'}
    assert paths.shell_word("--pid-file=/tmp/o/bundles/b1/p id", shell) == "--pid-file=\"$HERE/b1\"'/p id'"
    assert paths.shell_word("", shell) == "''"


def test_keep_never_raises_and_says_what_went_wrong(tmp_path):
    class Broken:
        id = "x"

        @property
        def bundle(self):
            raise RuntimeError("no bundle here")

    with pytest.warns(UserWarning, match="no bundle here"):
        folder = keep(tmp_path / "kept", "suites/a/test_b.py::test_c", [Broken()], [], tmp_path / "no-rootfs")
    assert folder is not None
    assert "no bundle here" in (folder / "keep-problems.txt").read_text()


@needs_root_and("runc")
def test_the_script_rebuilds_the_tests_rootfs_from_the_shared_template(tmp_path):
    """What a test changed in its rootfs copy (added, changed, removed, re-owned) comes back on replay,
    from DIR/rootfs plus the bundle's rootfs.changes and rootfs.removed; no rootfs is kept per test."""

    template = tmp_path / "template"
    (template / "bin").mkdir(parents=True)
    (template / "etc").mkdir()
    (template / "bin" / "busybox").write_text("not really busybox\n")
    (template / "bin" / "sh").symlink_to("busybox")
    (template / "etc" / "passwd").write_text("root:x:0:0::/:/bin/sh\n")
    (template / "etc" / "gone").write_text("the test removes this\n")
    original = tmp_path / "session" / "bundles" / "b1"
    shutil.copytree(template, original / "rootfs", symlinks=True)
    rootfs = original / "rootfs"
    (rootfs / "etc" / "passwd").write_text("changed by the test\n")
    (rootfs / "etc" / "gone").unlink()
    (rootfs / "marker").write_text("added\n")
    os.chown(rootfs / "marker", 12345, 12345)
    (rootfs / "bin" / "sh").unlink()
    (rootfs / "bin" / "sh").symlink_to("/elsewhere")
    mirrored = rootfs / str(original).lstrip("/") / "hookbin"  # the host's bundle path, inside the rootfs
    mirrored.mkdir(parents=True)
    (mirrored / "hook").write_text("in the container\n")
    (original / "hookbin").mkdir()
    (original / "hookbin" / "hook").write_text(f"#!/bin/sh\necho host > {original}/exchange/ran\n")
    exchange = original / "exchange"
    exchange.mkdir()
    (exchange / "ran").write_text("host\n")
    config = {"root": {"path": "rootfs"}, "hooks": {"prestart": [{"path": f"{original}/hookbin/hook"}]},
              "mounts": [{"destination": "/ocitest", "type": "bind", "source": str(exchange), "options": ["rbind"]}]}
    (original / "config.json").write_text(json.dumps(config))
    container = Container(Runtime("runc"), Bundle(original, config, exchange, None), LiveContainers(), Timeouts(),
                          "ocitest-reproducer-unit")
    container.stdio.close()

    keep_dir = tmp_path / "kept"
    folder = keep(keep_dir, "suites/x/test_y.py::test_z", [container], [], template)
    assert folder is not None and not (folder / "keep-problems.txt").exists()
    kept = folder / "b1"
    assert not (kept / "rootfs").exists() and (keep_dir / "rootfs" / "etc" / "gone").is_file()
    kept_config = json.loads((kept / "config.json").read_text())
    assert kept_config["hooks"]["prestart"][0]["path"] == str(kept / "hookbin" / "hook")
    assert kept_config["mounts"][0]["source"] == str(kept / "exchange")
    assert (kept / "hookbin" / "hook").read_text() == f"#!/bin/sh\necho host > {kept}/exchange/ran\n"
    assert (kept / "exchange-ocitest-saw" / "ran").read_text() == "host\n" and not any((kept / "exchange").iterdir())

    replay = _replay(folder / "reproduce.sh", "runc")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    rebuilt = kept / "rootfs"
    assert (rebuilt / "etc" / "passwd").read_text() == "changed by the test\n"
    assert not (rebuilt / "etc" / "gone").exists()
    assert (rebuilt / "marker").read_text() == "added\n" and (rebuilt / "marker").stat().st_uid == 12345
    assert os.readlink(rebuilt / "bin" / "sh") == "/elsewhere"
    assert (rebuilt / "bin" / "busybox").read_text() == "not really busybox\n"
    assert (rebuilt / str(kept).lstrip("/") / "hookbin" / "hook").read_text() == "in the container\n"


def test_the_script_says_where_the_shell_cannot_act_as_ocitest(tmp_path):
    """A hung call is bounded as ocitest bounded it; a console socket, a create run in a folder of
    ocitest's choosing, and the harness's steps (start token, waits, stdin closed) each get their
    line, from the record alone; the result parses."""

    original = tmp_path / "bundles" / "b7"
    (original / "exchange").mkdir(parents=True)
    config = {"root": {"path": "rootfs"}}
    (original / "config.json").write_text(json.dumps(config))
    runtime = Runtime("/usr/bin/some-runtime", ["--root", "/run/x"])
    container = Container(runtime, Bundle(original, config, original / "exchange", None), LiveContainers(), Timeouts(),
                          "c1")
    container.stdio.close()
    rt = ["/usr/bin/some-runtime", "--root", "/run/x"]
    b = str(original)

    def create(cwd: str | None = None, console: str = "") -> Operation:
        return Operation("create", "c1", cwd=cwd, bundle=b, stdin="container", console=console)

    events = [
        Call([*rt, "create", "--bundle", b, "--console-socket", f"{b}/console.sock", "c1"], 0, "", "", 0.1,
             operation=create(console="path")),
        Call([*rt, "create", "--bundle", "b7", "c1"], 1, "", "exists\n", 0.01,
             operation=create(cwd=str(original.parent))),
        Call([*rt, "create", "c1"], 1, "", "exists\n", 0.01, operation=create(cwd=b)),
        Step(StepKind.START_TOKEN, "c1", b, f"{b}/exchange/start-invoked"),
        Call([*rt, "start", "c1"], 0, "", "", 0.01, operation=Operation("start", "c1")),
        Step(StepKind.WAIT_OUTPUT, "c1", b, "ocitest:ready"),
        Step(StepKind.CLOSE_STDIN, "c1", b),
        Step(StepKind.WAIT_EXIT, "c1", b),
        Call([*rt, "state", "c1"], 0, json.dumps({"id": "c1", "status": "stopped"}), "", 0.01,
             operation=Operation("state", "c1")),
        Call([*rt, "kill", "c1", "KILL"], None, "", "", 30.0, timed_out=True, operation=Operation("kill", "c1")),
    ]
    (tmp_path / "template").mkdir()
    folder = keep(tmp_path / "kept", "suites/x/test_y.py::test_z[1]", [container], events, tmp_path / "template")
    assert not (folder / "keep-problems.txt").exists()
    text = (folder / "reproduce.sh").read_text()
    assert "RUNTIME=${RUNTIME:-/usr/bin/some-runtime}" in text
    assert 'call --root /run/x create --bundle "$HERE/b7" --console-socket "$HERE/b7"/console.sock c1' in text
    assert "nothing listens here" in text.lower()
    assert 'cd "$HERE" || exit 2\ncall --root /run/x create --bundle b7 c1' in text
    assert 'cd "$HERE/b7" || exit 2\ncall --root /run/x create c1' in text
    assert ': >"$HERE/b7"/exchange/start-invoked' in text
    assert "wait_output b7 ocitest:ready" in text
    assert "release in1\nrelease in2\nrelease in3\nwait_stopped c1" in text
    assert "call_within 30 --root /run/x kill c1 KILL" in text
    assert "forget c1" in text and 'rm -rf "$HERE/$1/exchange"' in text
    assert [c["argv"][3] for c in json.loads((folder / "calls.json").read_text())] == \
        ["create", "create", "create", "start", "state", "kill"]
    assert_sound_shell(folder / "reproduce.sh")


def test_the_record_holds_each_call_as_meant_and_the_harness_steps_between(tmp_path):
    """What the reproducer replays is recorded when it happens: the operation and container of each
    call, and the start token, the closing of stdin and the waits, in the order they were taken."""

    original = tmp_path / "b1"
    (original / "exchange").mkdir(parents=True)
    runtime = Runtime(shutil.which("true") or "/bin/true")
    container = Container(runtime, Bundle(original, {}, original / "exchange", None), LiveContainers(), Timeouts(),
                          "c1")
    try:
        container.create(write_config=False)
        container.start()
        with pytest.raises(Violation):  # `true` leaves no container process to wait for
            container.finish()
    finally:
        container.stdio.close()
    seen = [(e.operation.name, e.operation.container) if isinstance(e, Call) else e.kind for e in runtime.events]
    assert seen == [("create", "c1"), ("state", "c1"), StepKind.START_TOKEN, ("start", "c1"), StepKind.CLOSE_STDIN,
                    StepKind.WAIT_EXIT]
    create = runtime.events[0].operation
    assert create.bundle == str(original) and create.stdin == "container" and create.cwd is None
    token = next(e for e in runtime.events if isinstance(e, Step))
    assert token.detail == str(original / "exchange" / "start-invoked") and token.bundle == str(original)
    assert [c.argv[1] for c in runtime.calls] == ["create", "state", "start"]

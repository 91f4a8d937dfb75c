"""create's caller can differ from the harness (Wiring.oom_score_adj, Wiring.personality): the runtime
process gets the values between fork and exec, and a reproducer replays the call as that caller."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from ocitest.bundle import Bundle
from ocitest.container import Container, LiveContainers, Timeouts
from ocitest.events import Operation
from ocitest.reproducer import keep
from ocitest.runtime import Call, Runtime, Wiring, run_command

from .conftest import assert_sound_shell


def own_oom_score_adj() -> int:
    return int(Path("/proc/self/oom_score_adj").read_text())


def test_the_called_process_has_the_wirings_oom_score_adj_and_the_harness_keeps_its_own():
    before = own_oom_score_adj()
    wanted = max(before, 0) + 111
    call = run_command(["cat", "/proc/self/oom_score_adj"], timeout=10, wiring=Wiring(oom_score_adj=wanted))
    assert call.stdout.strip() == str(wanted), call.describe()
    assert own_oom_score_adj() == before


@pytest.mark.skipif(platform.machine() != "x86_64", reason="LINUX32 reports i686 on x86_64 only")
def test_the_called_process_runs_in_the_wirings_execution_domain():
    assert run_command(["uname", "-m"], timeout=10, wiring=Wiring(personality="LINUX32")).stdout.strip() == "i686"
    assert run_command(["uname", "-m"], timeout=10).stdout.strip() == "x86_64"


def test_the_reproducer_replays_a_call_as_the_caller_ocitest_was(tmp_path):
    original = tmp_path / "bundles" / "b1"
    (original / "exchange").mkdir(parents=True)
    config = {"root": {"path": "rootfs"}}
    (original / "config.json").write_text(json.dumps(config))
    runtime = Runtime("/usr/bin/some-runtime")
    container = Container(runtime, Bundle(original, config, original / "exchange", None), LiveContainers(), Timeouts(),
                          "c1")
    container.stdio.close()
    b = str(original)
    events = [
        Call(["/usr/bin/some-runtime", "create", "--bundle", b, "c1"], 0, "", "", 0.1,
             operation=Operation("create", "c1", bundle=b, stdin="container", oom_score_adj=345,
                                 personality="LINUX32")),
        Call(["/usr/bin/some-runtime", "start", "c1"], 0, "", "", 0.01, operation=Operation("start", "c1")),
    ]
    (tmp_path / "template").mkdir()
    folder = keep(tmp_path / "kept", "suites/x/test_y.py::test_z", [container], events, tmp_path / "template")
    text = (folder / "reproduce.sh").read_text()
    create = text.index('call create --bundle "$HERE/b1" c1')
    assert text.rindex("AS_CALLER='choom -n 345 -- setarch linux32'", 0, create) >= 0
    assert text.index('AS_CALLER=""', create) < text.index("call start c1")
    assert '$AS_CALLER "$RUNTIME" "$@"' in text
    assert_sound_shell(folder / "reproduce.sh")

"""Preconditions (ocitest/conditions.py): their reasons, the marker's checks, the order of evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from types import SimpleNamespace

import pytest

from ocitest.conditions import CONDITIONS, Context, Evaluator, Need, needs
from ocitest.profile import load_profile
from ocitest.runtime import RuntimeInfo

from .conftest import ROOT


def info(features: dict | None = None, profile: str = "runc") -> RuntimeInfo:
    """A runtime's self-description as inspect_runtime would give it, without a runtime."""
    return RuntimeInfo(path="/usr/bin/fake", args=[], version="fake 1.0", spec_version="1.2.0",
                       features=features, profile=load_profile(profile),
                       features_problem="" if features is not None else "no `features` command")


def reason(name: str, *params, runtime: RuntimeInfo | None = None, options=None) -> str | None:
    return Evaluator(Context(runtime or info({}), options)).reason(Need(name, params))


def test_a_sandboxed_profile_hides_the_program_from_host_side_views():
    sandboxed = info({}, profile="runsc")
    assert sandboxed.profile.sandboxed, "the runsc profile is expected to be a sandbox"
    what = "the program's namespaces, compared with the host's,"
    assert reason("program_visible_from_host", what, runtime=sandboxed) == (
        "the program's namespaces, compared with the host's, can only be read from the host, through /proc of "
        "the state pid, which for runsc is its sandbox process, not the program")
    assert reason("program_visible_from_host", what, runtime=info({}, profile="runc")) is None
    as_process = replace(sandboxed, profile=replace(sandboxed.profile, container_process="process"))
    assert reason("program_visible_from_host", what, runtime=as_process) is None


def test_privileged_is_unmet_only_in_a_rootless_run():
    rootless = SimpleNamespace(ocitest_rootless=True)
    assert reason("privileged", "set cgroup limits", options=rootless) == "a rootless run cannot set cgroup limits"
    assert reason("privileged", "set cgroup limits", options=SimpleNamespace(ocitest_rootless=False)) is None
    assert reason("privileged", "set cgroup limits", options=SimpleNamespace()) is None  # no such option yet
    assert reason("privileged", "set cgroup limits") is None


def test_the_runtime_timeout_option_is_read_from_the_run():
    assert reason("runtime_timeout_at_least", 16, "1 s hook timeout",
                  options=SimpleNamespace(runtime_timeout=10.0)) == \
        "--runtime-timeout 10 s leaves no room to tell a 1 s hook timeout"
    assert reason("runtime_timeout_at_least", 16, "1 s hook timeout",
                  options=SimpleNamespace(runtime_timeout=30.0)) is None


def test_a_host_tool_names_its_package_and_purpose():
    assert reason("host_tool", "ocitest-no-such-tool", "nopkg", "to make a namespace to join") == \
        "needs `ocitest-no-such-tool` (nopkg) on the host to make a namespace to join"
    assert reason("host_tool", "sh", "dash") is None


def test_a_machine_without_data_is_named():
    assert reason("machine_in", "architecture list", "ocitest-cpu").startswith("no architecture list known for a ")


def test_each_condition_is_evaluated_once_per_context():
    calls = []
    CONDITIONS["ocitest_test_counter"] = replace(CONDITIONS["numa"], name="ocitest_test_counter",
                                                 check=lambda ctx: calls.append(1) or "counted")
    try:
        evaluator = Evaluator(Context(info({})))
        first = evaluator.first_unmet([Need("numa"), Need("ocitest_test_counter")] * 3)
        evaluator.first_unmet([Need("ocitest_test_counter")])
    finally:
        del CONDITIONS["ocitest_test_counter"]
    assert first is not None and first.need == Need("ocitest_test_counter") and first.reason == "counted"
    assert calls == [1]


@pytest.mark.parametrize("name, params, words", [
    ("no_such_condition", (), "no such condition"),
    ("machine_in", (), "missing a required argument"),
    ("features_command", ("a",), "too many positional arguments"),
    ("machine_in", ("list", ["x86_64"]), "hashable"),
])
def test_a_wrong_marker_fails_when_the_suite_is_imported(name, params, words):
    with pytest.raises(ValueError, match=words):
        needs(name, *params)


def test_conditions_are_checked_in_reading_order_and_inline_skips_are_found(tmp_path):
    suite = tmp_path / "test_order.py"
    suite.write_text(textwrap.dedent('''
        import pytest
        from ocitest import needs, requirement

        pytestmark = needs("numa")

        def helper():
            pytest.skip("decided while the check runs")

        @requirement("runtime.state-schema")
        @needs("selinux")
        @needs("apparmor")
        @pytest.mark.parametrize("x", [pytest.param(1, marks=[needs("huge_pages"), needs("whole_disk")])])
        def test_ordered(x):
            helper()

        def test_plain():
            pass
    '''))
    script = ("import json, sys; from ocitest.skipplan import collect; "
              "c = collect([sys.argv[1]], ['-p', 'ocitest.plugin']);"
              "print(json.dumps({t.nodeid.split('::')[1]: "
              "[[str(n) for n in t.needs], t.requirements, t.may_skip_inline]"
              " for t in c.tests} | {'problems': c.problems}))")
    out = subprocess.run([sys.executable, "-c", script, str(suite)], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["problems"] == []
    assert found["test_ordered[1]"] == [["numa()", "selinux()", "apparmor()", "huge_pages()", "whole_disk()"],
                                        ["runtime.state-schema"], True]
    assert found["test_plain"] == [["numa()"], [], False]

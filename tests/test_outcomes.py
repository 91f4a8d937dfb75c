"""How the phases of one test (setup, call, teardown) become its outcome in the report."""

import subprocess
import sys

import pytest

from ocitest.collector import TestRecord
from ocitest.verdict import VIOLATION_PREFIX as _VIOLATION_PREFIX
from ocitest.verdict import Phase


def record(**phases) -> TestRecord:
    rec = TestRecord("suites/x.py::t", ["runtime.state-id"])
    for when, outcome in phases.items():
        rec.phases[when] = Phase(outcome, f"{when} said so", 0.1)
    return rec


def test_a_passing_test_passes():
    assert record(setup="passed", call="passed", teardown="passed").result().outcome == "pass"


def test_an_assertion_in_the_test_is_a_failure_of_the_runtime():
    result = record(setup="passed", call="failed", teardown="passed").result()
    assert (result.outcome, result.message) == ("fail", "call said so")


def test_an_unexpected_exception_is_a_harness_error_not_a_failure():
    rec = record(setup="passed", call="failed", teardown="passed")
    rec.harness_error = "KeyError: 'pid'"
    assert (rec.result().outcome, rec.result().message) == ("error", "KeyError: 'pid'")


def test_a_cleanup_problem_turns_a_pass_into_an_error():
    result = record(setup="passed", call="passed", teardown="failed").result()
    assert result.outcome == "error" and result.message.startswith("teardown:")


def test_a_test_cut_short_never_counts_as_a_pass():
    assert record(setup="passed").result().outcome == "skip"


def test_setup_skips_and_errors():
    assert record(setup="skipped").result().outcome == "skip"
    assert record(setup="failed", teardown="passed").result().outcome == "error"


def test_exception_names_are_dropped_from_messages():
    assert _VIOLATION_PREFIX.sub("", "ocitest.errors.Violation: create failed") == "create failed"
    assert _VIOLATION_PREFIX.sub("", "AssertionError: x") == "x"
    assert _VIOLATION_PREFIX.sub("", "KeyError: 'pid'") == "KeyError: 'pid'"


@pytest.mark.parametrize("workers, where", [([], "controller"), (["-n", "2"], "worker")])
def test_outcomes_are_collected_on_the_controller_only(tmp_path, workers, where):
    """The collector is one object on the controller's plugin manager; xdist workers only send reports."""
    (tmp_path / "test_where.py").write_text(
        "def test_where(request):\n"
        "    collector = request.config.pluginmanager.get_plugin('ocitest-collector')\n"
        f"    assert (collector is not None) == ({where!r} == 'controller')\n")
    out = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "ocitest.plugin",
                          "-p", "no:cacheprovider", *workers], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

"""Optional fields are judged whatever `features` says, and a runtime's refusal is told from its silence.

- tests/bad_runtimes/drops_field deletes one field from config.json before create: the runtime then
  silently ignores it, which turns the field's requirement red. The field must be one the real runtime
  applies (its own run passes the check): runc 1.1.5 applies none of scheduler, ioPriority, memoryPolicy,
  domainname, cpu burst/idle or time offsets (its own run is red on them), so with it these cases are
  skipped; set $OCITEST_REAL_RUNTIME (and $OCITEST_REAL_RUNTIME_ARGS, e.g. a private --root) to a newer
  runtime to run them.
- tests/bad_runtimes/caps_refuses_ungrantable fails create for a capability it does not hold: red on
  config.capabilities-ungrantable (a SHOULD NOT fail).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from ocitest.host import ungrantable_capabilities

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

REAL = os.environ.get("OCITEST_REAL_RUNTIME", "runc")
REAL_ARGS = [f"--runtime-arg={arg}" for arg in shlex.split(os.environ.get("OCITEST_REAL_RUNTIME_ARGS", ""))]

#: field dropped -> (suite, -k selection, the requirement that must turn red: exactly this one)
DROPPED = {
    "process.scheduler": ("config", "scheduler", "config.scheduler"),
    "process.ioPriority": ("config", "io_priority", "config.io-priority"),
    "linux.memoryPolicy": ("linux", "memory_policy", "linux.memory-policy"),
    "domainname": ("config", "domainname", "config.domainname"),
    "linux.timeOffsets": ("linux", "time_offsets", "linux.time-offsets"),
}


def made(path: Path) -> Path:
    path.mkdir()
    return path


def real_run(tmp_path: Path, suite: str, selection: str):
    return run_ocitest(made(tmp_path / "real"), "--runtime", REAL, *REAL_ARGS, "--suite", suite, "-k", selection,
                       env={"OCITEST_REAL_RUNTIME": REAL})


@needs_root_and(REAL)
@pytest.mark.parametrize("field", sorted(DROPPED))
def test_a_silently_ignored_optional_field_is_red(field: str, tmp_path: Path):
    suite, selection, expected = DROPPED[field]
    baseline = real_run(tmp_path, suite, selection)
    assert baseline.report is not None, baseline.output[-3000:]
    if baseline.outcomes().get(expected) != "pass":
        pytest.skip(f"{REAL} itself does not pass {expected} ({baseline.outcomes().get(expected)}), so dropping "
                    f"{field} shows nothing; set OCITEST_REAL_RUNTIME to a runtime that applies it")
    run = run_ocitest(made(tmp_path / "bad"), "--runtime", str(BAD_RUNTIMES / "drops_field"), *REAL_ARGS,
                      "--suite", suite, "-k", selection,
                      env={"OCITEST_DROP_FIELD": field, "OCITEST_REAL_RUNTIME": REAL})
    assert_red_on_exactly(run, baseline, {expected}, f"dropping {field}")


@needs_root_and("runc")
@pytest.mark.skipif(not ungrantable_capabilities(), reason="the harness holds every capability: none is ungrantable")
def test_failing_create_for_an_ungrantable_capability_is_red(runc_on, tmp_path: Path):
    selection = ("--suite", "config", "-k", "capabilit")
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "caps_refuses_ungrantable"), *selection)
    assert_red_on_exactly(run, runc_on(*selection), {"config.capabilities-ungrantable"},
                          "failing create for a capability the runtime does not hold")


#: field refused -> (suite, -k selection, the requirement whose check must be skipped, not failed)
REFUSED = {
    "process.scheduler": ("config", "scheduler", "config.scheduler"),
    "linux.memoryPolicy": ("linux", "memory_policy", "linux.memory-policy"),
    "domainname": ("config", "domainname", "config.domainname"),
}


@needs_root_and(REAL)
@pytest.mark.parametrize("field", sorted(REFUSED))
def test_refusing_an_optional_field_with_an_error_is_a_skip_not_a_red(field: str, tmp_path: Path):
    suite, selection, requirement = REFUSED[field]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "refuses_field"), *REAL_ARGS, "--suite", suite,
                      "-k", selection, env={"OCITEST_REFUSE_FIELD": field, "OCITEST_REAL_RUNTIME": REAL})
    assert run.report is not None, run.output[-3000:]
    assert not run.errors(), f"harness errors: {run.errors()}"
    entry = next(r for r in run.report["requirements"] if r["id"] == requirement)
    assert entry["outcome"] == "skip", f"refusing {field} with an error gave {requirement} {entry['outcome']}"
    assert "refuses" in entry["message"] and "runtimeCreate" in entry["message"], entry["message"]

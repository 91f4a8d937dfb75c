"""A runtime that silently ignores one cgroup resource is red on that resource's requirements, and
on nothing else that runc passes (tests/bad_runtimes/cgroups_drops_resource, $OCITEST_CGROUP_DROP)."""

import pytest

from .conftest import BAD_RUNTIMES, needs_root_and, run_ocitest

SELECTION = "test_cgroups"

#: dropped linux.resources key -> the requirements that must turn red: exactly these
CASES = {
    "pids": {"linux.cgroup-pids-limit"},
    "memory": {"linux.cgroup-memory-limit", "linux.cgroup-memory-reservation", "linux.cgroup-memory-swap",
               "linux.cgroup-memory-swappiness", "linux.cgroup-memory-oom-killer"},
    # a runtime that never looks at `unified` cannot notice it names a controller that is not there
    "unified": {"linux.cgroup-unified-missing-controller-error"},
}


@pytest.fixture(scope="module")
def runc_baseline(tmp_path_factory):
    return run_ocitest(tmp_path_factory.mktemp("runc-cgroups"), "--runtime", "runc", "--suite", "linux", "-k", SELECTION)


@needs_root_and("runc")
@pytest.mark.parametrize("drop", sorted(CASES))
def test_an_ignored_cgroup_resource_is_red_on_its_requirement(drop, runc_baseline, tmp_path):
    expected = CASES[drop]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "cgroups_drops_resource"), "--suite", "linux",
                      "-k", SELECTION, "--wait-timeout", "10", env={"OCITEST_CGROUP_DROP": drop})
    assert run.report is not None, run.output[-3000:]
    assert not run.errors(), f"harness errors: {run.errors()}"
    assert runc_baseline.report is not None and not runc_baseline.errors(), runc_baseline.output[-3000:]
    outcomes = run.outcomes()
    not_red = {rid: outcomes.get(rid) for rid in expected if outcomes.get(rid) != "fail"}
    assert not not_red, f"ignoring resources.{drop} breaks these requirements but they are not red: {not_red}"
    baseline = runc_baseline.failed_tests()
    newly_failing = {nodeid: reqs for nodeid, reqs in run.failed_tests().items() if nodeid not in baseline}
    blamed = set().union(*newly_failing.values()) if newly_failing else set()
    assert blamed == expected, f"ignoring resources.{drop}: newly failing tests blame {sorted(blamed)}: {sorted(newly_failing)}"

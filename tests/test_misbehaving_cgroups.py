"""A runtime that silently ignores one cgroup resource is red on that resource's requirements, and
on nothing else that runc passes (tests/bad_runtimes/cgroups_drops_resource, $OCITEST_CGROUP_DROP)."""

import pytest

from ocitest.host import cgroup_layout

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

SELECTION = "test_cgroups"

#: dropped linux.resources key -> the requirements that must turn red: exactly these
CASES = {
    "pids": {"linux.cgroup-pids-limit"},
    "memory": {"linux.cgroup-memory-limit", "linux.cgroup-memory-reservation", "linux.cgroup-memory-swap",
               "linux.cgroup-memory-swappiness", "linux.cgroup-memory-oom-killer"},
    # a runtime that never looks at `unified` cannot notice it names a controller that is not there;
    # on a cgroup v2 host (scripts/vm) the values it drops are missing from the container's cgroup too
    "unified": {"linux.cgroup-unified-missing-controller-error"} | (
        {"linux.cgroup-unified-controllers", "linux.cgroup-unified-written"} if cgroup_layout() == "v2" else set()),
}


@needs_root_and("runc")
@pytest.mark.parametrize("drop", sorted(CASES))
def test_an_ignored_cgroup_resource_is_red_on_its_requirement(drop, runc_on, tmp_path):
    expected = CASES[drop]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "cgroups_drops_resource"), "--suite", "linux",
                      "-k", SELECTION, "--wait-timeout", "10", env={"OCITEST_CGROUP_DROP": drop})
    assert_red_on_exactly(run, runc_on("--suite", "linux", "-k", SELECTION), expected, f"ignoring resources.{drop}")


#: dropped field -> the requirements that must turn red, with crun underneath (runc 1.1.5 itself ignores it)
CRUN_CASES = {
    "memory.kernelTCP": {"linux.cgroup-memory-kernel-tcp"},
}


@needs_root_and("crun")
@pytest.mark.parametrize("drop", sorted(CRUN_CASES))
def test_an_ignored_cgroup_field_crun_applies_is_red_on_its_requirement(drop, crun_on, tmp_path):
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "cgroups_drops_resource"), "--suite", "linux",
                      "-k", SELECTION, "--wait-timeout", "10",
                      env={"OCITEST_CGROUP_DROP": drop, "OCITEST_REAL_RUNTIME": "crun"})
    assert_red_on_exactly(run, crun_on("--suite", "linux", "-k", SELECTION), CRUN_CASES[drop],
                          f"ignoring resources.{drop} (around crun)")

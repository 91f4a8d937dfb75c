"""A runtime that drops a namespace or the configured devices is red on exactly the matching
config-linux.md requirements, compared with runc on the same selection of the linux suite
(tests/bad_runtimes/ns_drops_cgroup, tests/bad_runtimes/devices_drops_entries)."""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: wrapper -> (-k selection in the linux suite, the requirements that must turn red: exactly these)
CASES = {
    # a cgroup entry without path disappears: the container stays in the caller's cgroup namespace
    # (cgroup, because without their own ipc, pid or network namespace user-namespaced containers
    # cannot mount mqueue, proc or sysfs at all)
    "ns_drops_cgroup": ("test_namespaces", {"linux.namespace-new"}),
    # every linux.devices entry disappears; the default devices stay
    "devices_drops_entries": ("test_devices", {"linux.devices-available", "linux.device-file-mode",
                                               "linux.device-owner", "linux.device-path-anywhere"}),
}

#: runc's baseline: the union of the cases' selections (one run for all of them).
BASELINE = " or ".join(sorted({k for k, _ in CASES.values()}))


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_a_dropped_namespace_or_device_is_red_on_its_requirement(wrapper, runc_on, tmp_path):
    selection, expected = CASES[wrapper]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "linux", "-k", selection,
                      "--wait-timeout", "10")
    assert_red_on_exactly(run, runc_on("--suite", "linux", "-k", BASELINE), expected, wrapper)

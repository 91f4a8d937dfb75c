"""A runtime that drops one config-linux.md security field is red on that field's requirements, and on
nothing else that runc passes (tests/bad_runtimes/linux_drops_*)."""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: wrapper -> (-k selection inside the linux suite, the requirements that must turn red: exactly these)
CASES = {
    "linux_drops_masked_paths": ("test_paths_propagation", {"linux.masked-paths"}),
    "linux_drops_sysctl": ("test_sysctl_seccomp", {"linux.sysctl"}),
    # without a profile nothing is denied and nothing is sent to a seccomp agent; the errno-on-a-
    # wrong-action checks are already red on runc 1.1.5, so they are not newly failing
    "linux_drops_seccomp": ("test_sysctl_seccomp", {
        "linux.seccomp-errno", "linux.seccomp-default-action", "linux.seccomp-kill",
        "linux.seccomp-architectures", "linux.seccomp-listener-state", "linux.seccomp-listener-error",
    }),
}

#: runc's baseline: the union of the cases' selections (one run for all of them).
BASELINE = " or ".join(sorted({k for k, _ in CASES.values()}))


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_a_dropped_linux_field_is_red_on_its_requirements(wrapper, runc_on, tmp_path):
    selection, expected = CASES[wrapper]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "linux", "-k", selection,
                      "--wait-timeout", "10")
    assert_red_on_exactly(run, runc_on("--suite", "linux", "-k", BASELINE), expected, wrapper)

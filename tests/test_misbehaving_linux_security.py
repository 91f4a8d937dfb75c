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


#: $OCITEST_SECCOMP of tests/bad_runtimes/seccomp_mangles -> the requirements that must turn red: exactly these
SECCOMP_CASES = {
    # seen only through a 32-bit x86 system call: native calls meet the rules either way
    "arches": {"linux.seccomp-architectures"},
    # every other check loads its profile with noNewPrivileges true
    "with-nnp": {"linux.seccomp-errno"},
}


@needs_root_and("runc")
@pytest.mark.parametrize("mangle", sorted(SECCOMP_CASES))
def test_a_mangled_seccomp_profile_is_red_on_its_requirement(mangle, runc_on, tmp_path):
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "seccomp_mangles"), "--suite", "linux", "-k",
                      "test_sysctl_seccomp", "--wait-timeout", "10", env={"OCITEST_SECCOMP": mangle})
    assert_red_on_exactly(run, runc_on("--suite", "linux", "-k", BASELINE), SECCOMP_CASES[mangle],
                          f"seccomp_mangles {mangle}")


#: wrappers around crun (runc 1.1.5 applies no personality at all) -> (selection, the requirements turning red)
CRUN_CASES = {
    # LINUX taken for "nothing to do": seen only because create's caller runs in LINUX32 for that case
    "linux_skips_default_personality": ("test_linux_misc", {"linux.personality"}),
}
CRUN_BASELINE = " or ".join(sorted({k for k, _ in CRUN_CASES.values()}))


@needs_root_and("crun")
@pytest.mark.parametrize("wrapper", sorted(CRUN_CASES))
def test_a_linux_field_crun_applies_and_the_wrapper_skips_is_red(wrapper, crun_on, tmp_path):
    selection, expected = CRUN_CASES[wrapper]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "linux", "-k", selection,
                      "--wait-timeout", "10", env={"OCITEST_REAL_RUNTIME": "crun"})
    assert_red_on_exactly(run, crun_on("--suite", "linux", "-k", CRUN_BASELINE), expected, f"{wrapper} (around crun)")

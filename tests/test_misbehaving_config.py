"""A runtime that ignores or mangles one config.md field is red on that field's requirement, and on
nothing else that runc passes (tests/bad_runtimes/mangles_config, selected by $OCITEST_MANGLE)."""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: mangle -> (-k selection of suite modules, the requirements that must turn red: exactly these)
CASES = {
    "env": ("test_process", {"config.process-env"}),
    "cwd": ("test_process", {"config.process-cwd"}),
    "readonly": ("test_process", {"config.root-readonly"}),
    # ignoring rlimits altogether also swallows the invalid entries (duplicated ones runc 1.1.5 accepts too)
    "rlimits": ("test_rlimits", {"config.rlimit-applied", "config.rlimit-type-error"}),
    "gid": ("test_user", {"config.user-ids"}),
    "caps": ("test_capabilities", {"config.capabilities-sets"}),
    "oom": ("test_linux_process", {"config.oom-score-adj-set"}),
    # the two cases a caller with oom_score_adj 0 could not tell from a runtime doing nothing
    "oom-zero": ("test_linux_process", {"config.oom-score-adj-set"}),
    "oom-reset": ("test_linux_process", {"config.oom-score-adj-unset"}),
    "user": ("test_user", {"config.user-ids"}),
    "nnp": ("test_linux_process or test_capabilities", {"config.no-new-privileges", "config.capabilities-sets"}),
    "hostname": ("test_hostname_annotations", {"config.hostname"}),
}

#: runc's baseline: the union of the cases' selections (one run for all of them).
BASELINE = " or ".join(sorted({k for k, _ in CASES.values()}))


@needs_root_and("runc")
@pytest.mark.parametrize("mangle", sorted(CASES))
def test_a_mangled_config_field_is_red_on_its_requirement(mangle, runc_on, tmp_path):
    selection, expected = CASES[mangle]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "mangles_config"), "-k", selection,
                      "--wait-timeout", "10", env={"OCITEST_MANGLE": mangle})
    assert_red_on_exactly(run, runc_on("-k", BASELINE), expected, f"mangling {mangle}")

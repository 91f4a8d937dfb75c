"""The mount-option checks can fail: a runtime that drops one option from every mount must turn
exactly that option's requirement red (compared with runc on the same selection of tests)."""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

SELECTION = ("-k", "test_mounts")


@needs_root_and("runc")
@pytest.mark.parametrize("option", ["nosuid", "noexec"])
def test_a_runtime_dropping_one_mount_option_is_red_on_exactly_that_option(option, runc_on, tmp_path, monkeypatch):
    monkeypatch.setenv("OCITEST_DROP_OPTION", option)
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "drops_mount_options"), "--wait-timeout", "5",
                      *SELECTION)
    assert_red_on_exactly(run, runc_on(*SELECTION), {f"config.mount-option-{option}"},
                          f"dropping `{option}` from every mount")

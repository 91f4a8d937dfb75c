"""The mount-option checks can fail: a runtime that drops one option from every mount must turn
exactly that option's requirement red (compared with runc on the same selection of tests)."""

import pytest

from .conftest import BAD_RUNTIMES, needs_root_and, run_ocitest

SELECTION = ("-k", "test_mounts")


@pytest.fixture(scope="module")
def runc_mounts_run(tmp_path_factory):
    return run_ocitest(tmp_path_factory.mktemp("runc-mounts"), "--runtime", "runc", *SELECTION)


@needs_root_and("runc")
@pytest.mark.parametrize("option", ["nosuid", "noexec"])
def test_a_runtime_dropping_one_mount_option_is_red_on_exactly_that_option(option, runc_mounts_run, tmp_path, monkeypatch):
    monkeypatch.setenv("OCITEST_DROP_OPTION", option)
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "drops_mount_options"), "--wait-timeout", "5", *SELECTION)
    assert run.report is not None, run.output[-3000:]
    assert runc_mounts_run.report is not None, runc_mounts_run.output[-3000:]
    assert run.exit == 1, f"a red run must exit 1, got {run.exit}"
    assert not run.errors(), f"harness errors: {run.errors()}"
    assert not runc_mounts_run.errors(), f"harness errors with runc: {runc_mounts_run.errors()}"
    expected = {f"config.mount-option-{option}"}
    outcomes = run.outcomes()
    assert outcomes[f"config.mount-option-{option}"] == "fail", (
        f"dropping `{option}` from every mount did not turn its requirement red: {outcomes[f'config.mount-option-{option}']}")
    baseline = runc_mounts_run.failed_tests()
    newly_failing = {nodeid: reqs for nodeid, reqs in run.failed_tests().items() if nodeid not in baseline}
    blamed = set().union(*newly_failing.values()) if newly_failing else set()
    assert blamed == expected, (
        f"dropping `{option}`: tests failing only with the wrapper blame {sorted(blamed)}, expected {sorted(expected)}: "
        f"{sorted(newly_failing)}")

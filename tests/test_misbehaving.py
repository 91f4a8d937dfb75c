"""A check that cannot fail is a defect: each misbehaving runtime (tests/bad_runtimes/, a wrapper
around runc that breaks one thing) must turn exactly the matching requirements red.

"Exactly" is measured against runc itself: the tests that fail with the wrapper but pass with
runc must all belong to the expected requirements, and each expected requirement must be red.
"""

import pytest

from .conftest import BAD_RUNTIMES, needs_root_and, run_ocitest

#: wrapper -> the requirements its misbehaviour breaks (exact), or (requirements, False) when the
#: misbehaviour necessarily breaks more and only these must be among the reds.
CASES = {
    "state_bundle_relative": {"runtime.state-bundle"},
    "state_annotations_altered": {"runtime.state-annotations"},
    "start_running_succeeds": {"runtime.start-only-created"},
    "start_unknown_succeeds": {"runtime.start-only-created"},
    "kill_ignores_signals": {"runtime.kill-sends-signal", "runtime.scope-operations", "runtime.operations-supported"},
    "delete_forces": {"runtime.delete-only-stopped"},
    "delete_keeps_cgroup": {"runtime.delete-removes-resources", "runtime.lifecycle-destroy"},
    "create_replaces_duplicate": {"runtime.create-unique-id"},
    "drops_prestart_hooks": {"runtime.hook-prestart-invoked", "runtime.hook-prestart-failure"},
    "create_starts_program": ({"runtime.lifecycle-program-not-run-at-create", "runtime.create-defers-process-args"}, False),
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_misbehaving_runtime_is_red_on_exactly_its_requirement(wrapper, runc_run, tmp_path):
    expected = CASES[wrapper]
    exact = True
    if isinstance(expected, tuple):
        expected, exact = expected
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "runtime", "--wait-timeout", "5")
    assert run.report is not None, run.output[-3000:]
    assert run.exit == 1, f"a red run must exit 1, got {run.exit}"
    assert not run.errors(), f"harness errors: {run.errors()}"
    outcomes = run.outcomes()
    not_red = {rid: outcomes[rid] for rid in expected if outcomes[rid] != "fail"}
    assert not not_red, f"{wrapper} breaks these requirements but ocitest did not report them red: {not_red}"
    if exact:
        baseline = runc_run.failed_tests()
        newly_failing = {nodeid: reqs for nodeid, reqs in run.failed_tests().items() if nodeid not in baseline}
        blamed = set().union(*newly_failing.values()) if newly_failing else set()
        assert blamed == expected, (
            f"{wrapper}: tests failing only with the wrapper blame {sorted(blamed)}, expected {sorted(expected)}: "
            f"{sorted(newly_failing)}"
        )

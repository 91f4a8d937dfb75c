"""A check that cannot fail is a defect: each misbehaving runtime (tests/bad_runtimes/, a wrapper
around runc that breaks one thing) must turn exactly the matching requirements red.

"Exactly" is measured against runc itself: the tests that fail with the wrapper but pass with
runc must all belong to the expected requirements, and each expected requirement must be red.
"""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: wrapper -> the requirements its misbehaviour breaks (exact), or (requirements, False) when the
#: misbehaviour necessarily breaks more and only these must be among the reds.
CASES = {
    "state_bundle_relative": {"runtime.state-bundle"},
    "state_annotations_altered": {"runtime.state-annotations"},
    "start_running_succeeds": {"runtime.start-only-created"},
    "start_unknown_succeeds": {"runtime.start-only-created"},
    # The preflight's kill TERM fails: the checks that send TERM are not judged, so only kill's own requirement is red.
    "kill_ignores_signals": {"runtime.kill-sends-signal"},
    "delete_forces": {"runtime.delete-only-stopped"},
    "warning_stops_delete": {"runtime.warnings-continue"},
    "delete_keeps_cgroup": {"runtime.delete-removes-resources", "runtime.lifecycle-destroy"},
    "create_replaces_duplicate": {"runtime.create-unique-id"},
    "drops_prestart_hooks": {"runtime.hook-prestart-invoked", "runtime.hook-prestart-failure"},
    "create_starts_program": ({"runtime.lifecycle-program-not-run-at-create", "runtime.create-defers-process-args"},
                              False),
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_misbehaving_runtime_is_red_on_exactly_its_requirement(wrapper, runc_run, tmp_path):
    expected = CASES[wrapper]
    exact = True
    if isinstance(expected, tuple):
        expected, exact = expected
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "runtime", "--wait-timeout", "5")
    assert_red_on_exactly(run, runc_run, expected, wrapper, exact=exact)

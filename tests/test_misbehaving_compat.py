"""A runtime that breaks one command of runc's engine-facing command line is red on that command's
runc-compatibility requirements, and on nothing else runc passes (tests/bad_runtimes/*)."""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: wrapper -> (the tests it is run on, the requirements that must turn red: exactly these)
CASES = {
    "exec_drops_env": ("test_exec_runs", {"compat.exec-process-file"}),
    # A pause that does nothing also leaves state `running`, lets exec into the "paused" container
    # run, and cannot refuse to pause a stopped container.
    "pause_freezes_nothing": ("test_pause or paused", {
        "compat.pause-freezes-all", "compat.pause-state", "compat.exec-paused-refused", "compat.pause-wrong-state"}),
    "update_writes_nothing": ("test_update", {"compat.update-resources", "compat.update-options"}),
    "ps_omits_processes": ("test_ps", {"compat.ps-json"}),
    "kill_all_kills_init_only": ("test_run_kill_delete", {"compat.kill-all"}),
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_a_broken_engine_command_is_red_on_its_requirement(wrapper, runc_on, tmp_path):
    selection, expected = CASES[wrapper]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--suite", "runc-compat", "-k", selection,
                      "--wait-timeout", "10")
    assert_red_on_exactly(run, runc_on("--suite", "runc-compat", "-k", selection), expected, wrapper)

"""A runtime that breaks one command of runc's engine-facing command line is red on that command's
runc-compatibility requirements, and on nothing else runc passes (tests/bad_runtimes/*)."""

import pytest

from ocitest.host.support import criu_problem

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: wrapper -> (the tests it is run on, the requirements that must turn red: exactly these)
CASES = {
    "exec_drops_env": ("test_exec_runs", {"compat.exec-process-file"}),
    # A pause that does nothing also leaves state `running`, lets exec into the "paused" container
    # run, and cannot refuse to pause a stopped container.
    "pause_freezes_nothing": ("test_pause or paused_container", {
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


#: $OCITEST_COMPAT_BREAK of tests/bad_runtimes/compat_breaks -> (the tests it is run on, the requirements that
#: must turn red: exactly these)
BREAKS = {
    # A resume that does nothing leaves state `paused`, and cannot refuse a running container either.
    "resume_does_nothing": ("test_pause", {"compat.resume-thaws-all", "compat.pause-state",
                                           "compat.pause-wrong-state"}),
    "exec_ignores_user": ("test_exec_applies_the_user", {"compat.exec-process-identity"}),
    "exec_status_lost": ("exit_status or foreground_exec", {"compat.exec-exit-status"}),
    "exec_ignores_paused": ("paused_container", {"compat.exec-paused-refused"}),
    "list_empty": ("test_list", {"compat.list-json"}),
    "stats_empty": ("stats_event", {"compat.events-stats"}),
    "events_no_oom": ("past_its_memory", {"compat.events-oom"}),
    "run_status_lost": ("foreground", {"compat.run-foreground"}),
    "delete_force_ignored": ("delete_force", {"compat.delete-force"}),
    "kill_number_ignored": ("signal_number", {"compat.kill-signal-number"}),
    "log_as_text": ("json_lines", {"compat.global-log-json"}),
    "root_ignored": ("root_only", {"compat.global-root"}),
    "spec_invalid": ("test_spec_writes", {"compat.spec-valid"}),
    "features_partial": ("features_structure", {"compat.features"}),
    # Judged only where CRIU works (scripts/vm's misbehaving run): elsewhere the check is skipped.
    "restore_starts_afresh": ("restored_program", {"compat.checkpoint-restore"}),
    "exec_terminal_dropped": ("terminal", {"compat.exec-terminal"}),
    "exec_on_host": ("joins_every_namespace", {"compat.exec-joins-container"}),
    "exec_stopped_succeeds": ("stopped_container", {"compat.exec-needs-running"}),
    "exec_env_option_dropped": ("command_line_form or options_and_a_command", {"compat.exec-command-line-form"}),
    "update_touches_pids": ("test_update", {"compat.update-only-asked"}),
    "run_detach_kills": ("run_detached", {"compat.run-detach"}),
    "debug_refused": ("debug", {"compat.global-debug"}),
    "no_pivot_refused": ("no_pivot", {"compat.no-pivot"}),
    "spec_rootless_ignored": ("spec_rootless", {"compat.spec-rootless"}),
    "preserve_fds_dropped": ("preserve_fds", {"compat.preserve-fds"}),
}


@needs_root_and("runc")
@pytest.mark.parametrize("case", sorted(BREAKS))
def test_each_compat_check_turns_red_on_its_break(case, runc_on, tmp_path):
    selection, expected = BREAKS[case]
    if case == "restore_starts_afresh" and criu_problem():
        pytest.skip(f"the checkpoint check cannot run here: {criu_problem()}")
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "compat_breaks"), "--suite", "runc-compat",
                      "-k", selection, "--wait-timeout", "10", env={"OCITEST_COMPAT_BREAK": case})
    assert_red_on_exactly(run, runc_on("--suite", "runc-compat", "-k", selection), expected, case)

"""A sandboxed runtime is judged from inside the container, and the inside view catches what the host view
catches for runc.

tests/bad_runtimes/sandbox_like stands for a runtime whose state pid is a shim on the host, the way Kata's
runtime CLI reports one (see _sandbox_shim.py): /proc of that pid is a host Python process, never the
program. Under the kata-runtime profile the checks ask the program itself (ocitest/view.py). Unbroken, it
must be judged as runc is on the same checks; each $OCITEST_SANDBOX_BREAK must turn exactly its
requirement red.
"""

from __future__ import annotations

import pytest

from .conftest import BAD_RUNTIMES, Run, assert_red_on_exactly, needs_root_and, run_ocitest

SANDBOX = str(BAD_RUNTIMES / "sandbox_like")
PROFILE = ("--profile", "kata-runtime")

#: $OCITEST_SANDBOX_BREAK -> (the tests it is run on, the requirements that must turn red: exactly these)
BREAKS = {
    "masked_paths": ("test_masked_paths_cannot_be_read", {"linux.masked-paths"}),
    "add_capability": ("test_the_program_holds_the_configured_capabilities", {"config.capabilities-sets"}),
    "drop_mount": ("test_a_missing_destination_is_created", {"config.mount-destination-created"}),
    "rlimits": ("test_each_rlimit_is_in_force_with_its_soft_and_hard_value", {"config.rlimit-applied"}),
    # nodiratime is on no other mount, so the program's own table would not show it: only the effect can
    "access_times": ("what_mount8_gives and (relatime or nodiratime) and not norelatime",
                     {"config.mount-option-relatime", "config.mount-option-nodiratime"}),
    "nosuid": ("what_mount8_gives and nosuid", {"config.mount-option-nosuid"}),
    "no_new_privs": ("test_no_new_privileges_sets_the_flag", {"config.no-new-privileges"}),
    "unbindable": ("sets_the_mount_propagation and unbindable",
                   {"config.mount-option-unbindable", "config.mount-option-runbindable"}),
}
ALL = " or ".join(f"({selection})" for selection, _ in BREAKS.values())


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory) -> Run:
    """The unbroken sandbox's run of every check the breaks are run on."""
    return run_ocitest(tmp_path_factory.mktemp("sandbox"), "--runtime", SANDBOX, *PROFILE, "-k", ALL)


@needs_root_and("runc")
def test_the_unbroken_sandbox_is_judged_from_inside_like_runc(unbroken, runc_on):
    """The same outcomes as runc's through the host view, and not one check skipped for want of it."""
    baseline = runc_on("-k", ALL)
    assert unbroken.report is not None, unbroken.output[-3000:]
    assert not unbroken.errors(), f"harness errors: {unbroken.errors()}"
    ours, runcs = unbroken.outcomes(), baseline.outcomes()
    differ = {rid: (runcs.get(rid), outcome) for rid, outcome in ours.items() if runcs.get(rid) != outcome}
    assert not differ, f"requirement: (runc, the sandbox): {differ}"
    hidden = [t["nodeid"] for t in unbroken.report["tests"]
              if t["outcome"] == "skip" and "state pid" in (t.get("message") or "")]
    assert not hidden, f"checks skipped as if the program could not be seen: {hidden}"


@needs_root_and("runc")
@pytest.mark.parametrize("case", sorted(BREAKS))
def test_each_break_inside_the_sandbox_turns_its_requirement_red(case, unbroken, tmp_path):
    selection, expected = BREAKS[case]
    run = run_ocitest(tmp_path, "--runtime", SANDBOX, *PROFILE, "-k", selection, "--wait-timeout", "10",
                      env={"OCITEST_SANDBOX_BREAK": case})
    assert_red_on_exactly(run, unbroken, expected, case)

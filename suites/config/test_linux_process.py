"""config.md, Linux Process: no_new_privs, oom_score_adj, AppArmor, SELinux, I/O priority, scheduler.

ioPriority and scheduler are checked whatever `features` says: a runtime that cannot apply one
refuses the config with an error (runtime.md#runtimeCreate), and the check is skipped, naming it.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxProcess
"""

import os
import subprocess
from pathlib import Path

import pytest

from ocitest import Wiring, needs, probe, requirement
from ocitest.host import apparmor_enforce_profile, proc_status

#: The oom_score_adj the runtime is started with in the oomScoreAdj checks: not 0, which a runtime
#: would leave or set anyway, and above the harness's own (raising needs no privilege).
CALLER_OOM_SCORE_ADJ = 345


def launched(new_container, new_bundle, wiring=None, **process):
    bundle = new_bundle()
    bundle.config["process"].update(process)
    return new_container(probe.waiting(), bundle=bundle).launch(wiring=wiring)


def caller_oom_score_adj() -> int:
    """The value create's caller has: CALLER_OOM_SCORE_ADJ, or the harness's own if that is higher."""
    return max(CALLER_OOM_SCORE_ADJ, int(Path("/proc/self/oom_score_adj").read_text()))


def applied_or_refused(new_container, new_bundle, what: str, **process):
    """``launched``, for a field the runtime may not implement: refusing it with an error skips the check.

    ioPriority and scheduler are checked whatever the runtime's ``features`` say (the Features format
    has no key for either): a runtime applies them, or fails create (or start) with an error.
    """
    bundle = new_bundle()
    bundle.config["process"].update(process)
    return new_container(probe.waiting(), bundle=bundle).launch_unless_refused(what)


@requirement("config.no-new-privileges")
@pytest.mark.parametrize("value", [True, False])
@needs("program_visible_from_host")
def test_no_new_privileges_sets_the_flag(new_container, new_bundle, value):
    container = launched(new_container, new_bundle, noNewPrivileges=value)
    flag = proc_status(container.pid)["NoNewPrivs"]
    container.finish()
    assert flag == ("1" if value else "0"), f"noNewPrivileges is {value}; the program's NoNewPrivs is {flag}"


# The runtime is started with a non-zero oom_score_adj, so that the program's value shows whether the
# runtime set oomScoreAdj (0 included) or left the caller's value alone.


@requirement("config.oom-score-adj-set")
@pytest.mark.parametrize("value", [0, 123, 1000])
@needs("program_visible_from_host")
def test_oom_score_adj_is_set_when_configured(new_container, new_bundle, value):
    caller = caller_oom_score_adj()
    container = launched(new_container, new_bundle, Wiring(oom_score_adj=caller), oomScoreAdj=value)
    seen = Path(f"/proc/{container.pid}/oom_score_adj").read_text().strip()
    container.finish()
    assert seen == str(value), (
        f"oomScoreAdj is {value}, create's caller had {caller}; the program's oom_score_adj is {seen}"
    )


@requirement("config.oom-score-adj-unset")
@needs("program_visible_from_host")
def test_oom_score_adj_is_inherited_when_not_configured(new_container, new_bundle):
    caller = caller_oom_score_adj()
    container = launched(new_container, new_bundle, Wiring(oom_score_adj=caller))
    seen = Path(f"/proc/{container.pid}/oom_score_adj").read_text().strip()
    container.finish()
    assert seen == str(caller), (
        f"oomScoreAdj is not set and create's caller had oom_score_adj {caller}, yet the program's is {seen}"
    )


@requirement("config.apparmor-profile")
@needs("apparmor")
@needs("apparmor_enforce_profile")
@needs("program_visible_from_host")
def test_the_program_runs_under_the_apparmor_profile(new_container, new_bundle):
    name = apparmor_enforce_profile()
    container = launched(new_container, new_bundle, apparmorProfile=name)
    label = Path(f"/proc/{container.pid}/attr/current").read_text().strip()
    container.finish()
    assert label.startswith(name), f"apparmorProfile is {name!r}; the program runs under {label!r}"


@requirement("config.selinux-label")
@needs("selinux")
@needs("program_visible_from_host")
def test_the_program_runs_with_the_selinux_label(new_container, new_bundle):
    own = Path("/proc/self/attr/current").read_text().strip("\0\n")
    container = launched(new_container, new_bundle, selinuxLabel=own)
    label = Path(f"/proc/{container.pid}/attr/current").read_text().strip("\0\n")
    container.finish()
    assert label == own, f"selinuxLabel is {own!r}; the program runs with {label!r}"


@requirement("config.io-priority")
@needs("host_tool", "ionice", "util-linux")
@needs("program_visible_from_host")
def test_the_program_runs_with_the_io_priority(new_container, new_bundle):
    container = applied_or_refused(new_container, new_bundle, "`ioPriority`",
                                   ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6})
    out = subprocess.run(["ionice", "-p", str(container.pid)], capture_output=True, text=True,
                         timeout=10).stdout.strip()
    container.finish()
    assert out == "best-effort: prio 6", f"ioPriority best-effort 6; ionice reports {out!r}"


@requirement("config.scheduler")
@needs("program_visible_from_host")
def test_the_program_runs_with_the_scheduler_policy_and_nice(new_container, new_bundle):
    container = applied_or_refused(new_container, new_bundle, "`scheduler`",
                                   scheduler={"policy": "SCHED_BATCH", "nice": 7})
    policy = os.sched_getscheduler(container.pid)
    nice = int(Path(f"/proc/{container.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    container.finish()
    assert policy == os.SCHED_BATCH, f"scheduler policy SCHED_BATCH; the program has policy {policy}"
    assert nice == 7, f"scheduler nice 7; the program has nice {nice}"

"""config.md, Linux Process: no_new_privs, oom_score_adj, AppArmor, SELinux, I/O priority, scheduler.

ioPriority and scheduler are checked whatever `features` says: a runtime that cannot apply one
refuses the config with an error (runtime.md#runtimeCreate), and the check is skipped, naming it.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxProcess
"""

import os
import re
from pathlib import Path

import pytest

from ocitest import HarnessError, Wiring, needs, probe, requirement, unseen
from ocitest.host import apparmor_enforce_profile

#: What ionice -p prints for a readable I/O priority.
IONICE = re.compile(r"[a-z-]+: prio \d+")

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


def program_proc(container, name: str, what: str) -> str:
    """The program's /proc/<program>/``name``; one a sandbox's /proc does not have skips the check."""
    try:
        return container.view.proc_file(name)
    except OSError as exc:
        if container.view.from_inside:
            unseen(what, f"its /proc/self/{name} cannot be read ({exc.strerror})")
        raise


def oom_score_adj(container) -> tuple[str, str]:
    """(the oom_score_adj the host's OOM killer acts on, whose it is). For a sandboxed runtime that is
    the state pid's, the sandbox's on the host (the host side of a sandbox, as its cgroup is): the
    program's own value lives in the sandbox kernel, which has no OOM killer of the host's."""
    if container.view.from_inside:
        return Path(f"/proc/{container.pid}/oom_score_adj").read_text().strip(), "the sandbox process's (state pid)"
    return program_proc(container, "oom_score_adj", "oom_score_adj").strip(), "the program's"


def applied_or_refused(new_container, new_bundle, what: str, *before: str, **process):
    """``launched`` (the program runs ``before`` first), for a field the runtime may not implement:
    refusing it with an error skips the check.

    ioPriority and scheduler are checked whatever the runtime's ``features`` say (the Features format
    has no key for either): a runtime applies them, or fails create (or start) with an error.
    """
    bundle = new_bundle()
    bundle.config["process"].update(process)
    return new_container(probe.waiting(*before), bundle=bundle).launch_unless_refused(what)


@requirement("config.no-new-privileges")
@pytest.mark.parametrize("value", [True, False])
def test_no_new_privileges_sets_the_flag(new_container, new_bundle, value):
    container = launched(new_container, new_bundle, noNewPrivileges=value)
    flag = container.view.no_new_privs()
    container.finish()
    assert flag == value, (
        f"noNewPrivileges is {value}; the program's no_new_privs bit is {int(flag)} ({container.view.how})")


# The runtime is started with a non-zero oom_score_adj, so that the program's value shows whether the
# runtime set oomScoreAdj (0 included) or left the caller's value alone.


@requirement("config.oom-score-adj-set")
@pytest.mark.parametrize("value", [0, 123, 1000])
def test_oom_score_adj_is_set_when_configured(new_container, new_bundle, value):
    caller = caller_oom_score_adj()
    container = launched(new_container, new_bundle, Wiring(oom_score_adj=caller), oomScoreAdj=value)
    seen, whose = oom_score_adj(container)
    container.finish()
    assert seen == str(value), (
        f"oomScoreAdj is {value}, create's caller had {caller}; {whose} oom_score_adj is {seen}"
    )


@requirement("config.oom-score-adj-unset")
def test_oom_score_adj_is_inherited_when_not_configured(new_container, new_bundle):
    caller = caller_oom_score_adj()
    container = launched(new_container, new_bundle, Wiring(oom_score_adj=caller))
    seen, whose = oom_score_adj(container)
    container.finish()
    assert seen == str(caller), (
        f"oomScoreAdj is not set and create's caller had oom_score_adj {caller}, yet {whose} is {seen}"
    )


@requirement("config.apparmor-profile")
@needs("apparmor")
@needs("apparmor_enforce_profile")
def test_the_program_runs_under_the_apparmor_profile(new_container, new_bundle):
    name = apparmor_enforce_profile()
    container = launched(new_container, new_bundle, apparmorProfile=name)
    label = program_proc(container, "attr/current", "AppArmor label").strip()
    container.finish()
    assert label.startswith(name), f"apparmorProfile is {name!r}; the program runs under {label!r}"


@requirement("config.selinux-label")
@needs("selinux")
def test_the_program_runs_with_the_selinux_label(new_container, new_bundle):
    own = Path("/proc/self/attr/current").read_text().strip("\0\n")
    container = launched(new_container, new_bundle, selinuxLabel=own)
    label = program_proc(container, "attr/current", "SELinux label").strip("\0\n")
    container.finish()
    assert label == own, f"selinuxLabel is {own!r}; the program runs with {label!r}"


@requirement("config.io-priority")
def test_the_program_runs_with_the_io_priority(new_container, new_bundle):
    # The program asks for its own I/O priority (busybox ionice, which prints as util-linux's does).
    container = applied_or_refused(new_container, new_bundle, "`ioPriority`",
                                   probe.say("ioprio", "$(ionice -p $$ 2>&1)"),
                                   ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6})
    said = probe.facts(container.read_until(probe.READY)).get("ioprio")
    container.finish()
    out = said[0].strip() if said else ""
    if not IONICE.fullmatch(out):
        if container.view.from_inside:  # gVisor's ioprio_get refuses with EPERM
            unseen("I/O priority", f"ionice -p of itself printed {out!r}")
        raise HarnessError(f"the program could not read its I/O priority: ionice -p printed {out!r}")
    assert out == "best-effort: prio 6", f"ioPriority best-effort 6; ionice reports {out!r}"


@requirement("config.scheduler")
def test_the_program_runs_with_the_scheduler_policy_and_nice(new_container, new_bundle):
    container = applied_or_refused(new_container, new_bundle, "`scheduler`",
                                   scheduler={"policy": "SCHED_BATCH", "nice": 7})
    # /proc/PID/stat after the command's ")": field 3 first, so nice (field 19) and policy (field 41)
    fields = program_proc(container, "stat", "scheduling").rsplit(")", 1)[1].split()
    nice, policy = int(fields[16]), int(fields[38])
    sched = None
    if container.view.from_inside and policy != os.SCHED_BATCH:
        # A sandbox's own /proc/PID/stat (gVisor's) prints 0 for the policy whatever it is; a Linux
        # kernel's /proc/PID/sched confirms it, and busybox has no chrt to ask sched_getscheduler.
        try:
            sched = container.view.proc_file("sched")
        except OSError:
            pass
        shown = re.search(r"^policy\s*:\s*(\d+)", sched or "", re.MULTILINE)
        if shown is None:
            container.finish()
            assert nice == 7, f"scheduler nice 7; the program has nice {nice}"
            unseen("scheduling policy", f"its /proc/self/stat shows policy {policy} (gVisor's prints 0 always), "
                                        "it has no /proc/self/sched with the policy, and busybox has no chrt")
        policy = int(shown.group(1))
    container.finish()
    assert policy == os.SCHED_BATCH, f"scheduler policy SCHED_BATCH; the program has policy {policy}"
    assert nice == 7, f"scheduler nice 7; the program has nice {nice}"

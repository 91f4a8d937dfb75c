"""config.md, Linux Process: no_new_privs, oom_score_adj, AppArmor, SELinux, I/O priority, scheduler.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxProcess
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ocitest import probe, requirement
from ocitest.claims import skip_unless_claimed
from ocitest.host import proc_status


def launched(new_container, new_bundle, **process):
    bundle = new_bundle()
    bundle.config["process"].update(process)
    return new_container(probe.waiting(), bundle=bundle).launch()


@requirement("config.no-new-privileges")
@pytest.mark.parametrize("value", [True, False])
def test_no_new_privileges_sets_the_flag(new_container, new_bundle, value):
    container = launched(new_container, new_bundle, noNewPrivileges=value)
    flag = proc_status(container.pid)["NoNewPrivs"]
    container.finish()
    assert flag == ("1" if value else "0"), f"noNewPrivileges is {value}; the program's NoNewPrivs is {flag}"


@requirement("config.oom-score-adj-set")
@pytest.mark.parametrize("value", [0, 123, 1000])
def test_oom_score_adj_is_set_when_configured(new_container, new_bundle, value):
    container = launched(new_container, new_bundle, oomScoreAdj=value)
    seen = Path(f"/proc/{container.pid}/oom_score_adj").read_text().strip()
    container.finish()
    assert seen == str(value), f"oomScoreAdj is {value}; the program's oom_score_adj is {seen}"


@requirement("config.oom-score-adj-unset")
def test_oom_score_adj_is_inherited_when_not_configured(new_container, new_bundle):
    container = launched(new_container, new_bundle)
    seen = Path(f"/proc/{container.pid}/oom_score_adj").read_text().strip()
    container.finish()
    own = Path("/proc/self/oom_score_adj").read_text().strip()
    assert seen == own, f"oomScoreAdj is not set, yet the program's oom_score_adj is {seen}, the caller's {own}"


def apparmor_enabled() -> bool:
    try:
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        return False


@requirement("config.apparmor-profile")
def test_the_program_runs_under_the_apparmor_profile(new_container, new_bundle):
    if not apparmor_enabled():
        pytest.skip("AppArmor is not enabled on this host")
    profiles = Path("/sys/kernel/security/apparmor/profiles").read_text().split("\n")
    name = next((line.split(" (")[0] for line in profiles if line.endswith("(enforce)")), None)
    if name is None:
        pytest.skip("no AppArmor profile is loaded in enforce mode on this host")
    container = launched(new_container, new_bundle, apparmorProfile=name)
    label = Path(f"/proc/{container.pid}/attr/current").read_text().strip()
    container.finish()
    assert label.startswith(name), f"apparmorProfile is {name!r}; the program runs under {label!r}"


@requirement("config.selinux-label")
def test_the_program_runs_with_the_selinux_label(new_container, new_bundle):
    if not Path("/sys/fs/selinux/enforce").exists():
        pytest.skip("SELinux is not enabled on this host")
    own = Path("/proc/self/attr/current").read_text().strip("\0\n")
    container = launched(new_container, new_bundle, selinuxLabel=own)
    label = Path(f"/proc/{container.pid}/attr/current").read_text().strip("\0\n")
    container.finish()
    assert label == own, f"selinuxLabel is {own!r}; the program runs with {label!r}"


@requirement("config.io-priority")
def test_the_program_runs_with_the_io_priority(new_container, new_bundle, runtime_info):
    skip_unless_claimed(runtime_info, "ioPriority")
    if not shutil.which("ionice"):
        pytest.skip("needs ionice (util-linux) on the host")
    container = launched(new_container, new_bundle, ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6})
    out = subprocess.run(["ionice", "-p", str(container.pid)], capture_output=True, text=True, timeout=10).stdout.strip()
    container.finish()
    assert out == "best-effort: prio 6", f"ioPriority best-effort 6; ionice reports {out!r}"


@requirement("config.scheduler")
def test_the_program_runs_with_the_scheduler_policy_and_nice(new_container, new_bundle, runtime_info):
    skip_unless_claimed(runtime_info, "scheduler")
    container = launched(new_container, new_bundle, scheduler={"policy": "SCHED_BATCH", "nice": 7})
    policy = os.sched_getscheduler(container.pid)
    nice = int(Path(f"/proc/{container.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    container.finish()
    assert policy == os.SCHED_BATCH, f"scheduler policy SCHED_BATCH; the program has policy {policy}"
    assert nice == 7, f"scheduler nice 7; the program has nice {nice}"

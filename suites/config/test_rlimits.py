"""config.md, POSIX process `rlimits`: limits in force for the program, and the errors the runtime owes.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configPOSIXProcess
"""

import pytest

from ocitest import probe, requirement
from ocitest.host import proc_limits

#: rlimit type -> its row in /proc/PID/limits
LIMIT_NAMES = {
    "RLIMIT_CPU": "Max cpu time", "RLIMIT_FSIZE": "Max file size", "RLIMIT_CORE": "Max core file size",
    "RLIMIT_NPROC": "Max processes", "RLIMIT_NOFILE": "Max open files", "RLIMIT_LOCKS": "Max file locks",
    "RLIMIT_SIGPENDING": "Max pending signals", "RLIMIT_MSGQUEUE": "Max msgqueue size",
}


def values_below_our_own(rtype: str) -> tuple[int, int]:
    """Soft and hard values the runtime can set without CAP_SYS_RESOURCE (at most the harness's hard limit)."""
    own_hard = proc_limits("self")[LIMIT_NAMES[rtype]][1]
    hard = 4099 if own_hard == "unlimited" else min(int(own_hard), 4099)
    return max(1, hard // 2 - 1), hard


def rlimits_config(*entries) -> list[dict]:
    return [{"type": t, "soft": s, "hard": h} for t, s, h in entries]


@requirement("config.rlimit-applied")
@pytest.mark.parametrize("rtype", sorted(LIMIT_NAMES))
def test_each_rlimit_is_in_force_with_its_soft_and_hard_value(new_container, new_bundle, rtype):
    soft, hard = values_below_our_own(rtype)
    bundle = new_bundle()
    bundle.config["process"]["rlimits"] = rlimits_config((rtype, soft, hard))
    container = new_container(probe.waiting(), bundle=bundle).launch()
    limits = proc_limits(container.pid)
    container.finish()
    seen = limits.get(LIMIT_NAMES[rtype])
    assert seen == (str(soft), str(hard)), f"{rtype} configured soft {soft} hard {hard}; the program has {seen}"


@requirement("config.rlimit-type-error")
def test_an_rlimit_type_the_kernel_does_not_have_is_an_error(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["process"]["rlimits"] = rlimits_config(("RLIMIT_OCITESTNOSUCH", 1, 1))
    container = new_container(probe.sh(probe.touch_evidence("ran")), bundle=bundle)
    call = container.create(check=False)
    if call.ok:
        call = container.start(check=False)
        if container.watch is not None:
            container.wait_exit()
    assert call.failed, f"RLIMIT_OCITESTNOSUCH was accepted: {call.describe()}"
    assert not container.evidence("ran").exists(), "the program ran with an rlimit type the kernel does not have"


@requirement("config.rlimit-duplicate-error")
def test_two_entries_of_the_same_rlimit_type_are_an_error(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["process"]["rlimits"] = rlimits_config(("RLIMIT_NOFILE", 100, 200), ("RLIMIT_NOFILE", 300, 400))
    container = new_container(probe.sh(probe.touch_evidence("ran")), bundle=bundle)
    call = container.create(check=False)
    if call.ok:
        call = container.start(check=False)
        if container.watch is not None:
            container.wait_exit()
    assert call.failed, f"duplicated RLIMIT_NOFILE entries were accepted: {call.describe()}"
    assert not container.evidence("ran").exists(), "the program ran with duplicated rlimits"

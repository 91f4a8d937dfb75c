"""config.md, POSIX process `rlimits`: limits in force for the program, and the errors the runtime owes.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configPOSIXProcess
"""

import pytest

from ocitest import needs, probe, requirement, unseen
from ocitest.host import settable_rlimit

#: rlimit type -> (its row in /proc/PID/limits, soft, hard): values the busybox program can live with.
LIMITS = {
    "RLIMIT_AS": ("Max address space", 1 << 30, 2 << 30),
    "RLIMIT_CORE": ("Max core file size", 2048, 4099),
    "RLIMIT_CPU": ("Max cpu time", 2048, 4099),
    "RLIMIT_DATA": ("Max data size", 1 << 30, 2 << 30),
    "RLIMIT_FSIZE": ("Max file size", 2048, 4099),
    "RLIMIT_LOCKS": ("Max file locks", 2048, 4099),
    "RLIMIT_MEMLOCK": ("Max locked memory", 32768, 65536),
    "RLIMIT_MSGQUEUE": ("Max msgqueue size", 2048, 4099),
    "RLIMIT_NICE": ("Max nice priority", 1, 2),
    "RLIMIT_NOFILE": ("Max open files", 2048, 4099),
    "RLIMIT_NPROC": ("Max processes", 2048, 4099),
    "RLIMIT_RSS": ("Max resident set", 1 << 30, 2 << 30),
    "RLIMIT_RTPRIO": ("Max realtime priority", 1, 2),
    "RLIMIT_RTTIME": ("Max realtime timeout", 500000, 1000000),
    "RLIMIT_SIGPENDING": ("Max pending signals", 2048, 4099),
    "RLIMIT_STACK": ("Max stack size", 8 << 20, 16 << 20),
}


def settable_values(rtype: str) -> tuple[int, int]:
    """Soft and hard values the runtime can set without CAP_SYS_RESOURCE (never above the
    harness's own hard limit); that they differ from what the program would inherit anyway is
    the precondition ``rlimit_settable`` of the check."""
    return settable_rlimit(*LIMITS[rtype])


def settable(rtype: str):
    """``rtype`` as a parameter of a check that needs a value of it other than the inherited one."""
    return pytest.param(rtype, marks=needs("rlimit_settable", rtype, *LIMITS[rtype]))


def rlimits_config(*entries) -> list[dict]:
    return [{"type": t, "soft": s, "hard": h} for t, s, h in entries]


@requirement("config.rlimit-applied")
@pytest.mark.parametrize("rtype", [settable(t) for t in sorted(LIMITS)])
def test_each_rlimit_is_in_force_with_its_soft_and_hard_value(new_container, new_bundle, rtype):
    soft, hard = settable_values(rtype)
    bundle = new_bundle()
    bundle.config["process"]["rlimits"] = rlimits_config((rtype, soft, hard))
    container = new_container(probe.waiting(), bundle=bundle).launch()
    limits = container.view.limits()
    container.finish()
    row = LIMITS[rtype][0]
    if row not in limits:
        unseen(f"{rtype} limit", f"it has no /proc/self/limits, and busybox's ulimit shows {row!r} only rounded "
                                 f"(it has the rows {sorted(limits)})")
    seen = limits[row]
    assert seen == (str(soft), str(hard)), f"{rtype} configured soft {soft} hard {hard}; the program has {seen}"


@requirement("config.rlimit-type-error")
def test_an_rlimit_type_the_kernel_does_not_have_is_an_error(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["process"]["rlimits"] = rlimits_config(("RLIMIT_OCITESTNOSUCH", 1, 1))
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.attempt()
    assert call.failed, f"RLIMIT_OCITESTNOSUCH was accepted: {call.describe()}"
    assert not container.exchange_file("ran").exists(), "the program ran with an rlimit type the kernel does not have"


@requirement("config.rlimit-duplicate-error")
def test_two_entries_of_the_same_rlimit_type_are_an_error(new_container, new_bundle):
    # Each entry alone must be one the runtime can apply, so that only the duplication can make it fail:
    # the second lowers the hard limit again (raising it needs CAP_SYS_RESOURCE, which a host or a
    # rootless run may lack, and a refusal for that reason would pass this check for the wrong reason).
    bundle = new_bundle()
    bundle.config["process"]["rlimits"] = rlimits_config(("RLIMIT_NOFILE", 300, 400), ("RLIMIT_NOFILE", 100, 200))
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.attempt()
    assert call.failed, f"duplicated RLIMIT_NOFILE entries were accepted: {call.describe()}"
    assert not container.exchange_file("ran").exists(), "the program ran with duplicated rlimits"

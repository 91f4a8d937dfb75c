"""Named preconditions of checks: what the host, the runtime's self-description and the run's
options must offer for a check to mean anything here.

A check declares them with ``@needs("cgroup_controller", "memory")`` (a parametrized check
puts them on its parameter sets: ``pytest.param(kind, marks=needs("namespace_kind", kind))``).
The plugin evaluates them before the test runs and skips a test whose precondition is unmet,
with the reason; ``ocitest doctor`` evaluates the very same ones before any run, which is how
it can name every such skip in advance. So a precondition may look only at the host, at the
runtime's ``RuntimeInfo`` (version, ``features``, profile) and at the run's options, never at
what the runtime does in a check: a check that depends on the runtime's answer (it refused a
MAY option, a create failed) still skips inline.

The conditions of one test are checked in reading order (module, class, the function's
decorators top to bottom, then its parameter set's) and the first unmet one gives the reason.
"""

from __future__ import annotations

import inspect
import platform
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from .host import cgroup_layout, cgroups, proc_limits, support
from .lifecycle import FLOOR

if TYPE_CHECKING:
    from .runtime import RuntimeInfo

#: The pytest marker name: ``@pytest.mark.needs(name, *params)``; ``needs()`` below checks it first.
MARKER = "needs"


@dataclass(frozen=True)
class Context:
    """What a precondition may look at besides the host."""

    info: RuntimeInfo
    #: The run's options (pytest's ``config.option``); None outside a run.
    options: Any = None

    def option(self, name: str, default: Any = None) -> Any:
        return getattr(self.options, name, default) if self.options is not None else default


#: check(context, *params) -> None when met, else the reason the check cannot run here.
Check = Callable[..., "str | None"]


@dataclass(frozen=True)
class Condition:
    name: str
    check: Check
    #: What must hold (the check's docstring, first line): for ``ocitest doctor`` and readers.
    summary: str

    def validate(self, params: tuple) -> None:
        """Raise ValueError unless ``params`` fit the check: a wrong marker fails at collection, not mid-run."""
        try:
            inspect.signature(self.check).bind(None, *params)
        except TypeError as exc:
            raise ValueError(f"needs({self.name!r}, ...): {exc}") from None
        try:
            hash(params)
        except TypeError:
            raise ValueError(f"needs({self.name!r}, ...): parameters must be hashable, got {params!r}") from None


@dataclass(frozen=True)
class Need:
    """One use of a condition: its name and parameters, as a marker gives them."""

    name: str
    params: tuple = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(repr(p) for p in self.params)})"

    def to_json(self) -> dict:
        return {"condition": self.name, "params": list(self.params)}


CONDITIONS: dict[str, Condition] = {}


def condition(name: str) -> Callable[[Check], Check]:
    """Register ``check`` as the condition ``name``."""
    def register(check: Check) -> Check:
        if name in CONDITIONS:
            raise ValueError(f"condition {name!r} is defined twice")
        summary = (inspect.getdoc(check) or name).splitlines()[0]
        CONDITIONS[name] = Condition(name, check, summary)
        return check
    return register


def needs(name: str, *params: Any) -> pytest.MarkDecorator:
    """The marker declaring that a check needs the condition ``name`` (checked here, at import)."""
    if name not in CONDITIONS:
        raise ValueError(f"needs({name!r}): no such condition; known: {', '.join(sorted(CONDITIONS))}")
    CONDITIONS[name].validate(params)
    return getattr(pytest.mark, MARKER)(name, *params)


def needs_of(item: pytest.Item) -> list[Need]:
    """The conditions ``item`` declares, in reading order (see the module docstring)."""
    own: list[pytest.Mark] = []
    parents: list[pytest.Mark] = []
    for node, mark in item.iter_markers_with_node(MARKER):
        (own if node is item else parents).append(mark)
    callspec = getattr(item, "callspec", None)
    of_params = [m for m in getattr(callspec, "marks", []) if m.name == MARKER]
    decorators = [m for m in own if m not in of_params]  # pytest lists them nearest the function first
    ordered = [*reversed(parents), *reversed(decorators), *of_params]
    return [Need(str(m.args[0]), tuple(m.args[1:])) for m in ordered if m.args]


@dataclass(frozen=True)
class Unmet:
    need: Need
    reason: str


@dataclass
class Evaluator:
    """Evaluates conditions against one context, each (name, parameters) once: host facts and the
    runtime's self-description do not change during a run, and doctor asks hundreds of tests."""

    context: Context
    _memo: dict[Need, str | None] = field(default_factory=dict)

    def reason(self, need: Need) -> str | None:
        if need not in self._memo:
            condition = CONDITIONS.get(need.name)
            if condition is None:
                raise ValueError(f"unknown condition {need.name!r} (ocitest/conditions.py)")
            self._memo[need] = condition.check(self.context, *need.params)
        return self._memo[need]

    def first_unmet(self, wanted: Iterable[Need]) -> Unmet | None:
        for need in wanted:
            reason = self.reason(need)
            if reason is not None:
                return Unmet(need, reason)
        return None


# == the conditions ==============================================================================
# Each returns None when met, else the reason, worded as the skip message of a check.

# -- the runtime's self-description ----------------------------------------------------------


def no_features_command(info) -> str | None:
    """Why there is no `features` command to ask (None when there is one, even if it printed garbage)."""
    problem = re.sub(r" after \d+ ms", "", info.features_problem)  # same words on every xdist worker
    prefix = "no `features` command"
    if info.features is None and problem.startswith(prefix):
        return "the runtime has no `features` command" + problem[len(prefix):]
    return None


@condition("features_command")
def _features_command(ctx: Context) -> str | None:
    """The runtime has a `features` command (what it printed is the features suite's to judge)."""
    return no_features_command(ctx.info)


@condition("program_visible_from_host")
def _program_visible_from_host(ctx: Context, what: str) -> str | None:
    """The state pid is the program itself, so host-side /proc views of it are the container process's.

    Most checks read the program through ``container.view`` (view.py), which asks the program itself
    under a sandboxed profile; this is for the few that can only look from the host (``what`` names it).
    """
    profile = ctx.info.profile
    if profile.sandboxed:
        return (f"{what} can only be read from the host, through /proc of the state pid, which for "
                f"{profile.name} is its sandbox process, not the program")
    return None


# -- the run's options ------------------------------------------------------------------------


@condition("privileged")
def _privileged(ctx: Context, detail: str) -> str | None:
    """The run is rootful (a rootless run lacks the privilege the check needs)."""
    if ctx.option("ocitest_rootless", False):
        return f"a rootless run cannot {detail}"
    return None


@condition("own_cgroup")
def _own_cgroup(ctx: Context, detail: str) -> str | None:
    """The runtime can be given a cgroup of the container's own: the run is rootful, or rootless
    with a cgroup v2 subtree delegated to it (host.delegated_cgroup)."""
    if ctx.option("ocitest_rootless", False) and cgroups.delegated_cgroup() is None:
        return (f"a rootless run cannot {detail} without a cgroup v2 subtree delegated to it "
                "(docs/usage.md#rootless)")
    return None


@condition("cgroupfs_driver")
def _cgroupfs_driver(ctx: Context) -> str | None:
    """The runtime reads cgroupsPath as a path (the systemd driver reads slice:prefix:name instead)."""
    if ctx.info.cgroup_driver != "cgroupfs":
        return ("the systemd cgroup driver takes cgroupsPath as slice:prefix:name, not as a path; "
                "run with the cgroupfs driver to judge the path forms")
    return None


@condition("runtime_timeout_at_least")
def _runtime_timeout_at_least(ctx: Context, seconds: float, what: str) -> str | None:
    """--runtime-timeout leaves room to tell the timeout the check is about (without it, the limit
    is sized from the preflight and never below lifecycle.FLOOR)."""
    given = ctx.option("runtime_timeout", None)
    timeout = FLOOR if given is None else float(given)
    if timeout < seconds:
        return f"--runtime-timeout {timeout:g} s leaves no room to tell a {what}"
    return None


# -- kernel, machine and tools ----------------------------------------------------------------


@condition("kernel")
def _kernel(ctx: Context, version: str, feature: str, via: str = "") -> str | None:
    """The host kernel is at least this version."""
    major, minor = (int(p) for p in version.split(".")[:2])
    if support.kernel_at_least(major, minor):
        return None
    return f"{feature} need Linux {version}{f' ({via})' if via else ''}, this host runs {platform.release()}"


@condition("namespace_kind")
def _namespace_kind(ctx: Context, kind: str) -> str | None:
    """The host kernel has namespaces of this kind."""
    return support.namespace_missing(kind)


@condition("new_namespace")
def _new_namespace(ctx: Context, kind: str) -> str | None:
    """The host can give a container a new namespace of this kind (the kernel has it; user: allowed)."""
    return support.new_namespace_refused(kind)


@condition("user_namespaces")
def _user_namespaces(ctx: Context) -> str | None:
    """The host allows new user namespaces."""
    return support.userns_forbidden()


@condition("host_tool")
def _host_tool(ctx: Context, tool: str, package: str, purpose: str = "") -> str | None:
    """The host has this program (the check uses it from outside the container)."""
    if shutil.which(tool):
        return None
    return f"needs `{tool}` ({package}) on the host{f' {purpose}' if purpose else ''}"


@condition("criu")
def _criu(ctx: Context) -> str | None:
    """CRIU works on this host (``criu check``), which a runtime's checkpoint and restore need."""
    if ctx.option("ocitest_rootless", False):
        return "a rootless run cannot checkpoint with CRIU (it needs CAP_SYS_ADMIN on the host)"
    return support.criu_problem()


@condition("machine_in")
def _machine_in(ctx: Context, what: str, *machines: str) -> str | None:
    """The host's machine (uname -m) is one the check has data for."""
    machine = platform.machine()
    return None if machine in machines else f"no {what} known for a {machine} host"


@condition("ia32_syscalls")
def _ia32_syscalls(ctx: Context) -> str | None:
    """A 64-bit program on this host can make 32-bit x86 system calls (tried once, on the host)."""
    return support.ia32_syscalls()


@condition("numa")
def _numa(ctx: Context) -> str | None:
    """The host kernel has NUMA support (node0)."""
    return None if support.numa() else "the host kernel has no NUMA support (no /sys/devices/system/node/node0)"


@condition("huge_pages")
def _huge_pages(ctx: Context) -> str | None:
    """The kernel has huge page sizes."""
    return None if support.hugepage_sizes() else "the kernel has no huge page sizes"


@condition("mount8_tmpfs")
def _mount8_tmpfs(ctx: Context, *options: str) -> str | None:
    """mount(8) on this host mounts a tmpfs with these options (the oracle of the check)."""
    made, text = support.mount8_tmpfs(tuple(options))
    return None if made else f"mount(8) on this host refuses a tmpfs with {list(options)}: {text}"


# -- security modules -------------------------------------------------------------------------


@condition("apparmor")
def _apparmor(ctx: Context) -> str | None:
    """AppArmor is enabled on the host."""
    return None if support.apparmor_enabled() else "AppArmor is not enabled on this host"


@condition("apparmor_enforce_profile")
def _apparmor_enforce_profile(ctx: Context) -> str | None:
    """An AppArmor profile is loaded in enforce mode."""
    if support.apparmor_enforce_profile() is None:
        return "no AppArmor profile is loaded in enforce mode on this host"
    return None


@condition("selinux")
def _selinux(ctx: Context) -> str | None:
    """SELinux is enabled on the host."""
    return None if support.selinux_enabled() else "SELinux is not enabled on this host"


# -- the harness's own limits and capabilities ------------------------------------------------


@condition("rlimit_settable")
def _rlimit_settable(ctx: Context, rtype: str, row: str, soft: int, hard: int) -> str | None:
    """A value of the rlimit other than the inherited one can be set without CAP_SYS_RESOURCE."""
    own_soft, own_hard = proc_limits("self")[row]
    soft, hard = support.settable_rlimit(row, soft, hard)
    if (str(soft), str(hard)) == (own_soft, own_hard):
        return f"{rtype}: without CAP_SYS_RESOURCE the only settable value is the inherited one ({own_soft}/{own_hard})"
    return None


@condition("ungrantable_capability")
def _ungrantable_capability(ctx: Context) -> str | None:
    """The harness's bounding set lacks some capability (one its runtime cannot grant)."""
    if not support.ungrantable_capabilities():
        return "the harness holds every capability, so none is ungrantable here"
    return None


# -- devices and resctrl ----------------------------------------------------------------------


@condition("whole_disk")
def _whole_disk(ctx: Context) -> str | None:
    """The host has a whole disk (to throttle)."""
    return None if support.whole_disk() else "the host has no disk to throttle"


@condition("loop_devices")
def _loop_devices(ctx: Context, *minors: int) -> str | None:
    """The host has these loop devices."""
    for minor in minors:
        if not support.loop_device(minor):
            return f"the host has no loop device {support.LOOP_MAJOR}:{minor} (modprobe loop)"
    return None


@condition("rdma_device")
def _rdma_device(ctx: Context) -> str | None:
    """The host has an RDMA device."""
    return None if support.rdma_devices() else "the host has no RDMA device"


@condition("resctrl")
def _resctrl(ctx: Context) -> str | None:
    """A resctrl filesystem is mounted."""
    if support.resctrl_mounted():
        return None
    return "no resctrl filesystem is mounted on this host (needs Intel RDT / AMD QoS hardware)"


@condition("no_resctrl")
def _no_resctrl(ctx: Context) -> str | None:
    """No resctrl filesystem is mounted (so a container asking for Intel RDT must fail)."""
    return "this host has resctrl mounted, so the error case cannot arise" if support.resctrl_mounted() else None


@condition("resctrl_l3_schema")
def _resctrl_l3_schema(ctx: Context) -> str | None:
    """The resctrl root has an L3 schema line."""
    return None if support.resctrl_l3_schema() else "the resctrl root has no L3 schema line to reuse"


@condition("resctrl_monitoring")
def _resctrl_monitoring(ctx: Context) -> str | None:
    """resctrl has monitoring (mon_groups)."""
    return None if (support.RESCTRL / "mon_groups").exists() else "this resctrl has no monitoring (no mon_groups)"


# -- cgroups ----------------------------------------------------------------------------------


@condition("cgroup_controller")
def _cgroup_controller(ctx: Context, controller: str, *or_else: str) -> str | None:
    """The host has the cgroup controller (v1 or v2), or one named after it; the reason names the last."""
    names = (controller, *or_else)
    if any(cgroups.controller_version(n) for n in names):
        return None
    return f"the host has no `{names[-1]}` cgroup controller (layout: {cgroup_layout()})"


@condition("cgroup_v1")
def _cgroup_v1(ctx: Context) -> str | None:
    """The host has a cgroup v1 hierarchy."""
    return "the host has no cgroup v1 hierarchy" if cgroup_layout() == "v2" else None


@condition("cgroup_v1_controller")
def _cgroup_v1_controller(ctx: Context, controller: str, lacking: str) -> str | None:
    """The controller is on cgroup v1 (the check's file has no v2 counterpart)."""
    return None if cgroups.controller_version(controller) == "v1" else f"cgroup v2 has no {lacking}"


@condition("cgroup_v2_delegation")
def _cgroup_v2_delegation(ctx: Context) -> str | None:
    """The host is cgroup v2 only (where cgroup delegation applies)."""
    layout = cgroup_layout()
    return None if layout == "v2" else f"cgroup delegation applies to a cgroup v2 host; this one is {layout}"


@condition("cgroup_v2_unified")
def _cgroup_v2_unified(ctx: Context) -> str | None:
    """The host is cgroup v2 only (where `unified` reaches the controllers)."""
    layout = cgroup_layout()
    if layout == "v2":
        return None
    return f"`unified` writes to the cgroup v2 hierarchy; on this {layout} host the controllers are on v1"


@condition("cgroup_v2_controller")
def _cgroup_v2_controller(ctx: Context, controller: str) -> str | None:
    """The cgroup v2 hierarchy has the controller."""
    return None if controller in cgroups.v2_controllers() else f"no {controller} controller on the cgroup v2 hierarchy"


@condition("cgroup_v2_controllers_of")
def _cgroup_v2_controllers_of(ctx: Context, *files: str) -> str | None:
    """The cgroup v2 hierarchy has the controllers of these files (``pids.max`` -> pids)."""
    missing = [f for f in files if f.split(".")[0] not in cgroups.v2_controllers()]
    return f"the cgroup v2 hierarchy lacks the controllers of {missing}" if missing else None


@condition("cgroup_v2_missing_controller")
def _cgroup_v2_missing_controller(ctx: Context) -> str | None:
    """A controller can be named that the cgroup v2 hierarchy lacks (any on a v2 host; pids on v1/hybrid)."""
    if cgroup_layout() == "v2":
        return None
    if cgroups.v2_mount() is None:
        return "the host has no cgroup v2 hierarchy"
    if "pids" in cgroups.v2_controllers():
        return "the pids controller is on this host's cgroup v2 hierarchy"
    return None


@condition("cgroup_delegate_file")
def _cgroup_delegate_file(ctx: Context) -> str | None:
    """The kernel lists the delegatable cgroup files (/sys/kernel/cgroup/delegate)."""
    if cgroups.delegate_list() is None:
        return "the kernel has no /sys/kernel/cgroup/delegate (see linux.cgroup-owner-fallback-list)"
    return None


@condition("no_cgroup_delegate_file")
def _no_cgroup_delegate_file(ctx: Context) -> str | None:
    """The kernel has no /sys/kernel/cgroup/delegate (so the fallback list applies)."""
    if cgroups.delegate_list() is not None:
        return "the kernel has /sys/kernel/cgroup/delegate, so the fallback list does not apply"
    return None


@condition("device_cgroup")
def _device_cgroup(ctx: Context) -> str | None:
    """The host has a device cgroup controller (v1 `devices`, or v2's eBPF programs)."""
    if cgroups.controller_version("devices") or cgroup_layout() == "v2":
        return None
    return "the host has no device cgroup controller"


def _controller_file(ctx: Context, controller: str, v1_name: str, v2_name: str, missing: str) -> str | None:
    """The controller exists and has the file of its version (``missing`` names it as {name})."""
    version = cgroups.controller_version(controller)
    if version is None:
        return _cgroup_controller(ctx, controller)
    name = v1_name if version == "v1" else v2_name
    return None if cgroups.host_has_file(controller, name) else missing.format(name=name)


@condition("kernel_tcp_limit")
def _kernel_tcp_limit(ctx: Context) -> str | None:
    """The v1 memory controller has the kernel TCP buffer limit (cgroup v2 has no such file)."""
    if cgroups.controller_version("memory") == "v2":
        return "cgroup v2 has no kernel TCP buffer limit (linux.cgroup-unified-conversion-error's case)"
    return _controller_file(ctx, "memory", "memory.kmem.tcp.limit_in_bytes", "",
                            "the host kernel has no kernel TCP buffer limit (no {name})")


@condition("swap_accounting")
def _swap_accounting(ctx: Context) -> str | None:
    """The memory controller accounts swap."""
    return _controller_file(ctx, "memory", "memory.memsw.limit_in_bytes", "memory.swap.max",
                            "swap accounting is off on this host (no {name})")


@condition("cfs_burst")
def _cfs_burst(ctx: Context) -> str | None:
    """The cpu controller has CFS burst (cpu.cfs_burst_us or cpu.max.burst)."""
    return _controller_file(ctx, "cpu", "cpu.cfs_burst_us", "cpu.max.burst",
                            "the kernel has no {name} (CFS burst needs Linux 5.14)")


@condition("rt_group_sched")
def _rt_group_sched(ctx: Context) -> str | None:
    """The cpu controller has real-time group scheduling (cgroup v1, CONFIG_RT_GROUP_SCHED)."""
    version = cgroups.controller_version("cpu")
    if version is None:
        return _cgroup_controller(ctx, "cpu")
    if version != "v1":
        return "cgroup v2 has no real-time group scheduling files"
    if not cgroups.host_has_file("cpu", "cpu.rt_runtime_us"):
        return "the kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)"
    return None


@condition("cpu_idle")
def _cpu_idle(ctx: Context) -> str | None:
    """The cpu controller has cpu.idle."""
    if cgroups.controller_version("cpu") is None:
        return _cgroup_controller(ctx, "cpu")
    if not cgroups.host_has_file("cpu", "cpu.idle"):
        return "the kernel has no cpu.idle (SCHED_IDLE groups need Linux 5.15)"
    return None


@condition("blkio_weight")
def _blkio_weight(ctx: Context) -> str | None:
    """The block I/O controller has a weight file (a BFQ or CFQ scheduler)."""
    controller, candidates, present = cgroups.blockio_weight_files()
    if cgroups.controller_version(controller) is None:
        return _cgroup_controller(ctx, "blkio", "io")
    if not present:
        return f"no block I/O weight file here ({' / '.join(candidates)}): no BFQ or CFQ scheduler"
    return None


@condition("cgroup_v1_net")
def _cgroup_v1_net(ctx: Context) -> str | None:
    """The host has the net_cls and net_prio cgroup v1 controllers."""
    if cgroup_layout() == "v2":
        return "cgroup v2 has no net_cls or net_prio controller"
    for controller in ("net_cls", "net_prio"):
        if cgroups.controller_version(controller) is None:
            return f"the host has no `{controller}` cgroup v1 controller mounted"
    return None

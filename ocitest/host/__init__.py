"""Facts about the host, read from outside the container: its mounts, cgroups, processes and
capabilities, and what it can offer a container at all.

One home for them, so that /proc/PID/mountinfo and /proc/PID/cgroup are parsed once, the same
way for the harness, the preconditions (conditions.py) and the checks. Part of the suite-facing
API (see ``ocitest``): a suite imports these names from ``ocitest.host``, never from the modules
below, which may move.

* mounts: the one parser of mountinfo (``Mount``);
* cgroups: the hierarchies, and where a process or a container sits in them;
* processes: /proc/PID views of the container process and of the harness's children;
* capabilities: capability numbers and what execve leaves of the configured sets;
* support: what the host offers a container (LSMs, namespace kinds, devices, limits, mount(8));
* summary: the host in a few words for a report.
"""

from .capabilities import (
    CAPABILITY_NUMBERS,
    CAPABILITY_SETS,
    capabilities_after_execve,
    capability_mask,
    capability_names,
)
from .cgroups import (
    Membership,
    blockio_weight_files,
    cgroup_dir_of,
    cgroup_dirs,
    cgroup_layout,
    cgroup_mounts,
    container_cgroup_dirs,
    controller_version,
    delegate_list,
    delegated_cgroup,
    enter_delegated_leaf,
    host_has_file,
    memberships,
    process_cgroup_dirs,
    process_cgroups,
    remove_cgroup_dirs,
    remove_cgroup_tree,
    v1_mounts,
    v2_controllers,
    v2_mount,
)
from .mounts import Mount, mount_table, mounts_at, mounts_of, parse_mountinfo
from .processes import (
    container_children,
    descendants,
    helpers_of,
    namespace,
    nsenter,
    own_children,
    parent_of,
    proc_environ,
    proc_limits,
    proc_status,
    process_alive,
)
from .summary import facts, kernel
from .support import (
    LOOP_MAJOR,
    NS_FILES,
    RESCTRL,
    apparmor_enabled,
    apparmor_enforce_profile,
    hugepage_sizes,
    kernel_at_least,
    loop_device,
    mount8_bind,
    mount8_tmpfs,
    namespace_missing,
    new_namespace_refused,
    numa,
    rdma_devices,
    resctrl_l3_schema,
    resctrl_mounted,
    selinux_enabled,
    settable_rlimit,
    ungrantable_capabilities,
    userns_forbidden,
    whole_disk,
)

__all__ = [
    # mounts
    "Mount", "mount_table", "mounts_at", "mounts_of", "parse_mountinfo",
    # cgroups: the hierarchies
    "blockio_weight_files", "cgroup_layout", "cgroup_mounts", "controller_version", "delegate_list", "host_has_file",
    "v1_mounts", "v2_controllers", "v2_mount",
    # cgroups: delegated to a rootless harness
    "delegated_cgroup", "enter_delegated_leaf",
    # cgroups: where a process or a container sits
    "Membership", "cgroup_dir_of", "cgroup_dirs", "container_cgroup_dirs", "memberships", "process_cgroup_dirs",
    "process_cgroups", "remove_cgroup_dirs", "remove_cgroup_tree",
    # processes
    "container_children", "descendants", "namespace", "nsenter", "parent_of", "proc_environ", "proc_limits",
    "proc_status", "process_alive", "own_children", "helpers_of",
    # capabilities
    "CAPABILITY_NUMBERS", "CAPABILITY_SETS", "capabilities_after_execve", "capability_mask", "capability_names",
    # support
    "LOOP_MAJOR", "NS_FILES", "RESCTRL", "apparmor_enabled", "apparmor_enforce_profile", "hugepage_sizes",
    "kernel_at_least", "loop_device", "mount8_bind", "mount8_tmpfs", "namespace_missing", "new_namespace_refused",
    "numa", "rdma_devices", "resctrl_l3_schema", "resctrl_mounted", "selinux_enabled", "settable_rlimit",
    "ungrantable_capabilities", "userns_forbidden", "whole_disk",
    # summary
    "facts", "kernel",
]

"""The host's cgroup hierarchies: which controllers live where (v1 or v2), and which files exist.

Shared by the cgroup checks (to find a container's cgroup files) and by the preconditions in
conditions.py (to know before a run which of those checks this host cannot support).
"""

from __future__ import annotations

from pathlib import Path

#: Lists the cgroup v2 files a kernel (6.1+) hands to a delegatee; absent on older kernels.
DELEGATE_FILE = Path("/sys/kernel/cgroup/delegate")


def v1_mounts() -> dict[str, Path]:
    """cgroup v1 controller -> mount point of its hierarchy."""
    found = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2] == "cgroup":
            for option in fields[3].split(","):
                found[option] = Path(fields[1])
    return found


def v2_mount() -> Path | None:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2":
            return Path(fields[1])
    return None


def v2_controllers() -> set[str]:
    mount = v2_mount()
    if mount is None:
        return set()
    try:
        return set((mount / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def controller_version(controller: str) -> str | None:
    """``v1`` or ``v2``: where ``controller`` is available on this host; None when nowhere."""
    if controller in v1_mounts():
        return "v1"
    if controller in v2_controllers():
        return "v2"
    return None


def host_has_file(controller: str, name: str) -> bool:
    """Whether the root cgroup of ``controller``'s hierarchy has ``name`` (v1), or a child would (v2)."""
    version = controller_version(controller)
    if version == "v1":
        return (v1_mounts()[controller] / name).exists()
    if version == "v2":
        mount = v2_mount()
        # v2 root cgroups lack most controller files; the ones a child gets are listed nowhere,
        # so the test asks the file of any existing child that has the controller enabled.
        return any((d / name).exists() for d in mount.iterdir() if d.is_dir()) or (mount / name).exists()
    return False


def delegate_list() -> list[str] | None:
    """The files /sys/kernel/cgroup/delegate names, or None when the kernel has no such file."""
    try:
        return DELEGATE_FILE.read_text().split()
    except OSError:
        return None


def blockio_weight_files() -> tuple[str, list[str], list[str]]:
    """(controller, candidate weight files, those present) of the block I/O controller here:
    ``blkio`` where cgroup v1 has it, else ``io``; a file exists only with a BFQ or CFQ scheduler."""
    controller = "blkio" if controller_version("blkio") else "io"
    version = controller_version(controller)
    candidates = ["blkio.weight", "blkio.bfq.weight"] if version == "v1" else ["io.bfq.weight", "io.weight"]
    return controller, candidates, [n for n in candidates if host_has_file(controller, n)]

"""The host's cgroup hierarchies (which controllers live where, v1 or v2, which files exist) and
where a process or a container sits in them.

Shared by the cgroup checks (to find a container's cgroup files), by the preconditions in
conditions.py (to know before a run which of those checks this host cannot support) and by the
container's cleanup (to remove what a runtime left). /proc/PID/cgroup is read here only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .mounts import Mount, mounts_of

#: Lists the cgroup v2 files a kernel (6.1+) hands to a delegatee; absent on older kernels.
DELEGATE_FILE = Path("/sys/kernel/cgroup/delegate")
#: The leaf a rootless harness moves itself into, inside the cgroup delegated to it.
HARNESS_LEAF = "ocitest-harness"


# -- the hierarchies ------------------------------------------------------------------------------


def _cgroup_mounts() -> list[Mount]:
    return [m for m in mounts_of() if m.fstype in ("cgroup", "cgroup2")]


def cgroup_layout() -> str:
    """``v2`` (unified), ``hybrid`` (v1 controllers plus a v2 mount) or ``v1``."""
    by_point = {m.point: m.fstype for m in mounts_of()}
    if by_point.get("/sys/fs/cgroup") == "cgroup2":
        return "v2"
    if any(fstype == "cgroup2" for fstype in by_point.values()):
        return "hybrid"
    return "v1"


def cgroup_mounts() -> list[Path]:
    """Mount points of every cgroup (v1) and cgroup2 hierarchy the harness sees."""
    return [Path(m.point) for m in _cgroup_mounts()]


def v1_mounts() -> dict[str, Path]:
    """cgroup v1 controller (or ``name=...`` of a named hierarchy) -> mount point of its hierarchy.

    A v1 hierarchy names its controllers among its superblock options.
    """
    found = {}
    for mount in _cgroup_mounts():
        if mount.fstype == "cgroup":
            for option in mount.super_options:
                found[option] = Path(mount.point)
    return found


def v2_mount() -> Path | None:
    return next((Path(m.point) for m in _cgroup_mounts() if m.fstype == "cgroup2"), None)


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
    mount = v2_mount()
    if version == "v2" and mount is not None:  # never None then: a v2 controller has a v2 mount
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


# -- where a process sits ------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """One line of /proc/PID/cgroup: a process's cgroup in one hierarchy."""

    #: The hierarchy's controllers (``name=...`` for a named v1 hierarchy); empty for cgroup v2.
    controllers: tuple[str, ...]
    #: The cgroup, from the hierarchy's root (as the reader's cgroup namespace shows it).
    path: str


def memberships(pid: int | str) -> list[Membership]:
    """/proc/PID/cgroup, one entry per hierarchy."""
    found = []
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        found.append(Membership(tuple(filter(None, controllers.split(","))), path))
    return found


def process_cgroups(pid: int | str) -> dict[str, str]:
    """/proc/PID/cgroup as {controller: path}; the v2 entry is under the key ""."""
    found = {}
    for entry in memberships(pid):
        for controller in entry.controllers or ("",):
            found[controller] = entry.path
    return found


def cgroup_dir_of(pid: int, controller: str) -> Path | None:
    """The directory of ``pid``'s cgroup that ``controller`` governs (v1 hierarchy, else v2)."""
    paths = process_cgroups(pid)
    mounts = v1_mounts()
    if controller in mounts and controller in paths:
        return mounts[controller] / paths[controller].lstrip("/")
    mount = v2_mount()
    if mount is not None and "" in paths and controller in v2_controllers():
        return mount / paths[""].lstrip("/")
    return None


def process_cgroup_dirs(pid: int, *, versions: tuple[str, ...] = ("v1", "v2")) -> list[Path]:
    """Every directory of a live ``pid``'s cgroups below the root (one per hierarchy), of the given versions."""
    dirs = []
    mounts = v1_mounts()
    v2 = v2_mount()
    for entry in memberships(pid):
        if entry.path == "/":
            continue
        if entry.controllers and "v1" in versions:
            if entry.controllers[0] in mounts:
                dirs.append(mounts[entry.controllers[0]] / entry.path.lstrip("/"))
        elif not entry.controllers and "v2" in versions and v2 is not None:
            dirs.append(v2 / entry.path.lstrip("/"))
    return dirs


def own_cgroup_paths() -> dict[Path, str]:
    """Per hierarchy mount point, the cgroup this process is in there (from /proc/self/cgroup).

    A runtime given no ``linux.cgroupsPath`` may place the container under its caller's cgroup
    (runc does so in a v1 hierarchy where the caller is not at the root), so that is one of the
    places a container's cgroup can be when the runtime has lost track of it.
    """
    own = memberships("self")
    found: dict[Path, str] = {}
    for mount in _cgroup_mounts():
        for entry in own:
            if ((mount.fstype == "cgroup2" and not entry.controllers)
                    or (entry.controllers and set(entry.controllers) <= mount.super_options)):
                found[Path(mount.point)] = entry.path
                break
    return found


# -- a cgroup delegated to an unprivileged caller -----------------------------------------------------


def delegated_cgroup() -> str | None:
    """The cgroup v2 (its path from the root) that this unprivileged harness may divide, or None.

    On a pure cgroup v2 host, a process started in a unit with ``Delegate=yes`` (``systemd-run
    --user -p Delegate=yes ...``) owns its cgroup: the directory, its ``cgroup.procs`` and
    ``cgroup.subtree_control`` belong to its uid, and a rootless runtime may make containers'
    cgroups there. The harness first moves into a leaf of it (``enter_delegated_leaf``), since a
    cgroup that hands controllers down may hold no process: the delegated cgroup is the leaf's
    parent, and counts only while no other process is in it.
    """
    mount = v2_mount()
    own = process_cgroups("self").get("")
    if mount is None or own is None or PurePosixPath(own).name != HARNESS_LEAF:
        return None
    parent = PurePosixPath(own).parent
    directory = mount / str(parent).lstrip("/")
    try:
        if directory.stat().st_uid != os.geteuid() or (directory / "cgroup.procs").read_text().split():
            return None
    except OSError:
        return None
    return str(parent) if os.access(directory / "cgroup.subtree_control", os.W_OK) else None


@dataclass
class DelegatedLeaf:
    """The harness's leaf in its delegated cgroup, and what it found there: ``leave`` puts the
    delegated cgroup back as it was (no leftover cgroup when the harness's unit lives on)."""

    #: The delegated cgroup's directory.
    directory: Path
    #: Its ``cgroup.subtree_control`` when the harness came (what the runtimes enabled is undone).
    controls: frozenset[str]

    def leave(self) -> None:
        """Best effort, at the end of the run: disable what was enabled since, move this process
        back, remove the leaf. A runtime's cgroup still there keeps its controllers (and the leaf)."""
        try:
            added = set((self.directory / "cgroup.subtree_control").read_text().split()) - self.controls
            if added:
                (self.directory / "cgroup.subtree_control").write_text(" ".join(f"-{c}" for c in sorted(added)))
            (self.directory / "cgroup.procs").write_text(str(os.getpid()))
            (self.directory / HARNESS_LEAF).rmdir()
        except OSError:
            pass


def enter_delegated_leaf() -> tuple[DelegatedLeaf | None, str | None]:
    """Move this (unprivileged) process into the leaf ``ocitest-harness`` of its own cgroup when
    that cgroup is delegated to it (see ``delegated_cgroup``); its later children start there.
    Returns the leaf (to ``leave`` at the end), or why there is no delegated cgroup to use."""
    mount = v2_mount()
    if mount is None or cgroup_layout() != "v2":
        return None, f"the host's cgroups are {cgroup_layout()}, not a pure cgroup v2 hierarchy"
    own = process_cgroups("self").get("", "/")
    if PurePosixPath(own).name == HARNESS_LEAF:  # a run started from within a run's leaf
        return None, None if delegated_cgroup() else f"{PurePosixPath(own).parent} is not the harness's own"
    directory = mount / own.lstrip("/")
    uid = os.geteuid()
    writable = all(os.access(directory / n, os.W_OK) for n in ("cgroup.procs", "cgroup.subtree_control"))
    if directory.stat().st_uid != uid or not writable:
        return None, (f"its cgroup {own} is not delegated to uid {uid} (run it in a unit with Delegate=yes, e.g. "
                      "systemd-run --user -p Delegate=yes --wait --pipe ocitest run --rootless ...)")
    leaf = DelegatedLeaf(directory, frozenset((directory / "cgroup.subtree_control").read_text().split()))
    try:
        (directory / HARNESS_LEAF).mkdir(exist_ok=True)
        (directory / HARNESS_LEAF / "cgroup.procs").write_text(str(os.getpid()))
        others = (directory / "cgroup.procs").read_text().split()
    except OSError as exc:
        leaf.leave()
        return None, f"could not move into {directory / HARNESS_LEAF}: {exc.strerror}"
    if others:
        leaf.leave()
        return None, (f"{own}, delegated to uid {uid}, also holds other processes ({', '.join(others[:5])}): "
                      "start ocitest as the unit's only process")
    return leaf, None


# -- a container's cgroups, found without its process ----------------------------------------------


def cgroup_dirs(cgroups_path: str) -> list[Path]:
    """The directories that an absolute ``linux.cgroupsPath`` names in each hierarchy, if present."""
    relative = cgroups_path.strip("/")
    return [point / relative for point in cgroup_mounts() if (point / relative).is_dir()]


def container_cgroup_dirs(container_id: str) -> list[Path]:
    """Directories named after a container that has no cgroupsPath: at each hierarchy's root, and
    under the harness's own cgroup there (where the runtime's child processes start).

    For a container whose process is gone; while it lives, ``process_cgroup_dirs`` reads where it is.
    """
    candidates = {point / container_id for point in cgroup_mounts()}
    for point, path in own_cgroup_paths().items():
        # under our own cgroup, and under its parent (where runc starts a relative path on cgroup v2)
        candidates |= {point / path.strip("/") / container_id, point / str(PurePosixPath(path).parent).strip("/")
                       / container_id}
    return sorted(p for p in candidates if p.is_dir())


def remove_cgroup_tree(directory: Path) -> None:
    """rmdir ``directory`` and its sub-cgroups, deepest first; a busy one (live processes) stays."""
    subs = sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
    for sub in subs:
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        directory.rmdir()
    except OSError:
        pass


def remove_cgroup_dirs(cgroups_path: str) -> None:
    """Remove what a runtime left of ``cgroups_path`` (deepest first); the harness leaves no cgroups."""
    for directory in cgroup_dirs(cgroups_path):
        remove_cgroup_tree(directory)

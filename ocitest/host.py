"""Facts about the host, read from outside the container while it exists."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil


def kernel() -> str:
    return platform.release()


def cgroup_layout() -> str:
    """``v2`` (unified), ``hybrid`` (v1 controllers plus a v2 mount) or ``v1``."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    by_point = {line.split()[1]: line.split()[2] for line in mounts if len(line.split()) > 2}
    if by_point.get("/sys/fs/cgroup") == "cgroup2":
        return "v2"
    if any(fstype == "cgroup2" for fstype in by_point.values()):
        return "hybrid"
    return "v1"


def facts() -> dict:
    return {"kernel": kernel(), "cgroup": cgroup_layout(), "machine": platform.machine()}


def mount_table(*mentioning: str) -> list[tuple[str, str, str]]:
    """(mount point, fs type, source) of the mounts the harness's namespace sees.

    With ``mentioning``, only the mounts whose point or source contains one of those strings
    (a container ID, a bundle path): other tests and other runs on the same host mount and
    unmount things too, and must not look like this container's doing.
    """
    rows = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        row = (fields[4], rest[0], rest[1] if len(rest) > 1 else "")
        if not mentioning or any(m in row[0] or m in row[2] for m in mentioning):
            rows.append(row)
    return sorted(rows)


def nsenter(pid: int, *flags: str) -> list[str]:
    """``nsenter -t PID FLAGS`` for a command run in the container's namespaces.

    An unprivileged caller (a rootless run) may join the container's other namespaces only
    from inside its user namespace, which it owns; so ``-U`` is added then.
    """
    argv = ["nsenter", "-t", str(pid)]
    if os.geteuid() != 0 and namespace(pid, "user") != namespace("self", "user"):
        argv += ["-U", "--preserve-credentials"]
    return [*argv, *flags]


def namespace(pid: int | str, kind: str) -> str:
    """The namespace identity (``net:[4026531840]``) of ``pid`` (or ``self``)."""
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def descendants() -> set[int]:
    """Pids of every live process below the harness (zombies excluded)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return found


def process_alive(pid: int) -> bool:
    """True if ``pid`` (a positive int) exists and is not a zombie."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def container_children(rootfs: str | os.PathLike) -> list[int]:
    """Direct children of the harness whose root directory is ``rootfs``.

    After ``create`` the runtime has exited and the container process was re-parented to the
    harness (the subreaper): this finds it without asking the runtime.
    """
    found = []
    for child in psutil.Process().children():
        try:
            if os.path.samefile(f"/proc/{child.pid}/root", rootfs):
                found.append(child.pid)
        except OSError:
            pass
    return found


def cgroup_mounts() -> list[Path]:
    """Mount points of every cgroup (v1) and cgroup2 hierarchy the harness sees."""
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] in ("cgroup", "cgroup2"):
            points.append(Path(fields[1]))
    return points


def cgroup_dirs(cgroups_path: str) -> list[Path]:
    """The directories that an absolute ``linux.cgroupsPath`` names in each hierarchy, if present."""
    relative = cgroups_path.strip("/")
    return [point / relative for point in cgroup_mounts() if (point / relative).is_dir()]


def own_cgroup_paths() -> dict[Path, str]:
    """Per hierarchy mount point, the cgroup this process is in there (from /proc/self/cgroup).

    A runtime given no ``linux.cgroupsPath`` may place the container under its caller's cgroup
    (runc does so in a v1 hierarchy where the caller is not at the root), so that is one of the
    places a container's cgroup can be when the runtime has lost track of it.
    """
    own: dict[frozenset, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[frozenset(filter(None, controllers.split(",")))] = path
    found: dict[Path, str] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] not in ("cgroup", "cgroup2"):
            continue
        options = set(fields[3].split(","))
        for controllers, path in own.items():
            if (fields[2] == "cgroup2" and not controllers) or (controllers and controllers <= options):
                found[Path(fields[1])] = path
                break
    return found


def container_cgroup_dirs(container_id: str) -> list[Path]:
    """Directories named after a container that has no cgroupsPath: at each hierarchy's root, and
    under the harness's own cgroup there (where the runtime's child processes start)."""
    candidates = {point / container_id for point in cgroup_mounts()}
    candidates |= {point / path.strip("/") / container_id for point, path in own_cgroup_paths().items()}
    return sorted(p for p in candidates if p.is_dir())


def remove_cgroup_tree(directory: Path) -> None:
    """rmdir ``directory`` and its sub-cgroups, deepest first; a busy one (live processes) stays."""
    for sub in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        directory.rmdir()
    except OSError:
        pass


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid``, or None when it is gone."""
    try:
        return psutil.Process(pid).ppid()
    except psutil.NoSuchProcess:
        return None


def remove_cgroup_dirs(cgroups_path: str) -> None:
    """Remove what a runtime left of ``cgroups_path`` (deepest first); the harness leaves no cgroups."""
    for directory in cgroup_dirs(cgroups_path):
        remove_cgroup_tree(directory)


def proc_status(pid: int | str) -> dict[str, str]:
    """/proc/PID/status as a dict (``Uid``, ``Groups``, ``CapEff``, ``NoNewPrivs``, ``Umask``, ...).

    ``Uid``, ``Gid`` and ``Groups`` are given as the process itself sees them, in its own user
    namespace: config.json's IDs are container-side, while the kernel shows the reader's view
    (the caller's uid in a rootless container, where uid 0 maps to it).
    """
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    for key, kind in (("Uid", "uid"), ("Gid", "gid"), ("Groups", "gid")):
        if key in fields:
            fields[key] = " ".join(str(_inside(pid, kind, int(v))) for v in fields[key].split())
    return fields


def _inside(pid: int | str, kind: str, host_id: int) -> int:
    """``host_id`` as seen inside ``pid``'s user namespace (65534, the overflow ID, if unmapped)."""
    try:
        rows = Path(f"/proc/{pid}/{kind}_map").read_text().split("\n")
    except OSError:
        return host_id
    for row in rows:
        parts = row.split()
        if len(parts) == 3:
            inside, outside, count = map(int, parts)
            if outside <= host_id < outside + count:
                return inside + host_id - outside
    return 65534


def proc_limits(pid: int) -> dict[str, tuple[str, str]]:
    """/proc/PID/limits as {"Max open files": (soft, hard)} ("unlimited" kept as text)."""
    limits = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        name, values = line[:26].strip(), line[26:].split()
        if len(values) >= 2:
            limits[name] = (values[0], values[1])
    return limits


def proc_environ(pid: int) -> list[str]:
    """The environment the process was started with (what execve got)."""
    return [e for e in Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace").split("\0") if e]

"""Processes as the host sees them: the container's process and the harness's children, their
namespaces and what /proc/PID says of them (status, limits, environment).

Read from outside the container while it exists: a check compares what the runtime set up with
what config.json asked for, without trusting the program inside to report it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import psutil


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


def own_children() -> tuple[list[int], list[int]]:
    """The harness's own children, one scan: (exited and not reaped yet, live)."""
    zombies: list[int] = []
    live: list[int] = []
    for child in psutil.Process().children():
        try:
            (zombies if child.status() == psutil.STATUS_ZOMBIE else live).append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return zombies, live


def helpers_of(container_id: str, bundle: str, candidates: Iterable[int]) -> list[int]:
    """Of ``candidates`` (live children of the harness), those a runtime runs for one container
    (runsc's sandbox and gofer): in a cgroup named after it, or with its bundle on their command line."""
    found = []
    for pid in candidates:
        try:
            cgroups = Path(f"/proc/{pid}/cgroup").read_text()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        # The bundle as a whole argument (``--bundle DIR`` or ``--bundle=DIR``): bundles/b1 is not bundles/b10.
        names_bundle = any(arg == bundle or arg.endswith(f"={bundle}") for arg in argv)
        if f"/{container_id}\n" in cgroups or f"/{container_id}/" in cgroups or names_bundle:
            found.append(pid)
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


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid``, or None when it is gone."""
    try:
        return psutil.Process(pid).ppid()
    except psutil.NoSuchProcess:
        return None


def proc_status(pid: int | str) -> dict[str, str]:
    """/proc/PID/status as a dict (``Uid``, ``Groups``, ``CapEff``, ``NoNewPrivs``, ``Umask``, ...).

    ``Uid``, ``Gid`` and ``Groups`` are given as the process itself sees them, in its own user
    namespace: config.json's IDs are container-side, while the kernel shows the reader's view
    (the caller's uid in a rootless container, where uid 0 maps to it).
    """
    fields = parse_status(Path(f"/proc/{pid}/status").read_text())
    for key, kind in (("Uid", "uid"), ("Gid", "gid"), ("Groups", "gid")):
        if key in fields:
            fields[key] = " ".join(str(_inside(pid, kind, int(v))) for v in fields[key].split())
    return fields


def parse_status(text: str) -> dict[str, str]:
    """A /proc/PID/status text as a dict, the IDs as the reader sees them (see proc_status)."""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
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


def proc_limits(pid: int | str) -> dict[str, tuple[str, str]]:
    """/proc/PID/limits as {"Max open files": (soft, hard)} ("unlimited" kept as text)."""
    return parse_limits(Path(f"/proc/{pid}/limits").read_text())


def parse_limits(text: str) -> dict[str, tuple[str, str]]:
    """A /proc/PID/limits text as {"Max open files": (soft, hard)}."""
    limits = {}
    for line in text.splitlines()[1:]:
        name, values = line[:26].strip(), line[26:].split()
        if len(values) >= 2:
            limits[name] = (values[0], values[1])
    return limits


def proc_environ(pid: int) -> list[str]:
    """The environment the process was started with (what execve got)."""
    return [e for e in Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace").split("\0") if e]

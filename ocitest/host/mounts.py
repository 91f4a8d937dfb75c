"""The mount tables the kernel shows in /proc/PID/mountinfo, read in one place.

mountinfo rather than /proc/PID/mounts: it holds everything the other file does (the options
there are the per-mount and superblock options run together) plus what the mount checks need
apart: per-mount against superblock options, the propagation fields, mount and parent IDs.
Whoever asks about mounts (the harness's cgroup lookups, the scratch folder choice, the
mount and propagation checks, mount(8)'s answers) gets the same ``Mount``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The characters the kernel writes as octal escapes in a mountinfo path (space, tab, newline, backslash).
_ESCAPE = re.compile(r"\\(040|011|012|134)")
#: A comma that separates options; a comma inside a quoted value (an SELinux context) does not.
_OPTION_SEPARATOR = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo (proc_pid_mountinfo(5)), paths unescaped."""

    mount_id: int
    parent_id: int
    #: ``major:minor`` of the file system's device.
    device: str
    #: The directory of the file system that is mounted (``/`` unless a bind mount of a subtree).
    root: str
    point: str
    #: Per-mount options (``ro``, ``nosuid``, ``relatime``, ...): what this mount of the file system has.
    options: frozenset[str]
    #: The optional fields: propagation (``shared:N``, ``master:N``, ``propagate_from:N``, ``unbindable``).
    optional: tuple[str, ...]
    fstype: str
    source: str
    #: Superblock options: what the file system has wherever it is mounted (a tmpfs's ``size=``,
    #: a cgroup v1 hierarchy's controllers).
    super_options: frozenset[str]

    @property
    def propagation(self) -> str:
        return " ".join(self.optional) or "private"

    def shared(self) -> bool:
        return any(f.startswith("shared:") for f in self.optional)

    def slave(self) -> bool:
        return any(f.startswith("master:") for f in self.optional)

    def unbindable(self) -> bool:
        return "unbindable" in self.optional

    def describe(self) -> str:
        return (f"{self.point}: per-mount [{','.join(sorted(self.options))}], "
                f"superblock [{','.join(sorted(self.super_options))}], propagation [{self.propagation}]")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def _options(text: str) -> frozenset[str]:
    return frozenset(o for o in _OPTION_SEPARATOR.split(text) if o)


def parse_mountinfo(text: str) -> list[Mount]:
    """Every mount of a mountinfo text (a whole file, or the lines mount(8) printed), in its order."""
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 6:
            continue
        mounts.append(Mount(
            mount_id=int(fields[0]), parent_id=int(fields[1]), device=fields[2], root=_unescape(fields[3]),
            point=_unescape(fields[4]), options=_options(fields[5]), optional=tuple(fields[6:]),
            fstype=rest[0] if rest else "", source=_unescape(rest[1]) if len(rest) > 1 else "",
            super_options=_options(rest[2]) if len(rest) > 2 else frozenset()))
    return mounts


def mounts_of(pid: int | str = "self") -> list[Mount]:
    """The mounts ``pid``'s mount namespace has (the harness's own by default), bottom of each stack first."""
    return parse_mountinfo(Path(f"/proc/{pid}/mountinfo").read_text())


def mounts_at(pid: int | str, point: str) -> list[Mount]:
    """The mounts stacked at ``point`` in ``pid``'s mount namespace, the visible one last."""
    return [m for m in mounts_of(pid) if m.point == point]


def mount_table(*mentioning: str) -> list[tuple[str, str, str]]:
    """(mount point, fs type, source) of the mounts the harness's namespace sees.

    With ``mentioning``, only the mounts whose point or source contains one of those strings
    (a container ID, a bundle path): other tests and other runs on the same host mount and
    unmount things too, and must not look like this container's doing.
    """
    rows = [(m.point, m.fstype, m.source) for m in mounts_of()]
    return sorted(r for r in rows if not mentioning or any(s in r[0] or s in r[2] for s in mentioning))

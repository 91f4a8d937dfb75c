"""What the mount checks (test_mounts*.py) share: the container's mount table as its program has it,
mount(8) as the oracle, host-side bind sources, and making a container with extra mounts.

The checks read the program's mounts through ``container.view`` (ocitest/view.py): for a runtime whose
state pid is the program, the host reads ``/proc/<pid>/mountinfo`` and acts through ``/proc/<pid>/root``
(a write there meets the container's read-only mount, an exec its noexec mount); for a sandbox
(gVisor) the program prints its own mountinfo and does the writes and execs itself. Host-side mounts
(sources with submounts) live in the bundle folder; the bundle holds them and unmounts them when it
is removed, after the container.
"""

from __future__ import annotations

from pathlib import Path

from ocitest import HarnessError, needs, probe, provisions
from ocitest.host import Mount, mount8_bind, mount8_tmpfs

MNT = "/mnt/ocitest"


# -- mountinfo --------------------------------------------------------------------------------


def container_mounts(container) -> list[Mount]:
    """The program's mount table (``container.view``; a sandboxed container is started to be asked)."""
    return container.view.mounts()


def mounts_at(container, point: str) -> list[Mount]:
    return container.view.mounts_at(point)


def top_mount(container, point: str) -> Mount:
    found = mounts_at(container, point)
    assert found, f"after create there is no mount at {point} in the container: {options_note(container)}"
    return found[-1]


def options_note(container) -> str:
    return "mounts asked for: " + "; ".join(f"{m['destination']} {m.get('options', [])}"
                                           for m in container.bundle.config["mounts"]
                                           if m["destination"].startswith(MNT))


def flag_view(m: Mount) -> tuple[frozenset, frozenset]:
    """What the mount options decide: per-mount flags and the superblock flags (no key=value).

    Read-only is one property however it is reached: mount(8) makes the superblock read-only,
    a runtime may instead remount its own mount read-only (per-mount flag) and leave the
    superblock writable; both give EROFS on write. So ``ro``/``rw`` are folded into the first
    set (``ro`` when either says so) and left out of the second.
    """
    readonly = "ro" in m.options or "ro" in m.super_options
    flags = (set(m.options) - {"ro", "rw"}) | {"ro" if readonly else "rw"}
    return frozenset(flags), frozenset(o for o in m.super_options if "=" not in o and o not in ("ro", "rw"))


#: The flags Linux's mountinfo shows (per-mount or superblock) that a mount option can set.
LINUX_FLAGS = frozenset({"ro", "rw", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "nosymfollow",
                         "sync", "dirsync", "mand", "lazytime"})


def grant(bundle, *capabilities: str) -> None:
    """Give the program ``capabilities`` for a probe it runs itself under the inside view: CAP_MKNOD to
    make the device probe's node, CAP_SETUID and CAP_SETGID to become the unprivileged user of the
    set-user-ID probe, CAP_SYS_ADMIN to bind a mount elsewhere (the host view does those from the host
    or reads the fact from the kernel, and needs none of them)."""
    caps = bundle.config["process"].setdefault("capabilities", {})
    for kind in ("bounding", "permitted", "effective"):
        for capability in capabilities:
            if capability not in caps.setdefault(kind, []):
                caps[kind].append(capability)


def shown_flags(container) -> frozenset[str] | None:
    """The flags the program's mount table can show: None (all of them) when the host reads the kernel's
    own mountinfo of the program (host view); under the inside view, whose table is a sandbox kernel's
    own (gVisor's shows per mount only ``ro``/``rw``, ``noexec``, ``noatime``), ``ro``/``rw`` and the
    flags the table shows on some mount. A flag it shows on no mount, not even where the config asks
    for it, cannot be read from it either way."""
    if not container.view.from_inside:
        return None
    shown = {"ro", "rw"}
    for m in container_mounts(container):
        shown |= {o for o in (*m.options, *m.super_options) if o in LINUX_FLAGS}
    return frozenset(shown)


def only(flags: tuple[frozenset, frozenset], shown: frozenset[str]) -> tuple[frozenset, frozenset]:
    """``flag_view``'s two sets cut down to the flags in ``shown``."""
    return frozenset(flags[0] & shown), frozenset(flags[1] & shown)


def inside(container, path: str) -> str:
    """``path`` of the container as the host reaches it, through the container process's root.

    Host view only (the state pid must be the program): a check that can run under a sandbox asks
    ``container.view`` (``exists``, ``read_text``, ``lstat``, ``write``, ...) instead."""
    return f"/proc/{container.pid}/root{path}"


# -- mount(8), the oracle ----------------------------------------------------------------------


def mount8(options: tuple[str, ...], kind: str = "tmpfs") -> tuple[frozenset, frozenset]:
    """The flags mount(8) gives a tmpfs mounted with ``options``, or (``kind`` "bind") a bind mount
    of a fresh tmpfs (see ocitest.host.mount8_tmpfs and mount8_bind).

    That mount(8) accepts ``options`` at all is the check's precondition ``mount8_tmpfs``.
    """
    made, why = (mount8_bind if kind == "bind" else mount8_tmpfs)(options)
    if made is None:
        raise HarnessError(f"mount(8) refuses a {kind} mount with {list(options)} although the precondition said "
                           f"it accepts them: {why}")
    return flag_view(made)


# -- host-side sources -------------------------------------------------------------------------


#: Submounts of the host tree: one with the kernel defaults, one with every "no" flag, one strictatime.
SUBMOUNTS = {
    "sub-plain": "",
    "sub-locked": "ro,nosuid,nodev,noexec,nosymfollow,noatime,nodiratime",
    "sub-strict": "strictatime",
}


def host_tree(bundle) -> Path:
    """A shared tmpfs in the bundle folder, holding a marker file and the SUBMOUNTS; the bundle
    unmounts them when it is removed."""
    root = bundle.path / "tree"
    root.mkdir()
    bundle.hold(provisions.mount(root, "-t", "tmpfs", "-o", "mode=755", "ocitest-tree"))
    provisions.run("mount", "--make-shared", str(root))
    (root / "marker").write_text("tree\n")
    for name, opts in SUBMOUNTS.items():
        (root / name).mkdir()
        bundle.hold(provisions.mount(root / name, "-t", "tmpfs", *(["-o", opts] if opts else []), f"ocitest-{name}"))
    return root


def source_dir(bundle, name: str, marker: str | None = None) -> Path:
    path = bundle.path / name
    path.mkdir()
    if marker is not None:
        (path / "marker").write_text(marker + "\n")
    return path


def add_mount(bundle, destination: str, options: list[str], *, source: str = "ocitest-tmpfs",
              fstype: str = "tmpfs", **extra) -> dict:
    entry = {"destination": destination, "type": fstype, "source": source, "options": list(options), **extra}
    bundle.config["mounts"].append(entry)
    return entry


def created(new_container, bundle, what: str):
    """Create a container whose program just waits; create must succeed."""
    container = new_container(probe.waiting(), bundle=bundle)
    call = container.create(check=False)
    assert call.ok, f"create failed with {what}: {call.describe()}"
    return container


def try_create(new_container, bundle):
    container = new_container(probe.waiting(), bundle=bundle)
    return container, container.create(check=False)


#: The checks that bind-mount a tree of host mounts the harness makes (root only).
HOST_TREE = needs("privileged", "mount a tmpfs tree with submounts on the host (the bind source of the check)")


def submount_points(dest: str) -> list[str]:
    return [f"{dest}/{name}" for name in SUBMOUNTS]

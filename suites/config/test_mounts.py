"""config.md, Mounts and Linux mount options: what each entry of `mounts` must become in the container.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configMounts
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxMountOptions

Most checks stop after `create`: the container's mounts are then complete, and the host reads
them through ``/proc/<container pid>/mountinfo`` and acts on them through ``/proc/<pid>/root``
(a write there meets the container's read-only mount, an exec its noexec mount). The table's
options "correspond to mount(8)", so mount(8) itself is the oracle: the same options on a
tmpfs mounted by mount(8) in a throw-away mount namespace give the flags the container's
mount must show. Host-side mounts (sources with submounts) live in the bundle folder; the bundle holds them
and unmounts them when it is removed, after the container.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocitest import HarnessError, load_catalog, needs, probe, provisions, requirement
from ocitest.host import Mount, mount8_bind, mount8_tmpfs, mounts_of

MNT = "/mnt/ocitest"


# -- mountinfo --------------------------------------------------------------------------------


def container_mounts(container) -> list[Mount]:
    return mounts_of(container.pid)


def mounts_at(container, point: str) -> list[Mount]:
    return [m for m in container_mounts(container) if m.point == point]


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


def inside(container, path: str) -> str:
    """``path`` of the container as the host reaches it, through the container process's root."""
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


# -- mounts: order, destinations, failures ------------------------------------------------------


@requirement("config.mounts-in-order")
@needs("program_visible_from_host")
def test_mounts_are_made_in_the_listed_order(new_container, new_bundle):
    """Three cases the order decides: two mounts on one destination (the later one is on top), a
    parent listed before a mount nested in it (the nested one stays visible) and a mount nested in
    a parent listed after it (the parent, mounted later, hides it). A runtime that sorts the
    entries, parents first, gets the last case wrong."""
    bundle = new_bundle()
    first, second = source_dir(bundle, "first", "first"), source_dir(bundle, "second", "second")
    add_mount(bundle, f"{MNT}/stack", ["rbind"], source=str(first), fstype="bind")
    add_mount(bundle, f"{MNT}/stack", ["rbind"], source=str(second), fstype="bind")
    add_mount(bundle, f"{MNT}/nest", ["size=1m"])
    add_mount(bundle, f"{MNT}/nest/inner", ["rbind"], source=str(first), fstype="bind")
    add_mount(bundle, f"{MNT}/cover/inner", ["rbind"], source=str(first), fstype="bind")
    add_mount(bundle, f"{MNT}/cover", ["size=1m"])
    container = created(new_container, bundle, "two mounts on one destination and nested mounts")
    seen = Path(inside(container, f"{MNT}/stack/marker")).read_text().strip()
    assert seen == "second", f"{MNT}/stack shows the {seen!r} source on top: the mounts were not made in order"
    assert Path(inside(container, f"{MNT}/nest/inner/marker")).exists(), (
        f"{MNT}/nest/inner is hidden: the tmpfs at {MNT}/nest was mounted after the mount nested in it"
    )
    assert not Path(inside(container, f"{MNT}/cover/inner/marker")).exists(), (
        f"{MNT}/cover/inner, listed before the tmpfs at {MNT}/cover, is visible: the tmpfs was mounted first"
    )
    ours = [m.point for m in container_mounts(container) if m.point.startswith(MNT)]
    listed = [m["destination"] for m in bundle.config["mounts"] if m["destination"].startswith(MNT)]
    assert ours == listed, f"the mounts were listed as {listed}; the container's mount table has them as {ours}"


@requirement("config.mount-relative-destination")
@needs("program_visible_from_host")
def test_a_relative_destination_is_taken_relative_to_root(new_container, new_bundle):
    bundle = new_bundle()
    src = source_dir(bundle, "relative", "relative")
    add_mount(bundle, MNT.lstrip("/") + "/relative", ["rbind"], source=str(src), fstype="bind")
    container, call = try_create(new_container, bundle)
    assert call.ok, f"create refused the relative destination {MNT.lstrip('/')}/relative: {call.describe()}"
    points = [m.point for m in container_mounts(container)]
    assert f"{MNT}/relative" in points, (
        f"the relative destination was not mounted at {MNT}/relative; the container's mounts are {points}"
    )
    assert Path(inside(container, f"{MNT}/relative/marker")).exists(), f"{MNT}/relative does not show the source"


@requirement("config.mount-destination-created")
@needs("program_visible_from_host")
def test_a_missing_destination_is_created(new_container, new_bundle):
    bundle = new_bundle()
    src = source_dir(bundle, "deep", "deep")
    dest = f"{MNT}/not/there/yet"
    assert not (bundle.rootfs / dest.lstrip("/")).exists()
    add_mount(bundle, dest, ["rbind"], source=str(src), fstype="bind")
    add_mount(bundle, f"{MNT}/tmp/also/missing", ["size=1m"])
    container = created(new_container, bundle, "mount destinations missing from the rootfs")
    points = [m.point for m in container_mounts(container)]
    missing = [d for d in (dest, f"{MNT}/tmp/also/missing") if d not in points]
    assert not missing, f"no mount at these destinations the rootfs lacked: {missing}"


@requirement("config.mount-destination-inside-container")
@needs("program_visible_from_host")
def test_a_symlink_in_the_destination_is_resolved_inside_the_root(new_container, new_bundle):
    bundle = new_bundle()
    outside = bundle.path / "outside-the-root"
    outside.mkdir()
    # An absolute link: followed on the host it leads out of the rootfs to `outside`; followed inside
    # the container's root it names <rootfs>/<the same path>.
    (bundle.rootfs / "ocitest-escape").symlink_to(outside)
    add_mount(bundle, "/ocitest-escape", ["size=1m"])
    container = new_container(probe.waiting(), bundle=bundle)
    if container.create(check=False).failed:
        return  # refusing the link (its target does not exist inside the root) lets nothing out
    points = [m.point for m in container_mounts(container)]
    assert str(outside) in points, (
        f"the link /ocitest-escape -> {outside} was not followed inside the container's root: no mount at "
        f"{outside} in the container (it may have been made on the host path, outside the root)"
    )
    assert not any(outside.iterdir()) and not os.path.ismount(outside), "the mount landed on the host path"


@requirement("config.mount-failure-is-error")
@pytest.mark.parametrize("kind", ["unknown-fstype", "missing-source"])
def test_a_mount_the_runtime_cannot_make_fails_create(kind, new_container, new_bundle):
    bundle = new_bundle()
    if kind == "unknown-fstype":
        add_mount(bundle, f"{MNT}/bad", [], fstype="ocitestnosuchfs", source="none")
        what = "a mount of a filesystem type the kernel does not have"
    else:
        add_mount(bundle, f"{MNT}/bad", ["rbind"], fstype="bind", source=str(bundle.path / "no-such-dir"))
        what = "a bind mount of a source that does not exist"
    container, call = try_create(new_container, bundle)
    assert call.failed, f"create succeeded with {what}: {call.describe()}"
    call, data = container.state_call()
    assert not call.ok, f"after the failed create the runtime still knows the container: {data}"


# -- options that mount(8) describes (flags) ----------------------------------------------------

#: option -> the option placed before it, so that the option has something to undo. mount(8)
#: applies options in order and says that the last one wins when two conflict.
UNDOES = {
    "async": "sync", "atime": "noatime", "dev": "nodev", "diratime": "nodiratime", "exec": "noexec",
    "noiversion": "iversion", "nolazytime": "lazytime", "norelatime": "relatime", "nostrictatime": "strictatime",
    "rw": "ro", "suid": "nosuid", "symfollow": "nosymfollow", "nomand": "mand",
}
FLAG_OPTIONS = [
    "async", "atime", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime", "loud", "noatime",
    "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "norelatime", "nostrictatime", "nosuid", "relatime",
    "ro", "rw", "silent", "strictatime", "suid", "sync", "nosymfollow", "symfollow", "mand", "nomand",
]
#: Levels below MUST. Refusing a SHOULD option is still not implementing it (a failed SHOULD, yellow);
#: refusing a MAY option is the runtime's choice (skipped).
OPTIONAL_OPTIONS = {"nosymfollow", "symfollow", "mand", "nomand"}


def flag_options(option: str) -> list[str]:
    """The options of the tmpfs that checks ``option``: its opposite first where it has one to undo."""
    return ([UNDOES[option]] if option in UNDOES else []) + [option]


def write_probe(container, path: str) -> OSError | None:
    try:
        with open(inside(container, path), "w") as f:
            f.write("x")
    except OSError as exc:
        return exc
    return None


def exec_probe(container, path: str) -> OSError | None:
    script = inside(container, path)
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(script, 0o755)
    try:
        subprocess.run([script], check=True, timeout=30)
    except OSError as exc:
        return exc
    return None


def device_probe(container, path: str) -> OSError | None:
    node = inside(container, path)
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null node
    try:
        os.close(os.open(node, os.O_WRONLY))
    except OSError as exc:
        return exc
    return None


#: option -> (probe, file on the mount, the option that restricts, its errno, what the probe does):
#: with the restricting option the probe must fail with that errno; with its opposite it must work.
EFFECTS = {
    "ro": (write_probe, "written", "ro", errno.EROFS, "writing to"),
    "rw": (write_probe, "written", "ro", errno.EROFS, "writing to"),
    "noexec": (exec_probe, "prog", "noexec", errno.EACCES, "running a program from"),
    "exec": (exec_probe, "prog", "noexec", errno.EACCES, "running a program from"),
    "nodev": (device_probe, "null", "nodev", errno.EACCES, "opening a device node on"),
    "dev": (device_probe, "null", "nodev", errno.EACCES, "opening a device node on"),
}
#: The device probe makes a character device node on the mount from the host.
DEVICE_EFFECT = needs("privileged", "make a device node on the mount to see the effect of `dev`/`nodev` (mknod "
                                    "needs CAP_MKNOD in the initial user namespace)")


#: The options checked on a bind mount too: the per-mount flags, which mount(8) applies to a bind by
#: remounting it, each where applying it or not gives a different mount. (`strictatime` is left out:
#: mount(8) on a bind gives `relatime` with it; the superblock options, `sync`, `iversion`, ..., do
#: not change a bind mount.)
BIND_FLAG_OPTIONS = ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime",
                     "nodiratime", "diratime", "nosymfollow", "symfollow"]


def flag_params(options: list[str]) -> list:
    return [pytest.param(o, marks=[requirement(f"config.mount-option-{o}"), needs("mount8_tmpfs", *flag_options(o)),
                                   *([DEVICE_EFFECT] if o in ("dev", "nodev") else [])])
            for o in options]


@pytest.mark.parametrize("option", flag_params(FLAG_OPTIONS))
@needs("program_visible_from_host")
def test_flag_option_gives_the_mount_what_mount8_gives(option, new_container, new_bundle):
    check_flag_option("tmpfs", option, new_container, new_bundle)


@pytest.mark.parametrize("option", flag_params(BIND_FLAG_OPTIONS))
@needs("program_visible_from_host")
@needs("privileged", "mount a tmpfs on the host (the bind source of the check)")
def test_flag_option_gives_a_bind_mount_what_mount8_gives(option, new_container, new_bundle):
    """Container engines make most mounts as bind mounts (a read-only volume is `rbind` and `ro`): the
    options must hold there as on a filesystem mounted anew."""
    check_flag_option("bind", option, new_container, new_bundle)


def flag_entry(bundle, kind: str, dest: str, options: list[str]) -> dict:
    """A tmpfs at ``dest`` with ``options``, or (``kind`` "bind") an rbind of a fresh host tmpfs."""
    if kind == "tmpfs":
        return add_mount(bundle, dest, options)
    source = bundle.path / "bind-source"
    source.mkdir()
    bundle.hold(provisions.mount(source, "-t", "tmpfs", "-o", "mode=755", "ocitest-bind-source"))
    return add_mount(bundle, dest, ["rbind", *options], source=str(source), fstype="bind")


def check_flag_option(kind: str, option: str, new_container, new_bundle) -> None:
    """``option`` (after its opposite, where it has one) on a mount of ``kind`` gives the flags mount(8)
    gives the same kind of mount, and the flag's effect where it is cheap to see."""
    options = flag_options(option)
    expected = mount8(tuple(options), kind)
    bundle = new_bundle()
    dest = f"{MNT}/{option}"
    entry = flag_entry(bundle, kind, dest, options)
    container, call = try_create(new_container, bundle)
    if call.failed and option in UNDOES:
        alone = new_bundle()
        flag_entry(alone, kind, dest, [option])
        _, alone_call = try_create(new_container, alone)
        if alone_call.ok:
            pytest.skip(f"the runtime refuses `{UNDOES[option]}`, which this check puts before `{option}` to have "
                        f"something to undo: {call.describe()}")
        call = alone_call
    if call.failed and option in OPTIONAL_OPTIONS:
        if load_catalog()[f"config.mount-option-{option}"].level == "MAY":
            pytest.skip(f"the runtime does not implement `{option}` (a MAY): {call.describe()}")
        raise AssertionError(f"the runtime refuses `{option}`, which it SHOULD implement: {call.describe()}")
    what = f"a {kind} mount with options {entry['options']}"
    assert call.ok, f"create failed for {what}: {call.describe()}"
    mount = top_mount(container, dest)
    got = flag_view(mount)
    assert got == expected, (
        f"with {what} the container's mount is {mount.describe()}; mount(8) gives per-mount "
        f"[{','.join(sorted(expected[0]))}], superblock [{','.join(sorted(expected[1]))}]"
    )
    # Where the flag has a cheap effect, the effect too.
    if option in EFFECTS:
        probe_effect, name, restricting, code, action = EFFECTS[option]
        problem = probe_effect(container, f"{dest}/{name}")
        if option == restricting:
            assert problem is not None and problem.errno == code, (
                f"{action} the `{option}` {kind} mount {dest} gave {problem!r}, not {errno.errorcode[code]}")
        else:
            assert problem is None, (
                f"{action} the `{option}` {kind} mount {dest} (after `{restricting}`) failed: {problem!r}")


@requirement("config.mount-option-remount")
@needs("program_visible_from_host")
def test_remount_changes_the_existing_mount_instead_of_adding_one(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/remount"
    add_mount(bundle, dest, ["size=1m"])
    add_mount(bundle, dest, ["remount", "ro"])
    container = created(new_container, bundle, f"a tmpfs at {dest} and a `remount,ro` entry for it")
    found = mounts_at(container, dest)
    assert len(found) == 1, (
        f"{dest} has {len(found)} mounts stacked ({'; '.join(m.describe() for m in found)}): `remount` mounted a new "
        "filesystem instead of changing the existing one"
    )
    assert "ro" in found[0].options or "ro" in found[0].super_options, (
        f"after `remount,ro` the mount is still writable: {found[0].describe()}")


# -- bind mounts and propagation ----------------------------------------------------------------


#: The checks that bind-mount a tree of host mounts the harness makes (root only).
HOST_TREE = needs("privileged", "mount a tmpfs tree with submounts on the host (the bind source of the check)")


def submount_points(dest: str) -> list[str]:
    return [f"{dest}/{name}" for name in SUBMOUNTS]


@requirement("config.mount-option-bind")
@needs("program_visible_from_host")
@HOST_TREE
def test_bind_mounts_the_source_without_its_submounts(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/bind"
    tree = host_tree(bundle)
    add_mount(bundle, dest, ["bind"], source=str(tree), fstype="bind")
    container = created(new_container, bundle, "a `bind` mount")
    top = top_mount(container, dest)
    assert top.source == "ocitest-tree" and Path(inside(container, f"{dest}/marker")).exists(), (
        f"{dest} does not show the bind source: {top.describe()} from {top.source}")
    points = {m.point for m in container_mounts(container)}
    copied = [p for p in submount_points(dest) if p in points]
    assert not copied, f"`bind` (not recursive) also brought the source's submounts: {copied}"


@requirement("config.mount-option-rbind")
@needs("program_visible_from_host")
@HOST_TREE
def test_rbind_mounts_the_source_with_its_submounts(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/rbind"
    tree = host_tree(bundle)
    add_mount(bundle, dest, ["rbind"], source=str(tree), fstype="bind")
    container = created(new_container, bundle, "an `rbind` mount")
    top = top_mount(container, dest)
    assert top.source == "ocitest-tree", f"{dest} does not show the bind source: {top.describe()} from {top.source}"
    points = {m.point for m in container_mounts(container)}
    lost = [p for p in submount_points(dest) if p not in points]
    assert not lost, f"`rbind` left out these submounts of the source: {lost}"


#: option -> (options of the entry, whether it reaches the submounts, what the top mount and each
#: submount must show in mountinfo, its wording). The kernel's own account of a mount's propagation
#: is mountinfo's optional fields: ``shared:N`` (in a peer group), ``master:N`` (a slave of one),
#: ``unbindable``, none for private.
PROPAGATION = {
    "shared": (["rbind", "shared"], False, Mount.shared, "shared"),
    "rshared": (["rbind", "rshared"], True, Mount.shared, "shared"),
    "private": (["rbind", "private"], False,
                lambda m: not m.shared() and not m.slave() and not m.unbindable(), "private"),
    "rprivate": (["rbind", "rprivate"], True,
                 lambda m: not m.shared() and not m.slave() and not m.unbindable(), "private"),
    # A slave has a master (``master:N``); a private mount has none. Both runtimes' default root
    # propagation already makes a bind mount a slave; the mount is made shared first so that `slave`
    # has something to change (mount(8) applies them in order).
    "slave": (["rbind", "shared", "slave"], False, lambda m: m.slave() and not m.unbindable(),
              "a slave (master:N)"),
    "rslave": (["rbind", "rshared", "rslave"], True, lambda m: m.slave() and not m.unbindable(),
               "a slave (master:N)"),
    "unbindable": (["rbind", "unbindable"], False, Mount.unbindable, "unbindable"),
    "runbindable": (["rbind", "runbindable"], True, Mount.unbindable, "unbindable"),
}


@pytest.mark.parametrize("option", [pytest.param(o, marks=requirement(f"config.mount-option-{o}"))
                                    for o in PROPAGATION])
@needs("program_visible_from_host")
@HOST_TREE
def test_propagation_option_sets_the_mount_propagation(option, new_container, new_bundle):
    options, recursive, holds, wording = PROPAGATION[option]
    bundle = new_bundle()
    dest = f"{MNT}/{option}"
    tree = host_tree(bundle)
    add_mount(bundle, dest, options, source=str(tree), fstype="bind")
    container, call = try_create(new_container, bundle)
    if call.failed and option in ("slave", "rslave"):
        plain = new_bundle()
        add_mount(plain, dest, ["rbind", option], source=str(tree), fstype="bind")
        _, plain_call = try_create(new_container, plain)
        if plain_call.ok:
            pytest.skip(f"the runtime refuses two propagation options on one mount ({options}); `{option}` alone "
                        f"is judged by its mount events (test_propagation_option_passes_mount_events_as_it_says)")
    assert call.ok, f"create failed for a bind mount with options {options}: {call.describe()}"
    points = [dest] + (submount_points(dest) if recursive else [])
    wrong = [top_mount(container, p).describe() for p in points if not holds(top_mount(container, p))]
    assert not wrong, f"with options {options} these mounts are not {wording}: {'; '.join(wrong)}"


@dataclass(frozen=True)
class Events:
    """What the shared-subtrees document says a mount with this propagation does with mount events
    between it and its source on the host."""

    #: The root propagation that keeps the bind mount a peer of its shared source until the option
    #: acts (None: the runtime's default). `slave` needs a peer group to leave; with the runtimes'
    #: default (slave) root it would already be a slave, and ignoring `slave` could not be seen.
    root: str | None
    #: A mount made on the host below the source afterwards appears in the container.
    receives: bool
    #: A mount made in the container below the destination appears on the host (never, here: a
    #: shared bind mount is checked by its peer group above).
    sends: bool = False


#: option -> the events its mount must show. The runtimes' default root propagation makes a bind
#: mount a slave of its source, so a runtime that ignores `private` leaves it receiving.
EVENTS = {
    "slave": Events(root="shared", receives=True),
    "rslave": Events(root="shared", receives=True),
    "private": Events(root=None, receives=False),
    "rprivate": Events(root=None, receives=False),
}
RECURSIVE_PROPAGATION = {"rslave", "rprivate"}


def host_mount_event(bundle, tree: Path, below: str) -> Path:
    """Mount a tmpfs on the host at ``tree/below/late`` (held by the bundle): the event a slave receives."""
    late = tree / below / "late"
    late.mkdir()
    bundle.hold(provisions.mount(late, "-t", "tmpfs", "ocitest-late"))
    return late


def container_mount_event(container, point: str) -> None:
    """Mount a tmpfs in the container's mount namespace at ``point`` (it goes away with the namespace)."""
    provisions.run("nsenter", "-t", str(container.pid), "-m", "mount", "-t", "tmpfs", "ocitest-inside", point)


@pytest.mark.parametrize("option", [pytest.param(o, marks=requirement(f"config.mount-option-{o}")) for o in EVENTS])
@needs("program_visible_from_host")
@HOST_TREE
def test_propagation_option_passes_mount_events_as_it_says(option, new_container, new_bundle):
    events = EVENTS[option]
    bundle = new_bundle()
    dest = f"{MNT}/{option}"
    tree = host_tree(bundle)
    # Checked on the mount itself, and for the recursive form on a submount of the source too.
    belows = ["."] + (["sub-plain"] if option in RECURSIVE_PROPAGATION else [])
    for below in belows:
        (tree / below / "inside").mkdir()
    if events.root is not None:
        bundle.config["linux"]["rootfsPropagation"] = events.root
    add_mount(bundle, dest, ["rbind", option], source=str(tree), fstype="bind")
    setting = f"a bind mount of a shared host folder with [rbind,{option}]" + (
        f" (rootfsPropagation {events.root})" if events.root else "")
    container = created(new_container, bundle, setting)
    problems = []
    for below in belows:
        where = dest if below == "." else f"{dest}/{below}"
        host_mount_event(bundle, tree, below)
        arrived = any(m.source == "ocitest-late" for m in mounts_at(container, f"{where}/late"))
        if arrived != events.receives:
            problems.append(f"a tmpfs mounted on the host below the source afterwards "
                            f"{'did not appear' if events.receives else 'appeared'} at {where}/late")
        container_mount_event(container, f"{where}/inside")
        left = os.path.ismount(tree / below / "inside")
        if left != events.sends:
            problems.append(f"a tmpfs mounted in the container at {where}/inside "
                            f"{'appeared' if left else 'did not appear'} on the host below the source")
    assert not problems, f"{setting}: " + "; ".join(problems) + f" ({top_mount(container, dest).describe()})"


# -- recursive (AT_RECURSIVE) options -----------------------------------------------------------

#: option -> (submount it is checked on, predicate on that mount, wording of what must hold).
RECURSIVE = {
    "rro": ("sub-plain", lambda m: "ro" in m.options, "read-only"),
    "rrw": ("sub-locked", lambda m: "ro" not in m.options, "writable"),
    "rnosuid": ("sub-plain", lambda m: "nosuid" in m.options, "nosuid"),
    "rsuid": ("sub-locked", lambda m: "nosuid" not in m.options, "without nosuid"),
    "rnoexec": ("sub-plain", lambda m: "noexec" in m.options, "noexec"),
    "rexec": ("sub-locked", lambda m: "noexec" not in m.options, "without noexec"),
    "rdev": ("sub-locked", lambda m: "nodev" not in m.options, "without nodev"),
    "rnosymfollow": ("sub-plain", lambda m: "nosymfollow" in m.options, "nosymfollow"),
    "rsymfollow": ("sub-locked", lambda m: "nosymfollow" not in m.options, "without nosymfollow"),
    "rnoatime": ("sub-plain", lambda m: "noatime" in m.options, "noatime"),
    "ratime": ("sub-locked", lambda m: "noatime" not in m.options, "without noatime"),
    "rnodiratime": ("sub-plain", lambda m: "nodiratime" in m.options, "nodiratime"),
    "rdiratime": ("sub-locked", lambda m: "nodiratime" not in m.options, "without nodiratime"),
    "rrelatime": ("sub-locked", lambda m: "relatime" in m.options and "noatime" not in m.options, "relatime"),
    # mount(8) itself gives a fresh mount with `norelatime` the kernel default, relatime (the kernel
    # has no "not relatime" mode of its own; on a remount it keeps the mode), so for the recursive
    # form only acceptance is checked: no atime mode is more right than another.
    "rnorelatime": ("sub-plain", lambda m: True, "mounted"),
    "rstrictatime": ("sub-plain", lambda m: not {"relatime", "noatime"} & m.options, "strictatime"),
    "rnostrictatime": ("sub-strict", lambda m: bool({"relatime", "noatime"} & m.options), "not strictatime"),
}


@pytest.mark.parametrize("option", [pytest.param(o, marks=requirement(f"config.mount-option-{o}")) for o in RECURSIVE])
@needs("kernel", "5.12", "recursive mount attributes", "mount_setattr")
@needs("program_visible_from_host")
@HOST_TREE
def test_recursive_option_reaches_the_submounts(option, new_container, new_bundle):
    sub, holds, wording = RECURSIVE[option]
    bundle = new_bundle()
    dest = f"{MNT}/{option}"
    tree = host_tree(bundle)
    add_mount(bundle, dest, ["rbind", option], source=str(tree), fstype="bind")
    container, call = try_create(new_container, bundle)
    assert call.ok, (
        f"the runtime refuses `{option}`, which it SHOULD implement (refusing is better than ignoring it, "
        f"but it is still not implemented): {call.describe()}"
    )
    mount = top_mount(container, f"{dest}/{sub}")
    assert holds(mount), (
        f"`{option}` on an rbind was accepted but the submount (host flags [{SUBMOUNTS[sub]}]) is not {wording}: "
        f"{mount.describe()}"
    )


# -- tmpcopyup, unknown and custom options ------------------------------------------------------


@requirement("config.mount-option-tmpcopyup")
@needs("program_visible_from_host")
def test_tmpcopyup_copies_the_destination_contents_into_the_tmpfs(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/copyup"
    (bundle.rootfs / dest.lstrip("/")).mkdir(parents=True)
    (bundle.rootfs / dest.lstrip("/") / "kept").write_text("from the rootfs\n")
    add_mount(bundle, dest, ["tmpcopyup"])
    container, call = try_create(new_container, bundle)
    if call.failed:
        pytest.skip(f"the runtime does not implement `tmpcopyup` (a MAY): {call.describe()}")
    mount = top_mount(container, dest)
    assert mount.fstype == "tmpfs", f"{dest} is not a tmpfs: {mount.describe()}"
    copied = Path(inside(container, f"{dest}/kept"))
    assert copied.exists(), f"`tmpcopyup` was accepted but the tmpfs at {dest} does not have the rootfs's file `kept`"


@requirement("config.mount-data-options")
@needs("program_visible_from_host")
def test_unknown_options_reach_the_filesystem_as_data(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/data"
    add_mount(bundle, dest, ["size=2m", "mode=0711"])
    container = created(new_container, bundle, "a tmpfs with `size=2m` and `mode=0711`")
    mount = top_mount(container, dest)
    assert "size=2048k" in mount.super_options and "mode=711" in mount.super_options, (
        f"`size=2m,mode=0711` did not reach tmpfs: {mount.describe()}")


@requirement("config.mount-custom-like-mount8")
@needs("mount8_tmpfs", "noauto")
@needs("program_visible_from_host")
def test_an_option_mount8_knows_behaves_as_in_mount8(new_container, new_bundle):
    """The sentence is about custom options a runtime implements ("MAY also implement custom option
    strings"); one it does not implement is an unknown option, which the next sentence sends to the
    filesystem as data, where tmpfs refuses `noauto`. So a refusal is not judged; an accepted
    `noauto` must give the mount mount(8) gives (mount(8) mounts it: `noauto` only keeps `mount -a`
    from mounting an fstab line)."""
    expected = mount8(("noauto",))
    bundle = new_bundle()
    dest = f"{MNT}/noauto"
    add_mount(bundle, dest, ["noauto"])
    container, call = try_create(new_container, bundle)
    if call.failed:
        pytest.skip(f"the runtime does not implement `noauto` (a custom option it may leave out; as an unknown "
                    f"option it went to tmpfs as data, which refuses it): {call.describe()}")
    found = mounts_at(container, dest)
    assert found, f"create accepted `noauto` but mounted nothing at {dest}; mount(8) mounts the tmpfs"
    assert flag_view(found[-1]) == expected, (
        f"with `noauto` the mount is {found[-1].describe()}, mount(8) gives {expected}")


# -- idmapped mounts ----------------------------------------------------------------------------

MAPPED = 12345
MAPPING = [{"containerID": 0, "hostID": MAPPED, "size": 1}]


def idmap_bundle(new_bundle, option: str, source: Path | None = None, *, mappings: bool = True):
    bundle = new_bundle()
    if source is None:
        source = source_dir(bundle, "idmapped", "owned by root")
    extra = {"uidMappings": MAPPING, "gidMappings": MAPPING} if mappings else {}
    add_mount(bundle, f"{MNT}/{option}", ["rbind", option], source=str(source), fstype="bind", **extra)
    return bundle


IDMAP_PRIVILEGE = needs("privileged", "mount a tmpfs tree with submounts on the host (the id-mapped source) "
                                      "nor map container root to another host ID")


def idmapped_container(option: str, new_container, new_bundle):
    """A container with an `option` (idmap/ridmap) bind mount of a host tree whose files are owned by
    0:0, with the mapping 0 -> MAPPED; skipped when create refuses it (a SHOULD option, refusing is
    allowed)."""
    holder = new_bundle()
    tree = host_tree(holder)
    bundle = idmap_bundle(new_bundle, option, tree)
    container, call = try_create(new_container, bundle)
    if call.failed:
        pytest.skip(f"the runtime refuses `{option}` with uidMappings/gidMappings (a SHOULD; refusing is allowed): "
                    f"{call.describe()}")
    return container


def idmap_points(container, option: str) -> dict[str, str]:
    """The checked paths of the mount and the mount each is on: the mount's own file, and for `ridmap`
    a submount's root (skipped when the rbind brought no submount: the recursive mapping cannot be seen)."""
    dest = f"{MNT}/{option}"
    points = {f"{dest}/marker": dest}
    if option == "ridmap":
        sub = f"{dest}/sub-plain"
        if not mounts_at(container, sub):
            pytest.skip(f"the rbind with `ridmap` brought none of the source's submounts (no mount at {sub}), so "
                        "whether the mapping reaches the mounts below cannot be seen")
        points[sub] = sub
    return points


def owners(container, option: str) -> dict[str, tuple[int, int, bool]]:
    """path -> (uid, gid as the host sees them through the mount, whether mountinfo says the mount is idmapped)."""
    seen = {}
    for path, point in idmap_points(container, option).items():
        st = os.stat(inside(container, path))
        seen[path] = (st.st_uid, st.st_gid, "idmapped" in top_mount(container, point).options)
    return seen


@pytest.mark.parametrize("option", [
    pytest.param("idmap", marks=requirement("config.mount-option-idmap", "config.mount-idmap-applied")),
    pytest.param("ridmap", marks=requirement("config.mount-option-ridmap", "config.mount-idmap-applied")),
])
@needs("kernel", "5.12", "idmapped mounts")
@needs("program_visible_from_host")
@IDMAP_PRIVILEGE
def test_idmap_option_gives_the_mount_an_id_mapping(option, new_container, new_bundle):
    container = idmapped_container(option, new_container, new_bundle)
    unmapped = {path: f"{uid}:{gid}" for path, (uid, gid, idmapped) in owners(container, option).items()
                if not idmapped and (uid, gid) == (0, 0)}
    assert not unmapped, (
        f"`{option}` with the mapping 0->{MAPPED} was accepted, but the mount has no ID mapping at all (mountinfo "
        f"does not say idmapped, files owned by 0:0 on the source show as {unmapped})")


@requirement("config.mount-idmap-uses-mappings")
@pytest.mark.parametrize("option", ["idmap", "ridmap"])
@needs("kernel", "5.12", "idmapped mounts")
@needs("program_visible_from_host")
@IDMAP_PRIVILEGE
def test_an_idmap_mount_uses_the_mappings_it_is_given(option, new_container, new_bundle):
    """Which mapping the mount has: judged only where it has one (a mount left without any mapping
    breaks config.mount-idmap-applied, not this sentence)."""
    container = idmapped_container(option, new_container, new_bundle)
    seen = owners(container, option)
    if all(not idmapped and (uid, gid) == (0, 0) for uid, gid, idmapped in seen.values()):
        pytest.skip(f"the `{option}` mount has no ID mapping at all, so which values it uses cannot be seen "
                    f"(config.mount-idmap-applied judges that)")
    other = {path: f"{uid}:{gid}" for path, (uid, gid, _) in seen.items() if (uid, gid) != (MAPPED, MAPPED)}
    assert not other, (
        f"`{option}` with uidMappings/gidMappings 0->{MAPPED}: files owned by 0:0 on the source show as {other}, "
        f"not {MAPPED}:{MAPPED}: the mount's mapping is not the one given")


@pytest.mark.parametrize("option", [
    pytest.param("idmap", marks=requirement("config.mount-idmap-needs-mapping")),
    pytest.param("ridmap", marks=requirement("config.mount-idmap-needs-mapping")),
])
@needs("program_visible_from_host")
@needs("privileged", "run a container without a user namespace (the premise of the check)")
def test_idmap_without_mappings_or_user_namespace_fails_create(option, new_container, new_bundle):
    bundle = idmap_bundle(new_bundle, option, mappings=False)
    assert not any(ns["type"] == "user" for ns in bundle.config["linux"]["namespaces"])
    container, call = try_create(new_container, bundle)
    if call.ok:
        seen = os.stat(inside(container, f"{MNT}/{option}/marker"))
        pytest.fail(f"create succeeded with `{option}`, no uidMappings/gidMappings and no user namespace "
                    f"(the file owned by 0:0 shows as {seen.st_uid}:{seen.st_gid}): {call.describe()}", pytrace=False)

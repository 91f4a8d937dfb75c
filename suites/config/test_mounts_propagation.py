"""config.md, Linux mount options: bind mounts, propagation and the recursive (AT_RECURSIVE) options.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxMountOptions

The bind source is a shared tmpfs tree the harness mounts on the host in the bundle folder, with
submounts (``SUBMOUNTS``). Propagation is read from mountinfo's optional fields (the kernel's own
account: ``shared:N``, ``master:N``, ``unbindable``, none for private) and, for slave and private,
seen in the mount events that reach the container from the host and go back. The container's side
is read through ``container.view`` (from the host, or for a sandbox from inside); the host's side on
the host.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocitest import EXCHANGE_DIR, needs, provisions, requirement, unseen
from ocitest.host import Mount

from .mount_tools import (
    HOST_TREE,
    MNT,
    SUBMOUNTS,
    add_mount,
    container_mounts,
    created,
    grant,
    host_tree,
    mounts_at,
    submount_points,
    top_mount,
    try_create,
)

# -- bind mounts and propagation ----------------------------------------------------------------


def shares_the_host_kernel(container) -> bool:
    """Whether the program's mount table is the host kernel's (the host view: the state pid is the
    program). A sandbox's kernel (gVisor's, a VM's) keeps its own mount table, which no host mount can
    join: there a host mount event reaches the program as the mount's files, seen through the
    sandbox's file proxy, and the host cannot enter the program's mount namespace to mount in it."""
    return not container.view.from_inside


#: A file in the source's submount sub-plain: what a sandbox's program sees of that submount.
SUB_FILE = "ocitest-sub"


def host_tree_with_files(bundle) -> Path:
    """host_tree, with SUB_FILE written in its (writable) submount sub-plain."""
    tree = host_tree(bundle)
    (tree / "sub-plain" / SUB_FILE).write_text("sub\n")
    return tree


@requirement("config.mount-option-bind")
@HOST_TREE
def test_bind_mounts_the_source_without_its_submounts(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/bind"
    host_tree_with_files(bundle)
    add_mount(bundle, dest, ["bind"], source=str(bundle.path / "tree"), fstype="bind")
    container = created(new_container, bundle, "a `bind` mount")
    top = top_mount(container, dest)
    if not shares_the_host_kernel(container):
        # A sandbox's mount table names its own source (gVisor: `none`, 9p) and lists no host
        # submount: the program sees the bind by its files.
        assert container.view.exists(f"{dest}/marker"), (
            f"{dest} does not show the bind source's file `marker`: {top.describe()} from {top.source}")
        assert not container.view.exists(f"{dest}/sub-plain/{SUB_FILE}"), (
            f"`bind` (not recursive) also brought the source's submount sub-plain: the program sees its file "
            f"{dest}/sub-plain/{SUB_FILE}")
        return
    assert top.source == "ocitest-tree" and container.view.exists(f"{dest}/marker"), (
        f"{dest} does not show the bind source: {top.describe()} from {top.source}")
    points = {m.point for m in container_mounts(container)}
    copied = [p for p in submount_points(dest) if p in points]
    assert not copied, f"`bind` (not recursive) also brought the source's submounts: {copied}"


@requirement("config.mount-option-rbind")
@HOST_TREE
def test_rbind_mounts_the_source_with_its_submounts(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/rbind"
    host_tree_with_files(bundle)
    add_mount(bundle, dest, ["rbind"], source=str(bundle.path / "tree"), fstype="bind")
    container = created(new_container, bundle, "an `rbind` mount")
    top = top_mount(container, dest)
    if not shares_the_host_kernel(container):
        # As for `bind`: the program sees the source and its submount by their files.
        seen = {f"{dest}/marker": container.view.exists(f"{dest}/marker"),
                f"{dest}/sub-plain/{SUB_FILE}": container.view.exists(f"{dest}/sub-plain/{SUB_FILE}")}
        missing = [path for path, there in seen.items() if not there]
        assert not missing, (f"`rbind`: the program does not see these files of the source and its submount "
                             f"sub-plain: {missing} ({top.describe()})")
        return
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


#: The options a program can see from inside by their effect when its mount table shows no
#: propagation (gVisor's): binding the mount elsewhere fails with EINVAL.
UNBINDABLE = ("unbindable", "runbindable")


@pytest.mark.parametrize("option", [pytest.param(o, marks=requirement(f"config.mount-option-{o}"))
                                    for o in PROPAGATION])
@HOST_TREE
def test_propagation_option_sets_the_mount_propagation(option, new_container, new_bundle):
    options, recursive, holds, wording = PROPAGATION[option]
    bundle = new_bundle()
    dest = f"{MNT}/{option}"
    tree = host_tree(bundle)
    add_mount(bundle, dest, options, source=str(tree), fstype="bind")
    if option in UNBINDABLE:  # the inside view's probe binds the mount itself
        grant(bundle, "CAP_SYS_ADMIN")  # mount(2) in the program
    container, call = try_create(new_container, bundle)
    if call.failed and option in ("slave", "rslave"):
        plain = new_bundle()
        add_mount(plain, dest, ["rbind", option], source=str(tree), fstype="bind")
        _, plain_call = try_create(new_container, plain)
        if plain_call.ok:
            pytest.skip(f"the runtime refuses two propagation options on one mount ({options}); `{option}` alone "
                        f"is judged by its mount events (test_propagation_option_passes_mount_events_as_it_says)")
    assert call.ok, f"create failed for a bind mount with options {options}: {call.describe()}"
    # A sandbox's own mount table lists no host submount of the source: there only the bind
    # mount itself has a propagation (the recursive form's submounts are judged by their mount
    # events, test_propagation_option_passes_mount_events_as_it_says).
    below = submount_points(dest) if recursive and shares_the_host_kernel(container) else []
    shown = shares_the_host_kernel(container) or any(m.optional for m in container.view.mounts())
    if option in UNBINDABLE and container.view.from_inside:
        target = f"{EXCHANGE_DIR}/bind-probe"  # writable whatever root.readonly says
        problem = container.view.bind_mount(dest, target)
        assert problem is not None and problem.errno == errno.EINVAL, (
            f"with options {options}, the program bound {dest} at {target}: "
            f"{'it worked' if problem is None else repr(problem)}; an unbindable mount refuses (EINVAL)")
        if not shown:
            return  # judged by its effect: the table shows no propagation
    if not shown:
        unseen("mount propagation", "its own mount table shows no propagation field (shared:N, master:N, "
               "unbindable) on any mount, so a private mount cannot be told from one whose propagation is not shown")
    points = [dest] + below
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
    """Mount a tmpfs on the host at ``tree/below/late`` (held by the bundle), holding a file ``event``:
    the event a slave receives."""
    late = tree / below / "late"
    late.mkdir()
    bundle.hold(provisions.mount(late, "-t", "tmpfs", "ocitest-late"))
    (late / "event").write_text("late\n")
    return late


def container_mount_event(container, point: str) -> None:
    """Mount a tmpfs in the container's mount namespace at ``point`` (it goes away with the namespace)."""
    provisions.run("nsenter", "-t", str(container.pid), "-m", "mount", "-t", "tmpfs", "ocitest-inside", point)


@pytest.mark.parametrize("option", [pytest.param(o, marks=requirement(f"config.mount-option-{o}")) for o in EVENTS])
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
    container, call = try_create(new_container, bundle)
    if call.failed and events.root is not None:
        # runtime.md#runtimeCreate lets a runtime refuse a rootfsPropagation it cannot apply (gVisor:
        # only private or slave): then the bind mount is judged on the runtime's default root.
        del bundle.config["linux"]["rootfsPropagation"]
        setting = (f"a bind mount of a shared host folder with [rbind,{option}] (the runtime refused "
                   f"rootfsPropagation {events.root}, so on its default root)")
        container, call = try_create(new_container, bundle)
    assert call.ok, f"create failed with {setting}: {call.describe()}"
    host_kernel = shares_the_host_kernel(container)
    problems = []
    for below in belows:
        where = dest if below == "." else f"{dest}/{below}"
        host_mount_event(bundle, tree, below)
        listed = any(m.source == "ocitest-late" for m in mounts_at(container, f"{where}/late"))
        content = container.view.exists(f"{where}/late/event")
        # On the host kernel the mount itself must show in the container's mount table (as before);
        # in a sandbox its files are what can reach the program (see shares_the_host_kernel).
        arrived = listed if host_kernel else content
        if arrived != events.receives:
            problems.append(f"a tmpfs mounted on the host below the source afterwards "
                            f"{'did not appear' if events.receives else 'appeared'} at {where}/late "
                            f"(in the container's mountinfo: {'yes' if listed else 'no'}; its file "
                            f"{where}/late/event seen by the program: {'yes' if content else 'no'})")
        if not host_kernel:
            continue
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
    if not shares_the_host_kernel(container):
        unseen(f"submount {sub} of the bind mount", "a sandbox's own mount table (gVisor's) lists no host "
               "mount below a bind source, so the flags of the submount are not there")
    mount = top_mount(container, f"{dest}/{sub}")
    assert holds(mount), (
        f"`{option}` on an rbind was accepted but the submount (host flags [{SUBMOUNTS[sub]}]) is not {wording}: "
        f"{mount.describe()}"
    )

"""config.md, Mounts and Linux mount options: what each entry of `mounts` must become in the container.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configMounts
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxMountOptions

Most checks stop after `create`: the container's mounts are then complete (see mount_tools.py for how
a check reads and acts on them: ``container.view``; a sandboxed container is started to be
asked). The table's options "correspond to mount(8)", so mount(8) itself is
the oracle: the same options on a tmpfs, or a bind mount, made by mount(8) in a throw-away mount
namespace give the flags the container's mount must show. Bind mounts and propagation are in
test_mounts_propagation.py, id-mapped mounts in test_mounts_idmap.py, a container sharing the
runtime's mount namespace in test_mounts_host_namespace.py.
"""

from __future__ import annotations

import errno
import os
import platform
import time

import pytest

from ocitest import HarnessError, load_catalog, needs, probe, provisions, requirement, unseen

from .mount_tools import (
    LINUX_FLAGS,
    MNT,
    add_mount,
    container_mounts,
    created,
    flag_view,
    grant,
    mount8,
    mounts_at,
    only,
    shown_flags,
    source_dir,
    top_mount,
    try_create,
)

# -- mounts: order, destinations, failures ------------------------------------------------------


@requirement("config.mounts-in-order")
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
    view = container.view
    seen = view.read_text(f"{MNT}/stack/marker").strip()
    assert seen == "second", f"{MNT}/stack shows the {seen!r} source on top: the mounts were not made in order"
    assert view.exists(f"{MNT}/nest/inner/marker"), (
        f"{MNT}/nest/inner is hidden: the tmpfs at {MNT}/nest was mounted after the mount nested in it"
    )
    assert not view.exists(f"{MNT}/cover/inner/marker"), (
        f"{MNT}/cover/inner, listed before the tmpfs at {MNT}/cover, is visible: the tmpfs was mounted first"
    )
    ours = [m.point for m in container_mounts(container) if m.point.startswith(MNT)]
    listed = [m["destination"] for m in bundle.config["mounts"] if m["destination"].startswith(MNT)]
    assert ours == listed, f"the mounts were listed as {listed}; the container's mount table has them as {ours}"


@requirement("config.mount-relative-destination")
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
    assert container.view.exists(f"{MNT}/relative/marker"), f"{MNT}/relative does not show the source"


@requirement("config.mount-destination-created")
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
    # On Linux mount(2) follows the link, so the mount shows at its target inside the root. A sandbox
    # kernel may instead put the mount at the destination itself, over the link: still a path inside the
    # container, which is all the sentence asks (nothing reached the host, asserted below).
    assert str(outside) in points or "/ocitest-escape" in points, (
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
    return container.view.write(path)


def exec_probe(container, path: str) -> OSError | None:
    return container.view.run_script(path)


def device_probe(container, path: str) -> OSError | None:
    try:
        return container.view.mknod_and_open(path)  # a /dev/null node
    except HarnessError as exc:  # the inside view: the program could not make the node (gVisor's gofer mounts)
        unseen("opening of a device node on the mount (the effect of `dev`/`nodev`)", str(exc))


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
#: The device probe makes a character device node on the mount: from the host (host view), or the
#: program does (inside view; the check gives it CAP_MKNOD).
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
def test_flag_option_gives_the_mount_what_mount8_gives(option, new_container, new_bundle):
    check_flag_option("tmpfs", option, new_container, new_bundle)


@pytest.mark.parametrize("option", flag_params(BIND_FLAG_OPTIONS))
@needs("privileged", "mount a tmpfs on the host (the bind source of the check)")
def test_flag_option_gives_a_bind_mount_what_mount8_gives(option, new_container, new_bundle):
    """Container engines make most mounts as bind mounts (a read-only volume is `rbind` and `ro`): the
    options must hold there as on a filesystem mounted anew."""
    check_flag_option("bind", option, new_container, new_bundle)


def flag_entry(bundle, kind: str, dest: str, options: list[str]) -> dict:
    """A tmpfs at ``dest`` with ``options``, or (``kind`` "bind") an rbind of a fresh host tmpfs."""
    if EFFECTS.get(options[-1], (None,))[0] is device_probe:
        grant(bundle, "CAP_MKNOD")
    if "nosuid" in (options[-1], UNDOES.get(options[-1])):
        grant(bundle, "CAP_SETUID", "CAP_SETGID")
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
    concerned = concerned_flags(option, kind, expected)
    check_access_times(container, option, kind, dest, expected, concerned)
    check_setuid(container, option, kind, dest, expected, concerned)
    got = flag_view(mount)
    shown = shown_flags(container)
    if shown is None:
        assert got == expected, (
            f"with {what} the container's mount is {mount.describe()}; mount(8) gives per-mount "
            f"[{','.join(sorted(expected[0]))}], superblock [{','.join(sorted(expected[1]))}]"
        )
    else:
        # A sandbox kernel's own mount table (gVisor's): only the flags it can show are compared;
        # what it shows of a superblock (its tmpfs's, its gofer's 9p options) is its own.
        if concerned and not concerned & shown and option not in EFFECTS and not concerned & EFFECT_FLAGS:
            unseen(f"`{'`/`'.join(sorted(concerned))}` on its mount",
                   f"its mount table ({container.view.how}) shows that flag on no mount, not even where the "
                   f"config asks for it ({mount.describe()})")
        assert only(got, shown) == only(expected, shown), (
            f"with {what} the container's mount is {mount.describe()}; mount(8) gives per-mount "
            f"[{','.join(sorted(expected[0]))}], superblock [{','.join(sorted(expected[1]))}] (compared: the flags "
            f"the container's mount table shows, [{','.join(sorted(shown))}])"
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


#: The flags whose effect is on access times: seen by what one read does to a file's or a folder's.
ACCESS_TIME_FLAGS = frozenset({"noatime", "relatime", "nodiratime"})
DAY = 24 * 3600


def check_access_times(container, option: str, kind: str, dest: str, expected: tuple[frozenset, frozenset],
                       concerned: frozenset[str]) -> None:
    """The access-time flags among those ``option`` decides (``concerned``), by their effect (a sandbox
    kernel's mount table may not show them; gVisor's shows none but ``noatime``): one read of a file or a
    folder on the mount updates its access time or not, as the kernel does on the mount mount(8) makes
    with the same options.

    * an access time a month old: every mode updates it but ``noatime`` (relatime updates one older
      than a day);
    * an access time in the future, after the modification and change times: only a mode that is
      neither ``relatime`` nor ``noatime`` (``strictatime``) updates it;
    * a folder's access time a month old, on listing it: kept by ``noatime`` and ``nodiratime``.
    """
    concerned = concerned & ACCESS_TIME_FLAGS
    flags, now = expected[0], int(time.time())
    month_ago = now - 30 * DAY
    # (what the probe reads, a folder?, its access time, its modification time, the flags that keep it)
    probes = [
        ("a file whose access time is a month old", False, month_ago, month_ago - DAY, {"noatime"}),
        ("a file whose access time is later than its modification and change times", False, now + DAY // 4,
         month_ago, {"noatime", "relatime"}),
        ("a folder whose access time is a month old", True, month_ago, month_ago - DAY, {"noatime", "nodiratime"}),
    ]
    for number, (what, directory, atime, mtime, keepers) in enumerate(probes):
        if not concerned & keepers:
            continue
        before, after = container.view.access_time_of_a_read(f"{dest}/atime-{number}", directory, atime, mtime)
        kept = bool(keepers & flags)
        assert (after == before) == kept, (
            f"on the `{option}` {kind} mount {dest}, {'listing' if directory else 'reading'} {what} "
            f"{'updated' if after != before else 'kept'} it ({before} -> {after}); on the mount mount(8) makes "
            f"(per-mount [{','.join(sorted(flags))}]) the read {'keeps' if kept else 'updates'} it"
        )


def check_setuid(container, option: str, kind: str, dest: str, expected: tuple[frozenset, frozenset],
                 concerned: frozenset[str]) -> None:
    """``nosuid``/``suid`` by their effect, where ``option`` decides ``nosuid`` (``concerned``): a set-user-ID
    root program on the mount, run by an unprivileged user, runs as root unless the mount mount(8) makes
    has ``nosuid``. The probe is x86_64 machine code (ocitest/elf.py); elsewhere only the mount table
    judges the flag."""
    if "nosuid" not in concerned:
        return
    if platform.machine() != "x86_64":
        if container.view.from_inside:
            unseen("set-user-ID effect of `nosuid`/`suid`", f"the probe program is x86_64 code; this host is "
                                                             f"{platform.machine()}")
        return
    if not container.view.from_inside and os.geteuid() != 0:
        return  # a rootless caller cannot make a root-owned set-user-ID file; the host's table judges the flag
    ignored = "nosuid" in expected[0]
    try:
        as_root = container.view.setuid_works(f"{dest}/setuid")
    except HarnessError as exc:
        if not container.view.from_inside:
            raise
        unseen("set-user-ID effect of `nosuid`/`suid`", str(exc))  # e.g. uid 1000 not mapped in its user namespace
    assert as_root != ignored, (
        f"on the `{option}` {kind} mount {dest}, a set-user-ID root program run by uid 1000 ran as "
        f"{'root' if as_root else 'uid 1000'}; on the mount mount(8) makes (per-mount "
        f"[{','.join(sorted(expected[0]))}]) it runs as {'uid 1000: the bit is ignored' if ignored else 'root'}"
    )


#: The flags a check sees by their effect when the mount table does not show them.
EFFECT_FLAGS = ACCESS_TIME_FLAGS | {"nosuid"}


def concerned_flags(option: str, kind: str, expected: tuple[frozenset, frozenset]) -> frozenset[str]:
    """The flags ``option`` decides: those where mount(8)'s mount with it (after its opposite), or with
    its opposite alone, differs from a mount with no options, and the option itself where it is a flag."""
    plain = mount8((), kind)
    concerned = {option, UNDOES.get(option)} & LINUX_FLAGS
    for flags in [expected, *([mount8((UNDOES[option],), kind)] if option in UNDOES else [])]:
        concerned |= (flags[0] ^ plain[0]) | (flags[1] ^ plain[1])
    return frozenset(concerned)


@requirement("config.mount-option-remount")
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


# -- tmpcopyup, unknown and custom options ------------------------------------------------------


@requirement("config.mount-option-tmpcopyup")
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
    assert container.view.exists(f"{dest}/kept"), (
        f"`tmpcopyup` was accepted but the tmpfs at {dest} does not have the rootfs's file `kept`")


@requirement("config.mount-data-options")
def test_unknown_options_reach_the_filesystem_as_data(new_container, new_bundle):
    bundle = new_bundle()
    dest = f"{MNT}/data"
    add_mount(bundle, dest, ["size=2m", "mode=0711"])
    container = created(new_container, bundle, "a tmpfs with `size=2m` and `mode=0711`")
    mount = top_mount(container, dest)
    if shown_flags(container) is None:
        assert "size=2048k" in mount.super_options and "mode=711" in mount.super_options, (
            f"`size=2m,mode=0711` did not reach tmpfs: {mount.describe()}")
        return
    # A sandbox kernel's own tmpfs (gVisor's) shows its data as given, not as Linux's tmpfs shows it;
    # the mode it gave the mount's root shows that the data reached it.
    mode = container.view.lstat(dest).st_mode & 0o7777
    assert {"size=2m", "size=2048k"} & mount.super_options and mode == 0o711, (
        f"`size=2m,mode=0711` did not reach tmpfs: {mount.describe()}, the mount's root has mode {mode:04o}")


@requirement("config.mount-custom-like-mount8")
@needs("mount8_tmpfs", "noauto")
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
    got, shown = flag_view(found[-1]), shown_flags(container)
    if shown is not None:  # a sandbox kernel's own mount table: the flags it can show (see check_flag_option)
        got, expected = only(got, shown), only(expected, shown)
    assert got == expected, (
        f"with `noauto` the mount is {found[-1].describe()}, mount(8) gives {expected}")

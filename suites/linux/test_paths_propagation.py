"""config-linux.md, Default Filesystems, Rootfs Mount Propagation, Masked Paths and Readonly Paths.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxDefaultFilesystems
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxRootfsMountPropagation
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxMaskedPaths
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxReadonlyPaths

Propagation is read from the optional fields of the container's mountinfo line for ``/``
(``shared:N``, ``master:N``, ``unbindable``, none for private), as the program's view gives it
(``container.view``: from the host, or for a sandbox from inside). A slave can only have a master
when its source is shared, so the propagation checks first make the bundle's rootfs a shared
bind mount on the host (unmounted again when the bundle is removed).
"""

from __future__ import annotations

import errno
import os

import pytest

from ocitest import EXCHANGE_DIR, needs, probe, provisions, requirement, unseen
from ocitest.host import Mount


def top_mount(container, point: str) -> Mount | None:
    found = container.view.mounts_at(point)
    return found[-1] if found else None


# -- default filesystems ----------------------------------------------------------------------

DEFAULT_FILESYSTEMS = {"/proc": "proc", "/sys": "sysfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs"}


@requirement("linux.default-filesystems")
def test_the_default_filesystems_are_there(new_container):
    container = new_container(probe.waiting()).launch()
    seen = {point: (m.fstype if (m := top_mount(container, point)) else None) for point in DEFAULT_FILESYSTEMS}
    container.finish()
    assert seen == DEFAULT_FILESYSTEMS, f"expected {DEFAULT_FILESYSTEMS}; the container has {seen}"


# -- rootfs propagation ------------------------------------------------------------------------


def shared_rootfs(bundle) -> str:
    """Make the bundle's rootfs a shared bind mount of itself on the host, until the bundle is removed
    (``umount -R``: a shared rootfs receives what a runtime mounts below it, proc, dev ...).

    The exchange bind mount is dropped (these checks read mountinfo, not files): applying
    `unbindable` recursively, as runtimes do, would make every bind-mount source unbindable.
    """
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != EXCHANGE_DIR]
    rootfs = bundle.rootfs
    bundle.hold(provisions.mount(rootfs, "--bind", str(rootfs), recursive=True))
    provisions.run("mount", "--make-shared", str(rootfs))
    return str(rootfs)


EXPECTED = {
    "shared": lambda opt: any(f.startswith("shared:") for f in opt),
    "slave": lambda opt: any(f.startswith("master:") for f in opt) and not any(f.startswith("shared:") for f in opt),
    "private": lambda opt: not opt,
    "unbindable": lambda opt: opt == ("unbindable",),
}
LOOKS = {"shared": "shared:N", "slave": "master:N without shared:N", "private": "no propagation field",
         "unbindable": "unbindable only"}


@requirement("linux.rootfs-propagation")
@pytest.mark.parametrize("propagation", sorted(EXPECTED))
@needs("privileged", "make the rootfs a shared bind mount of itself on the host (mount needs root)")
def test_the_rootfs_has_the_configured_propagation(new_container, new_bundle, propagation):
    bundle = new_bundle()
    bundle.config["linux"]["rootfsPropagation"] = propagation
    shared_rootfs(bundle)
    container = new_container(probe.waiting(), bundle=bundle)
    # runtime.md#runtimeCreate: a runtime that cannot apply a property must refuse the config.
    container.launch_unless_refused(f"rootfsPropagation {propagation}")
    root = top_mount(container, "/")
    container.finish()
    if propagation == "slave" and container.view.from_inside:
        # master:N names a peer group of the same kernel: a sandbox's kernel (gVisor's, a VM's)
        # cannot make its / a slave of a host mount, so its mountinfo cannot show it.
        unseen("rootfs's master (the host mount it is a slave of)", "a sandbox's own mountinfo cannot "
               "name a host peer group; `slave` is judged by its mount events "
               "(test_host_mounts_reach_a_slave_rootfs_only)")
    assert root is not None, "the container's mountinfo has no / line"
    assert EXPECTED[propagation](root.optional), (
        f"rootfsPropagation {propagation} (rootfs source shared on the host): the container's / shows "
        f"[{root.propagation}], expected {LOOKS[propagation]}")


@requirement("linux.rootfs-propagation-events")
@pytest.mark.parametrize("propagation, arrives", [("slave", True), ("private", False)])
@needs("privileged", "make the rootfs a shared bind mount of itself on the host, nor mount a tmpfs in it (mount "
                   "needs root)")
def test_host_mounts_reach_a_slave_rootfs_only(new_container, new_bundle, propagation, arrives):
    bundle = new_bundle()
    bundle.config["linux"]["rootfsPropagation"] = propagation
    (bundle.rootfs / "mnt" / "event").mkdir(parents=True)
    rootfs = shared_rootfs(bundle)
    container = new_container(probe.waiting(), bundle=bundle)
    container.launch()
    provisions.run("mount", "-t", "tmpfs", "ocitest-event", f"{rootfs}/mnt/event")
    (bundle.rootfs / "mnt" / "event" / "ocitest-event").write_text("event\n")
    seen = top_mount(container, "/mnt/event")
    content = container.view.exists("/mnt/event/ocitest-event")
    container.finish()
    listed = seen is not None and seen.fstype == "tmpfs"
    # On the host kernel the host's tmpfs must show in the container's mount table; a sandbox's
    # kernel (gVisor's, a VM's) keeps its own mount table, which no host mount can join, so there
    # the event reaches the program as the tmpfs's files, seen through the sandbox's file proxy.
    got = listed if not container.view.from_inside else content
    assert got == arrives, (
        f"rootfsPropagation {propagation}: a tmpfs mounted on the host at the rootfs's /mnt/event "
        f"{'did not appear' if arrives else 'appeared'} in the container (in its mountinfo: "
        f"{'yes' if listed else 'no'}; its file /mnt/event/ocitest-event seen by the program: "
        f"{'yes' if content else 'no'})")


# -- masked paths ------------------------------------------------------------------------------


@requirement("linux.masked-paths")
def test_masked_paths_cannot_be_read(new_container, new_bundle):
    bundle = new_bundle()
    (bundle.rootfs / "etc" / "ocitest-secret").write_text("secret file\n")
    (bundle.rootfs / "ocitest-secret-dir").mkdir()
    (bundle.rootfs / "ocitest-secret-dir" / "inside").write_text("secret\n")
    files = ["/proc/timer_list", "/etc/ocitest-secret"]
    dirs = ["/sys/firmware", "/ocitest-secret-dir"]
    bundle.config["linux"]["maskedPaths"] = files + dirs
    lines = [probe.say(f"file {path}", f"$(cat {path} 2>/dev/null | wc -c)") for path in files]
    lines += [probe.say(f"dir {path}", f"$(ls -A {path} 2>/dev/null | wc -l)") for path in dirs]
    # Unmasked twins: the same kinds of paths are readable, so an empty answer means masked.
    lines += [probe.say("control-file", "$(cat /etc/passwd | wc -c)"),
              probe.say("control-dir", "$(ls -A /etc | wc -l)")]
    _, out = new_container(probe.sh(*lines), bundle=bundle).run_to_exit()
    facts = {}
    for line in out.splitlines():
        if line.startswith(probe.PREFIX):
            key, _, value = line[len(probe.PREFIX):].rpartition(" ")
            facts[key] = value.strip()
    assert facts.get("control-file", "0") != "0" and facts.get("control-dir", "0") != "0", \
        f"the probe could not read unmasked paths: {out!r}"
    readable = {k.split(" ", 1)[1]: v for k, v in facts.items() if k.split(" ", 1)[0] in ("file", "dir") and v != "0"}
    missing = [p for p in files + dirs if not any(k.endswith(p) for k in facts)]
    assert not missing, f"the probe printed nothing for {missing}: {out!r}"
    assert not readable, (f"maskedPaths {files + dirs}: still readable inside the container "
                          f"(bytes for files, entries for directories): {readable}")


# -- readonly paths ----------------------------------------------------------------------------


@requirement("linux.readonly-paths")
def test_readonly_paths_refuse_writes(new_container, new_bundle):
    bundle = new_bundle()
    (bundle.exchange / "ro").mkdir()
    os.chmod(bundle.exchange / "ro", 0o777)
    paths = ["/proc/sys", f"{EXCHANGE_DIR}/ro"]
    bundle.config["linux"]["readonlyPaths"] = paths
    targets = {"/proc/sys": "/proc/sys/net/ipv4/ip_forward", f"{EXCHANGE_DIR}/ro": f"{EXCHANGE_DIR}/ro/written"}
    lines = [f'err=$( {{ echo 1 > {target}; }} 2>&1 ); {probe.say(path, "rc=$? $err")}'
             for path, target in targets.items()]
    lines.append(f'err=$( {{ echo 1 > {EXCHANGE_DIR}/rw; }} 2>&1 ); {probe.say("control", "rc=$? $err")}')
    _, out = new_container(probe.sh(*lines), bundle=bundle).run_to_exit()
    facts = probe.facts(out)
    assert (facts.get("control") or [""])[0].startswith("rc=0"), f"the probe could not write to {EXCHANGE_DIR}: {out!r}"
    erofs = os.strerror(errno.EROFS)
    wrong = {path: (facts.get(path) or ["(no answer)"])[0] for path in paths
             if not (facts.get(path) or [""])[0].endswith(erofs)}
    assert not wrong, f"readonlyPaths {paths}: a write below them should fail with EROFS ({erofs!r}); got {wrong}"
    assert not (bundle.exchange / "ro" / "written").exists(), f"the write below {EXCHANGE_DIR}/ro reached the host"

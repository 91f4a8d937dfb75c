"""config-linux.md, Namespaces, User namespace mappings and time namespace offsets.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxNamespaces
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxUserNamespaceMappings
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxTimeOffset

Namespaces are compared by their identity (``/proc/PID/ns/KIND``, ``net:[4026531840]``) read from
the host: the harness's own, the container process's, another container's, or the inode of the
namespace file the config names. Those checks need the host view of the program (a sandbox's state pid
is not the program); what the program shows of a new namespace itself (its pid, hostname, interfaces)
and its time offsets are read as it shows them (``container.view``), so they hold for a sandboxed
runtime too.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
from pathlib import Path

import pytest

from ocitest import HarnessError, needs, probe, provisions, requirement, since, unseen
from ocitest.host import NS_FILES, namespace

ALL_TYPES = list(NS_FILES)
#: Types left out of the config to see them inherited; mount is not tried (the runtime would set the
#: container's root up in the host's mount table).
INHERITABLE = ["pid", "network", "ipc", "uts", "cgroup", "user", "time"]
#: Host ranges the container's ids are mapped to (uid and gid differ so a swapped map shows).
UID_BASE, GID_BASE, SPAN = 200000, 300000, 65536
#: Types newer than the runtime-spec schema some hosts ship (Debian's is v1.0.2).
NEWER_THAN_SCHEMA = {"time"}


# -- preconditions --------------------------------------------------------------------------


#: Namespace types newer than runtime-spec 1.0.0, by the release that added them to the list of types: a
#: runtime judged at an older release is not held to them.
TYPE_SINCE = {"time": "1.1.0"}


def each_needing(condition: str, kinds) -> list:
    """``kinds`` as parameters of a check, each needing ``condition(kind)`` (new_namespace, namespace_kind),
    and dated when the type is newer than the requirement (``TYPE_SINCE``)."""
    return [pytest.param(kind, marks=[needs(condition, kind), *([since(TYPE_SINCE[kind])] if kind in TYPE_SINCE
                                                                 else [])])
            for kind in kinds]


#: The host tool (and its package, and what for) provisions.persistent_namespace makes a namespace of
#: each kind with.
NS_MAKERS = {"network": ("ip", "iproute2", "to make a network namespace to join"),
             **{kind: ("unshare", "util-linux", "to make a namespace to join")
                for kind in ("ipc", "uts", "cgroup", "time")}}
#: provisions.persistent_namespace bind-mounts the namespace on a file of the host, which needs root.
PERSISTENT_NS = needs("privileged", "make a namespace that outlives its process (`ip netns add` and "
                                    "`unshare --KIND=FILE` bind-mount it on a host file)")


def joinable(kinds) -> list:
    """``kinds`` as parameters of a check that joins a namespace made by provisions.persistent_namespace
    (pid: a container's)."""
    return [pytest.param(kind, marks=[needs("host_tool", *NS_MAKERS[kind]), PERSISTENT_NS] if kind in NS_MAKERS else [])
            for kind in kinds]


# -- helpers ----------------------------------------------------------------------------------


def map_users(bundle, uid_maps=None, gid_maps=None) -> None:
    """Put the container in a new user namespace with the given mappings (default: root -> UID_BASE).

    The check needs ``new_namespace("user")`` or ``user_namespaces``. The rootfs copy is the
    test's own: it is handed to the mapped root, and the folders above the bundle get search
    permission, so that the mapped root can reach it.
    """
    uid_maps = uid_maps or [{"containerID": 0, "hostID": UID_BASE, "size": SPAN}]
    gid_maps = gid_maps or [{"containerID": 0, "hostID": GID_BASE, "size": SPAN}]
    linux = bundle.config["linux"]
    if not any(ns["type"] == "user" for ns in linux["namespaces"]):
        linux["namespaces"].append({"type": "user"})
    linux["uidMappings"], linux["gidMappings"] = uid_maps, gid_maps
    root_uid = next(m["hostID"] for m in uid_maps if m["containerID"] == 0)
    root_gid = next(m["hostID"] for m in gid_maps if m["containerID"] == 0)
    subprocess.run(["chown", "-R", f"{root_uid}:{root_gid}", str(bundle.rootfs)], check=True, timeout=60)
    for folder in [bundle.path, *bundle.path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            os.chmod(folder, (mode & 0o7777) | 0o001)


def write_config(bundle) -> None:
    """Write config.json; entries newer than the host's schema are checked without them."""
    linux = bundle.config.get("linux", {})
    newer = any(ns["type"] in NEWER_THAN_SCHEMA for ns in linux.get("namespaces", [])) or "timeOffsets" in linux
    if not newer:
        bundle.write()
        return
    older = copy.deepcopy(bundle.config)
    older["linux"]["namespaces"] = [ns for ns in older["linux"]["namespaces"] if ns["type"] not in NEWER_THAN_SCHEMA]
    older["linux"].pop("timeOffsets", None)
    problems = bundle.schemas.config_errors(older)
    if problems:
        raise HarnessError("ocitest generated a config.json that the runtime-spec schema rejects: "
                           + "; ".join(problems[:5]))
    bundle.write(validate=False)


def create(container, *, check: bool = True):
    write_config(container.bundle)
    return container.create(check=check, write_config=False)


def launch(container):
    create(container)
    container.start()
    container.read_until(probe.READY)
    return container


def with_namespace(bundle, kind: str, **entry) -> None:
    """Make ``kind`` listed exactly once (with ``entry``'s extra fields), adding what it needs."""
    linux = bundle.config["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != kind] + [{"type": kind, **entry}]
    # A rootless config already maps root to the caller, the one mapping an unprivileged runtime can make.
    if kind == "user" and "path" not in entry and not linux.get("uidMappings"):
        map_users(bundle)


#: Namespace -> (the filesystem whose new instance belongs to it, the host mount to bind instead; None:
#: leave it out, as this host may have no such mount).
OWNED_INSTANCES = {"pid": ("proc", "/proc"), "network": ("sysfs", "/sys"), "ipc": ("mqueue", None)}


def without_namespace(bundle, kind: str) -> None:
    linux = bundle.config["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != kind]
    if kind == "uts":
        bundle.config.pop("hostname", None)  # a hostname needs a UTS namespace of the container's own
    if kind in OWNED_INSTANCES and any(ns["type"] == "user" for ns in linux["namespaces"]):
        # In a user namespace of its own (a rootless run) the container may not mount a new
        # instance for the caller's namespace, which only that namespace's owner can: it gets the
        # host's mount bound instead (as `runc spec --rootless` does for /sys), or none.
        fstype, source = OWNED_INSTANCES[kind]
        for mount in list(bundle.config["mounts"]):
            if mount["type"] == fstype:
                if source is None:
                    bundle.config["mounts"].remove(mount)
                else:
                    mount.update(type="bind", source=source, options=["rbind", *mount.get("options", [])])


def refused_reason(call) -> str:
    return f"reported by linux.namespace-types-supported: the runtime refuses it ({call.describe()})"


# -- namespace types --------------------------------------------------------------------------


@requirement("linux.namespace-types-supported")
@pytest.mark.parametrize("kind", each_needing("new_namespace", ALL_TYPES))
def test_each_namespace_type_is_accepted(new_container, new_bundle, kind):
    bundle = new_bundle()
    with_namespace(bundle, kind)
    container = new_container(probe.waiting(), bundle=bundle)
    call = create(container, check=False)
    assert call.ok, f"the runtime refuses a config with a new {kind} namespace: {call.describe()}"
    container.start()
    container.read_until(probe.READY)
    container.finish()


@requirement("linux.namespace-new")
@pytest.mark.parametrize("kind", each_needing("new_namespace", ALL_TYPES))
@needs("program_visible_from_host", "the program's namespaces, compared with the caller's and another container's")
def test_a_listed_namespace_is_a_new_one(new_container, new_bundle, kind):
    seen = []
    for _ in range(2):
        bundle = new_bundle()
        with_namespace(bundle, kind)
        container = new_container(probe.waiting(), bundle=bundle)
        call = create(container, check=False)
        if not call.ok:
            pytest.skip(refused_reason(call))
        container.start()
        container.read_until(probe.READY)
        seen.append(namespace(container.pid, NS_FILES[kind]))
    own = namespace("self", NS_FILES[kind])
    assert seen[0] != own, f"`{kind}` is listed without a path, yet the container is in the caller's namespace {own}"
    assert seen[0] != seen[1], f"two containers that each list `{kind}` without a path share the namespace {seen[0]}"


def interfaces(net_dev: str) -> set[str]:
    """The interface names of a /proc/PID/net/dev text."""
    return {line.split(":", 1)[0].strip() for line in net_dev.splitlines()[2:] if ":" in line}


#: What the program itself shows of being in a new namespace of these kinds, which it could not show in
#: the caller's (the host view and a sandbox's inside view alike): pid: it is pid 1; uts: the config's
#: hostname is its own while the caller's is unchanged; network: it has none of the caller's interfaces
#: (a network device belongs to one namespace). Not user: a sandbox's program is in its own kernel's
#: root user namespace, whose uid_map (0 0 4294967295) looks like the caller's without being it.
SEEN_FROM_INSIDE = ["pid", "uts", "network"]


@requirement("linux.namespace-new")
@pytest.mark.parametrize("kind", each_needing("new_namespace", SEEN_FROM_INSIDE))
def test_a_listed_namespace_is_new_as_the_program_sees_it(new_container, new_bundle, kind):
    bundle = new_bundle()
    with_namespace(bundle, kind)
    if kind == "uts":
        bundle.config["hostname"] = "ocitest-new-uts"
    host_name = os.uname().nodename
    container = new_container(probe.waiting(probe.say("pid", "$$"), probe.say("hostname", "$(uname -n)")),
                              bundle=bundle)
    call = create(container, check=False)
    if not call.ok:
        pytest.skip(refused_reason(call))
    container.start()
    facts = probe.facts(container.read_until(probe.READY))
    if kind == "pid":
        assert facts.get("pid") == ["1"], (
            f"`pid` is listed without a path, yet the program is pid {facts.get('pid')} in its PID namespace, "
            "not the first process of a new one")
    elif kind == "uts":
        assert facts.get("hostname") == ["ocitest-new-uts"], (
            f"the config's hostname is 'ocitest-new-uts', the program's is {facts.get('hostname')}")
        assert os.uname().nodename == host_name, (
            f"`uts` is listed without a path, yet the caller's hostname changed from {host_name!r} to "
            f"{os.uname().nodename!r}: the container is in the caller's UTS namespace")
    else:
        own = interfaces(Path("/proc/self/net/dev").read_text()) - {"lo"}
        if not own:
            pytest.skip("the caller has no network interface besides lo, so a container in its namespace looks new")
        seen = interfaces(container.view.proc_file("net/dev"))
        assert not seen & own, (
            f"`network` is listed without a path, yet the program has the caller's interfaces {sorted(seen & own)} "
            f"(it sees {sorted(seen)})")
    container.finish()


@requirement("linux.namespace-inherit")
@pytest.mark.parametrize("kind", each_needing("namespace_kind", [k for k in INHERITABLE if k != "user"]) + [
    pytest.param("user", marks=[needs("namespace_kind", "user"),
                                needs("privileged",
                                      "run a container without a user namespace (a rootless runtime needs one)")]),
])
@needs("program_visible_from_host", "the program's namespaces, compared with the caller's")
def test_an_unlisted_namespace_is_the_callers(new_container, new_bundle, kind):
    bundle = new_bundle()
    without_namespace(bundle, kind)
    container = new_container(probe.waiting(), bundle=bundle)
    launch(container)
    seen, own = namespace(container.pid, NS_FILES[kind]), namespace("self", NS_FILES[kind])
    container.finish()
    assert seen == own, f"`{kind}` is not in linux.namespaces, yet the container is in {seen}, not the caller's {own}"


@requirement("linux.namespace-path-join")
@pytest.mark.parametrize("kind", joinable(["network", "ipc", "uts", "cgroup", "pid"]))
@needs("program_visible_from_host", "the program's namespaces, compared with the namespace the config names")
def test_a_namespace_path_is_joined(new_container, new_bundle, kind):
    bundle = new_bundle()
    if kind == "pid":
        # A pid namespace lives as long as its init: join the one of a running container.
        first = new_container(probe.waiting()).launch()
        path = Path(f"/proc/{first.pid}/ns/pid")
        wanted = namespace(first.pid, "pid")
        if bundle.config["linux"].get("uidMappings"):
            # A rootless container may join only a namespace its user namespace owns: the first's.
            with_namespace(bundle, "user", path=f"/proc/{first.pid}/ns/user")
    else:
        path = bundle.hold(provisions.persistent_namespace(kind, bundle.path))
        wanted = f"{NS_FILES[kind]}:[{os.stat(path).st_ino}]"
    with_namespace(bundle, kind, path=str(path))
    container = new_container(probe.waiting(), bundle=bundle)
    call = create(container, check=False)
    assert call.ok, f"create failed joining the {kind} namespace {path}: {call.describe()}"
    # Read once the program runs: before, the process is the runtime's non-dumpable init, whose
    # /proc/PID/ns only a caller with CAP_SYS_PTRACE may read (not a rootless one).
    container.start()
    container.read_until(probe.READY)
    seen = namespace(container.pid, NS_FILES[kind])
    container.kill("KILL", prerequisite=True)
    container.wait_exit()
    container.delete(prerequisite=True)
    assert seen == wanted, f"linux.namespaces gives {kind} the path {path} ({wanted}); the container is in {seen}"


@requirement("linux.namespace-path-type-error")
@pytest.mark.parametrize("case", [
    pytest.param("uts-entry-with-a-network-namespace",
                 marks=[needs("host_tool", *NS_MAKERS["network"]), PERSISTENT_NS]),
    pytest.param("ipc-entry-with-a-network-namespace",
                 marks=[needs("host_tool", *NS_MAKERS["network"]), PERSISTENT_NS]),
    "network-entry-with-a-regular-file",
])
def test_a_path_of_the_wrong_kind_is_an_error(new_container, new_bundle, case):
    bundle = new_bundle()
    kind = case.split("-")[0]
    if case.endswith("regular-file"):
        path = bundle.path / "not-a-namespace"
        path.write_text("a regular file\n")
        what = "a regular file"
    else:
        path = bundle.hold(provisions.network_namespace())
        what = "a network namespace"
    with_namespace(bundle, kind, path=str(path))
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.attempt()
    assert call.failed, f"the {kind} entry's path is {what}, yet the runtime reported no error: {call.describe()}"


@requirement("linux.namespace-duplicate-error")
@pytest.mark.parametrize("entries", [
    pytest.param([{"type": "uts"}, {"type": "uts"}], id="uts-twice"),
    pytest.param([{"type": "network"}, {"type": "network", "path": "/proc/self/ns/net"}], id="network-new-and-joined"),
])
def test_a_duplicated_namespace_type_is_an_error(new_container, new_bundle, entries):
    bundle = new_bundle()
    kind = entries[0]["type"]
    linux = bundle.config["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != kind] + entries
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.attempt()
    assert call.failed, (
        f"linux.namespaces lists `{kind}` twice ({entries}), yet the runtime reported no error: {call.describe()}"
    )


# -- user namespace mappings ------------------------------------------------------------------


def read_map(pid: int, name: str) -> list[tuple[int, int, int]]:
    rows = [tuple(int(f) for f in line.split()) for line in Path(f"/proc/{pid}/{name}").read_text().splitlines()]
    return sorted(rows)


def as_rows(maps: list[dict]) -> list[tuple[int, int, int]]:
    return sorted((m["containerID"], m["hostID"], m["size"]) for m in maps)


@requirement("linux.uid-mappings-applied")
@pytest.mark.parametrize("uid_maps, gid_maps", [
    pytest.param(None, None, id="one-range"),
    pytest.param([{"containerID": 0, "hostID": UID_BASE, "size": 1000},
                  {"containerID": 1000, "hostID": UID_BASE + 5000, "size": 2000}],
                 [{"containerID": 0, "hostID": GID_BASE, "size": 10},
                  {"containerID": 100, "hostID": GID_BASE + 700, "size": 1}], id="several-ranges"),
])
@needs("user_namespaces")
# The mappings to host IDs are the host's to read: a sandbox's program runs on its own kernel, in that
# kernel's root user namespace (measured on runsc: 0 0 4294967295 with uidMappings given; runsc runs its
# gofer as the mapped root instead), so its own uid_map says nothing of the host IDs.
@needs("program_visible_from_host", "the program's uid and gid mappings to host IDs")
@needs("privileged", "map container IDs to host IDs other than the caller's own (nor chown the rootfs to them)")
def test_uid_and_gid_maps_are_the_configured_mappings(new_container, new_bundle, uid_maps, gid_maps):
    bundle = new_bundle()
    map_users(bundle, uid_maps, gid_maps)
    config_linux = bundle.config["linux"]
    container = new_container(probe.waiting(), bundle=bundle)
    launch(container)
    uid_map, gid_map = read_map(container.pid, "uid_map"), read_map(container.pid, "gid_map")
    container.finish()
    assert uid_map == as_rows(config_linux["uidMappings"]), (
        f"uidMappings are {as_rows(config_linux['uidMappings'])}; the container's uid_map is {uid_map}")
    assert gid_map == as_rows(config_linux["gidMappings"]), (
        f"gidMappings are {as_rows(config_linux['gidMappings'])}; the container's gid_map is {gid_map}")


def owners(*folders: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            st = path.lstat()
            found[str(path)] = (st.st_uid, st.st_gid)
    return found


@requirement("linux.uid-mappings-no-chown")
@needs("user_namespaces")
@needs("privileged", "map container root to a host ID other than the caller's (nor chown the rootfs to it), "
                   "without which a chown by the runtime would not show")
def test_a_user_namespace_does_not_chown_the_filesystems(new_container, new_bundle):
    bundle = new_bundle()
    map_users(bundle)
    shared = bundle.path / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "sub" / "file").write_text("host-owned\n")
    os.chmod(shared, 0o777)
    os.chmod(shared / "sub", 0o777)
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(shared),
                                    "options": ["rbind", "rw"]})
    before = owners(bundle.rootfs, shared)
    container = new_container(probe.waiting(), bundle=bundle)
    launch(container)
    during = owners(bundle.rootfs, shared)
    container.finish()
    container.delete(prerequisite=True)
    after = owners(bundle.rootfs, shared)
    for when, seen in (("while the container ran", during), ("after delete", after)):
        changed = {p: (before[p], seen.get(p)) for p in before if seen.get(p) != before[p]}
        assert not changed, f"{when}, owners changed (before, then): {dict(list(changed.items())[:5])}"


# -- time namespace offsets -------------------------------------------------------------------


def offsets_the_host_can_take() -> dict:
    """A forward monotonic offset and a backward boottime one the kernel accepts on this host now.

    The kernel refuses (ERANGE) an offset that would put a clock before zero, so the backward
    offset is half of the host's boottime (whole seconds, so a few seconds of uptime suffice),
    never more than two hours. The two clocks get different offsets in each direction, so a runtime
    that swaps them, drops the sign or ignores the nanoseconds shows.
    """
    back = min(7200, int(time.clock_gettime(time.CLOCK_BOOTTIME)) // 2)
    return {"monotonic": {"secs": 3 * 86400, "nanosecs": 5000}, "boottime": {"secs": -back, "nanosecs": 0}}


@requirement("linux.time-offsets")
@needs("new_namespace", "time")
def test_time_offsets_shift_the_clocks(new_container, new_bundle):
    bundle = new_bundle()
    with_namespace(bundle, "time")
    plain = new_container(probe.waiting(), bundle=bundle)
    call = create(plain, check=False)
    if not call.ok:
        pytest.skip(refused_reason(call))
    plain.remove()
    offsets = offsets_the_host_can_take()
    bundle = new_bundle()
    with_namespace(bundle, "time")
    bundle.config["linux"]["timeOffsets"] = offsets
    container = new_container(probe.waiting(), bundle=bundle)
    call = create(container, check=False)
    assert call.ok, f"the runtime takes a time namespace but refuses timeOffsets: {call.describe()}"
    container.start()
    container.read_until(probe.READY)
    seen = {}
    try:
        offsets_text = container.view.proc_file("timens_offsets")
    except FileNotFoundError as exc:
        unseen("time namespace offsets", f"its /proc has no timens_offsets ({exc})")
    for line in offsets_text.splitlines():
        clock, secs, nanosecs = line.split()
        seen[clock] = {"secs": int(secs), "nanosecs": int(nanosecs)}
    container.finish()
    assert seen == offsets, f"timeOffsets are {offsets}; the container's timens_offsets are {seen}"

"""runtime.md, Delete and lifecycle step 12: destroying a container, and when delete must refuse.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeDelete
"""

import os

import pytest

from ocitest import HarnessError, needs, probe, provisions, requirement
from ocitest.host import namespace


def delete_is_refused_without_effect(container, what: str) -> dict:
    """Delete must fail and leave the container's state as it was; returns that state."""
    before = container.state()
    call = container.delete(check=False)
    assert call.failed, f"delete of {what} did not report an error: {call.describe()}"
    after_call, after = container.state_call()
    assert after_call.ok, f"after the refused delete the runtime no longer knows the container: {after_call.describe()}"
    assert after == before, f"the refused delete changed the container: {before} -> {after}"
    return before


@requirement("runtime.delete-requires-id")
def test_delete_without_a_container_id_fails(runtime):
    call = runtime.call("delete")
    assert call.failed, f"delete without an ID did not report an error: {call.describe()}"


@requirement("runtime.delete-only-stopped")
def test_delete_of_a_running_container_fails_and_leaves_it_running(new_container):
    container = new_container(probe.waiting())
    container.create()
    container.start()
    container.read_until(probe.READY)
    delete_is_refused_without_effect(container, "a running container")
    assert container.alive(), "the refused delete killed the container process"
    status = container.finish()
    assert status is None or status.code == 0, f"the program ended with {status} after the refused delete"


@requirement("runtime.delete-only-stopped")
def test_delete_of_a_created_container_fails_and_leaves_it_created(new_container):
    container = new_container(probe.waiting(probe.say("ran")))
    container.create()
    delete_is_refused_without_effect(container, "a created (not stopped) container")
    container.start()
    container.read_until(probe.READY)


@requirement("runtime.delete-only-stopped")
def test_delete_of_an_unknown_container_fails(runtime, unknown_container_id):
    call = runtime.delete(unknown_container_id)
    assert call.failed, f"delete of a container that does not exist did not report an error: {call.describe()}"


@requirement("runtime.delete-removes-resources", "runtime.lifecycle-destroy")
@needs("own_cgroup", "create a cgroup for the container at its cgroupsPath")
def test_delete_removes_the_containers_cgroup_processes_and_record(new_container, new_bundle):
    bundle = new_bundle()
    container = new_container(probe.waiting(), bundle=bundle)
    cgroups_path = bundle.use_cgroups_path(f"/{container.id}")
    container.create()
    container.start()
    container.read_until(probe.READY)
    pid = container.pid
    made = bundle.cgroup_dirs(cgroups_path)
    container.finish()
    call = container.delete()
    assert call.ok
    state_call, _ = container.state_call()
    assert state_call.failed, f"after delete the runtime still knows the container: {state_call.describe()}"
    assert not container.alive(), f"after delete the container process {pid} is still alive"
    left = [str(p) for p in made if p.exists()]
    assert not left, f"after delete the container's cgroups remain: {left}"


@requirement("runtime.delete-spares-foreign-resources")
def test_delete_keeps_bind_mount_sources_the_container_used(new_container, new_bundle):
    bundle = new_bundle()
    source = bundle.path / "shared-data"
    source.mkdir()
    (source / "keep.txt").write_text("host data\n")
    # Plain rbind: a read-only one is remounted, which runc 1.1.5 cannot do in a user namespace when
    # the source's filesystem is nodev/nosuid (/dev/shm under systemd): this check is about delete.
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(source),
                                    "options": ["rbind"]})
    container = new_container(probe.sh("cat /data/keep.txt"), bundle=bundle)
    status, out = container.run_to_exit()
    assert "host data" in out, f"the bind mount did not work: {out!r}"
    container.delete(prerequisite=True)
    assert (source / "keep.txt").read_text() == "host data\n", "delete removed or changed the bind-mount source"


@requirement("runtime.delete-spares-foreign-resources")
@needs("host_tool", "ip", "iproute2", "to make a namespace to join")
@needs("program_visible_from_host", "the program's network namespace, compared with the one the config names")
@needs("privileged", "create a named network namespace on the host (`ip netns add` mounts it under /run/netns)")
def test_delete_keeps_a_network_namespace_the_container_joined(new_container, new_bundle):
    bundle = new_bundle()
    try:
        path = str(bundle.hold(provisions.network_namespace()))
    except HarnessError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    identity = os.stat(path).st_ino
    for ns in bundle.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = path
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    assert namespace(container.pid, "net") == f"net:[{identity}]", "the container did not join the given namespace"
    container.kill("KILL")
    container.wait_exit()
    container.delete()
    assert os.path.exists(path) and os.stat(path).st_ino == identity, (
        "delete removed the network namespace the container joined but did not create"
    )

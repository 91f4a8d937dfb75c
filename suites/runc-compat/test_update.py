"""update: new resource limits for a running container, as containerd passes them.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-update.8.md

containerd's go-runc writes the LinuxResources JSON to the runtime's stdin (``update --resources=- ID``);
the limits are read back from the container's cgroup files on the host.
"""

import pytest

from ocitest import needs, probe, requirement
from ocitest.host import cgroup_dir_of, controller_version, process_cgroups

MiB = 1024 * 1024

#: Every check here limits memory and pids in a cgroup of the container's own.
pytestmark = [needs("cgroup_controller", "memory"), needs("cgroup_controller", "pids"),
              needs("own_cgroup", "create a cgroup for the container and change its limits")]


def read_limit(pid: int, controller: str) -> str:
    """The memory or pids limit in force for ``pid``'s cgroup, in the file's own words."""
    name = {"memory": "memory.limit_in_bytes" if controller_version("memory") == "v1" else "memory.max",
            "pids": "pids.max"}[controller]
    directory = cgroup_dir_of(pid, controller)
    assert directory is not None, f"the container process is in no `{controller}` cgroup: {process_cgroups(pid)}"
    return (directory / name).read_text().strip()


def limited_container(new_container, new_bundle):
    """A running container in its own cgroup with a memory limit of 64 MiB and a pids limit of 100."""
    bundle = new_bundle()
    container = new_container(probe.waiting(), bundle=bundle)
    bundle.use_cgroups_path(f"/{container.id}")
    bundle.config["linux"].setdefault("resources", {}).update({"memory": {"limit": 64 * MiB}, "pids": {"limit": 100}})
    return container.launch_unless_refused("linux.resources memory and pids limits")


@requirement("compat.update-resources")
def test_update_from_stdin_changes_the_limits_in_the_cgroup(new_container, new_bundle):
    container = limited_container(new_container, new_bundle)
    container.update({"memory": {"limit": 96 * MiB}, "pids": {"limit": 50}})
    seen = {"memory": read_limit(container.pid, "memory"), "pids": read_limit(container.pid, "pids")}
    assert seen == {"memory": str(96 * MiB), "pids": "50"}, (
        f"updated the memory limit to {96 * MiB} and the pids limit to 50; the cgroup has {seen}")


@requirement("compat.update-only-asked")
def test_an_update_of_one_resource_leaves_the_others(new_container, new_bundle):
    container = limited_container(new_container, new_bundle)
    call = container.update({"memory": {"limit": 96 * MiB}}, check=False)
    if not call.ok:
        pytest.skip(f"cannot judge this: the update failed ({call.describe()}; judged by compat.update-resources)")
    if read_limit(container.pid, "memory") != str(96 * MiB):
        pytest.skip("cannot judge this: the memory update itself was not applied (judged by compat.update-resources)")
    pids = read_limit(container.pid, "pids")
    assert pids == "100", f"only the memory limit was updated, yet the pids limit went from 100 to {pids}"


@requirement("compat.update-options")
def test_update_options_change_the_limits_in_the_cgroup(new_container, new_bundle):
    container = limited_container(new_container, new_bundle)
    container.update(options=("--memory", str(80 * MiB), "--pids-limit", "60"))
    seen = {"memory": read_limit(container.pid, "memory"), "pids": read_limit(container.pid, "pids")}
    assert seen == {"memory": str(80 * MiB), "pids": "60"}, (
        f"`update --memory {80 * MiB} --pids-limit 60`; the cgroup has {seen}")

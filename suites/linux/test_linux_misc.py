"""config-linux.md, Personality, Mount Label, Memory policy, Network Devices and IntelRdt.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxPersonality
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxMountLabel
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxMemoryPolicy
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxNetworkDevices
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxIntelRdt

Most of these need something from the host (SELinux, NUMA, a movable interface, resctrl); without
it the check is skipped with the reason. What the runtime's `features` say changes nothing: a
runtime that cannot apply memoryPolicy, netDevices or intelRdt refuses the config with an error
(runtime.md#runtimeCreate), and the check is skipped, naming that error; a runtime that takes the
config and ignores the field fails. Host interfaces made here are dummies named ``oct<pid><n>``, removed
in a ``finally``.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import subprocess
from pathlib import Path

import pytest

from ocitest import Wiring, host, needs, probe, provisions, requirement, since
from ocitest.host import RESCTRL, resctrl_l3_schema

# -- personality ------------------------------------------------------------------------------

LINUX32_MACHINE = {"x86_64": "i686", "aarch64": "armv8l", "ppc64le": "ppc", "s390x": "s390"}
#: The domain create's caller runs in for each case: the other one, so that a runtime that skips
#: personality(2) leaves the program in the caller's domain and shows.
CALLER_DOMAIN = {"LINUX32": "LINUX", "LINUX": "LINUX32"}


@requirement("linux.personality")
@pytest.mark.parametrize("domain", ["LINUX32", "LINUX"])
@needs("machine_in", "32-bit machine name", *LINUX32_MACHINE)
def test_the_program_runs_with_the_execution_domain(new_container, new_bundle, domain):
    machine = platform.machine()
    expected = LINUX32_MACHINE[machine] if domain == "LINUX32" else machine
    caller = CALLER_DOMAIN[domain]
    bundle = new_bundle()
    bundle.config["linux"]["personality"] = {"domain": domain}
    container = new_container(probe.sh(probe.say("machine", "$(uname -m)")), bundle=bundle)
    _, out = container.run_to_exit(wiring=Wiring(personality=caller))
    seen = probe.facts(out).get("machine")
    assert seen == [expected], (
        f"personality {domain} on {machine}, create's caller in {caller}: uname -m should say {expected}; "
        f"the program saw {seen}"
    )


# -- mount label ------------------------------------------------------------------------------


@requirement("linux.mount-label")
@needs("selinux")
def test_mounts_carry_the_mount_label(new_container, new_bundle):
    label = "system_u:object_r:container_file_t:s0:c100,c200"
    bundle = new_bundle()
    bundle.config["linux"]["mountLabel"] = label
    container = new_container(probe.waiting(), bundle=bundle).launch()
    shm = container.view.mounts_at("/dev/shm")
    container.finish()
    assert shm and f'context="{label}"' in shm[-1].super_options, (
        f"mountLabel {label!r}: the container's /dev/shm is {shm[-1].describe() if shm else 'not mounted'}")


# -- memory policy ----------------------------------------------------------------------------

#: mode -> how /proc/PID/numa_maps names the policy for node 0
POLICIES = {"MPOL_BIND": "bind:0", "MPOL_INTERLEAVE": "interleave:0", "MPOL_PREFERRED": "prefer:0"}


@requirement("linux.memory-policy")
@pytest.mark.parametrize("mode", sorted(POLICIES))
@needs("numa")
@needs("program_visible_from_host", "the program's NUMA memory policy (/proc/PID/numa_maps)")
def test_the_program_runs_with_the_memory_policy(new_container, new_bundle, mode):
    bundle = new_bundle()
    bundle.config["linux"]["memoryPolicy"] = {"mode": mode, "nodes": "0"}
    container = new_container(probe.waiting(), bundle=bundle).launch_unless_refused(f"memoryPolicy {mode}")
    maps = Path(f"/proc/{container.pid}/numa_maps").read_text().splitlines()
    container.finish()
    policies = {line.split()[1] for line in maps if len(line.split()) > 1}
    assert policies == {POLICIES[mode]}, f"memoryPolicy {mode} nodes 0: numa_maps shows policies {sorted(policies)}"


# -- network devices --------------------------------------------------------------------------

_names = itertools.count(1)
#: What the netDevices checks read from the host: `ip -j addr` run in the program's network namespace,
#: entered through the state pid (busybox's ip in the container has no JSON output).
NET_NAMESPACE = "the program's network interfaces (ip addr in its network namespace, entered through its pid)"


class Dummy:
    """A dummy interface on the host with a permanent global address."""

    def __init__(self) -> None:
        self.name = f"oct{os.getpid() % 100000}{next(_names)}"
        self.address = f"192.0.2.{next(_names) % 250 + 1}/24"
        made = subprocess.run(["ip", "link", "add", self.name, "type", "dummy"], capture_output=True, text=True,
                              timeout=30)
        if made.returncode != 0:
            pytest.skip(f"cannot make a dummy interface on this host: {made.stderr.strip()}")
        subprocess.run(["ip", "addr", "add", self.address, "dev", self.name], check=True, capture_output=True,
                       timeout=30)

    def on_host(self, name: str | None = None) -> bool:
        shown = subprocess.run(["ip", "link", "show", name or self.name], capture_output=True, timeout=30)
        return shown.returncode == 0

    def remove(self) -> None:
        if self.on_host():
            subprocess.run(["ip", "link", "del", self.name], capture_output=True, timeout=30)


def links_inside(container) -> list[dict]:
    out = subprocess.run([*host.nsenter(container.pid, "-n"), "ip", "-j", "addr", "show"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)


@pytest.fixture
def dummy():
    """A dummy interface on the host, removed after the check."""
    device = Dummy()
    yield device
    device.remove()


def launched_with(new_container, new_bundle, devices: dict):
    bundle = new_bundle()
    bundle.config["linux"]["netDevices"] = devices
    return new_container(probe.waiting(), bundle=bundle).launch_unless_refused(f"netDevices {devices}")


@requirement("linux.net-devices-moved", "linux.net-devices-up", "linux.net-devices-addresses-kept")
@pytest.mark.parametrize("rename", [False, True], ids=["host-name", "renamed"])
@needs("program_visible_from_host", NET_NAMESPACE)
def test_a_net_device_is_moved_in_up_with_its_addresses(new_container, new_bundle, dummy, rename):
    target = "ocitest0" if rename else dummy.name
    container = launched_with(new_container, new_bundle, {dummy.name: {"name": target} if rename else {}})
    links = {link["ifname"]: link for link in links_inside(container)}
    still_on_host = dummy.on_host()
    container.finish()
    assert target in links, f"netDevices moves {dummy.name} as {target}; the container has {sorted(links)}"
    assert not still_on_host, f"{dummy.name} is still in the host's network namespace"
    link = links[target]
    assert "UP" in link.get("flags", []), f"{target} is not up in the container: flags {link.get('flags')}"
    addresses = {f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])}
    assert dummy.address in addresses, f"{target} lost its address {dummy.address}: it has {sorted(addresses)}"


@requirement("linux.net-devices-name-template")
@needs("program_visible_from_host", NET_NAMESPACE)
def test_a_name_template_is_filled_in_by_the_kernel(new_container, new_bundle, dummy):
    container = launched_with(new_container, new_bundle, {dummy.name: {"name": "octmpl%d"}})
    names = [link["ifname"] for link in links_inside(container)]
    container.finish()
    assert any(n.startswith("octmpl") and n[6:].isdigit() for n in names), \
        f"the name template octmpl%d gave no octmplN interface in the container: {names}"


@requirement("linux.net-devices-name-exists-error")
def test_a_name_taken_in_the_container_is_an_error(new_container, new_bundle, dummy):
    bundle = new_bundle()
    bundle.config["linux"]["netDevices"] = {dummy.name: {"name": "lo"}}
    call = new_container(probe.sh("exit 0"), bundle=bundle).attempt()
    assert not call.ok, (
        f"moving {dummy.name} in as `lo`, which the container already has, did not fail ({call.describe()})"
    )


@requirement("linux.net-devices-impossible-error")
def test_a_device_that_cannot_be_moved_is_an_error(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["linux"]["netDevices"] = {"ocitestnone0": {}}
    call = new_container(probe.sh("exit 0"), bundle=bundle).attempt()
    assert not call.ok, (
        f"netDevices names an interface the host does not have, yet the runtime did not fail ({call.describe()})"
    )


@requirement("linux.net-devices-not-moved-out")
def test_a_moved_virtual_device_is_not_moved_back(new_container, new_bundle, dummy):
    container = launched_with(new_container, new_bundle, {dummy.name: {}})
    container.finish()
    container.delete(prerequisite=True)
    # The namespace died with its last process; a dummy device is destroyed with it by the kernel,
    # so it can only be on the host if the runtime moved it out first.
    assert not dummy.on_host(), f"{dummy.name} is back in the host's namespace after delete"


# -- Intel RDT ----------------------------------------------------------------------------------


#: What the CLOS checks compare with a resctrl group's tasks file on the host: the program's host pid.
HOST_PID = "the program's host pid (in a resctrl group's tasks)"


def needs_resctrl(test):
    """The check needs a mounted resctrl (whatever the runtime's ``features`` say of ``intelRdt``)."""
    return needs("resctrl")(test)


def snapshot(root: Path) -> dict[str, str]:
    """Every group and its schemata under the resctrl root (tasks files change too often to compare)."""
    found = {}
    for schemata in root.rglob("schemata"):
        found[str(schemata.parent.relative_to(root))] = schemata.read_text()
    return found


@requirement("linux.intel-rdt-no-resctrl-error")
@needs("no_resctrl")
def test_intel_rdt_without_resctrl_is_an_error(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["linux"]["intelRdt"] = {"closID": "ocitest"}
    call = new_container(probe.sh("exit 0"), bundle=bundle).attempt()
    assert not call.ok, f"intelRdt is set and no resctrl is mounted, yet the runtime did not fail ({call.describe()})"


@requirement("linux.intel-rdt-tasks")
# closID "/" (the resctrl root, the default CLOS) is defined from runtime-spec 1.3.0 on.
@pytest.mark.parametrize("closid", [None, pytest.param("/", marks=since("1.3.0"))], ids=["container-id", "root"])
@needs_resctrl
@needs("program_visible_from_host", HOST_PID)
def test_the_container_joins_its_clos(new_container, new_bundle, closid):
    bundle = new_bundle()
    rdt = {} if closid is None else {"closID": closid}
    bundle.config["linux"]["intelRdt"] = rdt
    container = new_container(probe.waiting(), bundle=bundle).launch_unless_refused(f"intelRdt {rdt}")
    group = RESCTRL if closid == "/" else RESCTRL / container.id
    tasks = (group / "tasks").read_text().split() if (group / "tasks").exists() else None
    container.finish()
    assert tasks is not None, f"there is no resctrl group {group}"
    assert str(container.pid) in tasks, f"the container process {container.pid} is not in {group}/tasks"


@requirement("linux.intel-rdt-untouched")
@needs_resctrl
def test_resctrl_is_untouched_without_intel_rdt(new_container, new_bundle):
    before = snapshot(RESCTRL)
    container = new_container(probe.waiting()).launch()
    during = snapshot(RESCTRL)
    container.finish()
    assert during == before, f"without intelRdt the resctrl groups changed: {sorted(set(during) ^ set(before))}"


@requirement("linux.intel-rdt-schemata", "linux.intel-rdt-cleanup")
@needs_resctrl
@needs("resctrl_l3_schema")
def test_schemata_are_written_and_the_group_removed(new_container, new_bundle):
    l3 = resctrl_l3_schema()
    bundle = new_bundle()
    bundle.config["linux"]["intelRdt"] = {"l3CacheSchema": l3}
    container = new_container(probe.waiting(), bundle=bundle).launch_unless_refused(f"intelRdt l3CacheSchema {l3}")
    group = RESCTRL / container.id
    written = (group / "schemata").read_text() if group.exists() else None
    container.finish()
    container.delete(prerequisite=True)
    assert written is not None, f"no resctrl group {group} was made for the container"
    assert l3.replace(" ", "") in written.replace(" ", ""), (
        f"l3CacheSchema {l3!r} is not in {group}/schemata: {written!r}"
    )
    assert not group.exists(), f"delete left the resctrl group {group} the runtime created"


@requirement("linux.intel-rdt-closid", "linux.intel-rdt-cleanup")
@needs_resctrl
@needs("program_visible_from_host", HOST_PID)
def test_a_missing_preconfigured_clos_is_an_error_and_an_existing_one_is_kept(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["linux"]["intelRdt"] = {"closID": f"ocitest-missing-{os.getpid()}"}
    call = new_container(probe.sh("exit 0"), bundle=bundle).attempt()
    assert not call.ok, (
        f"closID names no existing group and no schema is given, yet the runtime did not fail ({call.describe()})"
    )
    bundle = new_bundle()
    group = bundle.hold(provisions.directory(RESCTRL / f"ocitest-pre-{os.getpid()}"))
    bundle.config["linux"]["intelRdt"] = {"closID": group.name}
    container = new_container(probe.waiting(), bundle=bundle).launch_unless_refused(f"intelRdt closID {group.name}")
    tasks = (group / "tasks").read_text().split()
    container.finish()
    container.delete(prerequisite=True)
    assert str(container.pid) in tasks, f"the container process is not in the pre-configured {group}/tasks"
    assert group.exists(), f"delete removed the pre-configured group {group}"


@requirement("linux.intel-rdt-monitoring")
@needs_resctrl
@needs("resctrl_monitoring")
def test_monitoring_makes_and_removes_a_mon_group(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["linux"]["intelRdt"] = {"enableMonitoring": True}
    container = new_container(probe.waiting(), bundle=bundle).launch_unless_refused("intelRdt enableMonitoring")
    mon = RESCTRL / container.id / "mon_groups" / container.id
    made = mon.exists()
    container.finish()
    container.delete(prerequisite=True)
    assert made, f"enableMonitoring: there is no MON group {mon}"
    assert not mon.exists(), f"delete left the MON group {mon}"

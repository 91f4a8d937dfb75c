"""The one mountinfo parser and the one /proc/PID/cgroup reader: what the mount, propagation and
cgroup checks rely on, shown on lines the kernel writes (proc_pid_mountinfo(5))."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ocitest.host import Mount, cgroup_layout, helpers_of, memberships, mounts_of, parse_mountinfo, process_cgroups
from ocitest.host.cgroups import HARNESS_LEAF, DelegatedLeaf

#: A shared rootfs, a slave bind mount whose point has a space, a tmpfs with an SELinux context
#: (a quoted value with a comma), and a cgroup v1 hierarchy naming its controllers.
SAMPLE = """\
21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
35 21 8:1 /srv/a\\040b /mnt/with\\040space ro,nosuid master:1 propagate_from:1 - ext4 /dev/sda1 rw
40 21 0:30 / /dev/shm rw,nosuid,nodev - tmpfs shm rw,size=65536k,context="system_u:object_r:c_t:s0:c1,c2"
41 21 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime unbindable - cgroup cgroup rw,cpu,cpuacct
"""


def test_a_mountinfo_line_becomes_a_mount_with_every_field():
    root, bind, shm, cpu = parse_mountinfo(SAMPLE)
    assert root == Mount(mount_id=21, parent_id=1, device="8:1", root="/", point="/",
                         options=frozenset({"rw", "relatime"}), optional=("shared:1",), fstype="ext4",
                         source="/dev/sda1", super_options=frozenset({"rw", "errors=remount-ro"}))
    assert (bind.root, bind.point, bind.options) == ("/srv/a b", "/mnt/with space", frozenset({"ro", "nosuid"}))
    assert 'context="system_u:object_r:c_t:s0:c1,c2"' in shm.super_options
    assert "size=65536k" in shm.super_options
    assert cpu.point == "/sys/fs/cgroup/cpu,cpuacct" and {"cpu", "cpuacct"} <= cpu.super_options


def test_propagation_is_read_from_the_optional_fields():
    root, bind, shm, cpu = parse_mountinfo(SAMPLE)
    assert (root.shared(), root.slave(), root.propagation) == (True, False, "shared:1")
    assert (bind.shared(), bind.slave()) == (False, True)
    assert (shm.propagation, shm.shared(), shm.slave(), shm.unbindable()) == ("private", False, False, False)
    assert cpu.unbindable()
    assert bind.describe() == ("/mnt/with space: per-mount [nosuid,ro], superblock [rw], "
                               "propagation [master:1 propagate_from:1]")


def test_the_harness_sees_its_own_root_mount():
    assert any(m.point == "/" for m in mounts_of())


def test_each_hierarchy_of_a_process_is_one_membership():
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    found = memberships("self")
    assert len(found) == len(lines)
    by_controller = process_cgroups("self")
    for entry in found:
        for controller in entry.controllers or ("",):
            assert by_controller[controller] == entry.path
    assert cgroup_layout() in ("v1", "v2", "hybrid")


def test_leaving_the_delegated_leaf_undoes_what_the_run_enabled_and_removes_the_leaf(tmp_path):
    # A stand-in for the delegated cgroup (the VM runs the real one: scripts/vm's runc-rootless).
    (tmp_path / "cgroup.subtree_control").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.procs").write_text("")
    (tmp_path / HARNESS_LEAF).mkdir()
    DelegatedLeaf(tmp_path, frozenset({"cpu"})).leave()
    assert (tmp_path / "cgroup.subtree_control").read_text() == "-memory -pids"
    assert (tmp_path / "cgroup.procs").read_text() == str(os.getpid())
    assert not (tmp_path / HARNESS_LEAF).exists()


def test_a_helper_is_known_by_its_whole_bundle_argument(tmp_path):
    """runsc's sandbox and gofer name their bundle (``--bundle DIR``, ``--bundle=DIR``): bundles/b1's
    helpers are its own, not bundles/b10's, whose pidfds another container's teardown must not take."""
    b1, b10 = str(tmp_path / "bundles" / "b1"), str(tmp_path / "bundles" / "b10")
    # Each says it is up (its command line is in place only once exec is done), then waits for its stdin.
    waiting = [sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"]
    spaced = subprocess.Popen([*waiting, "--bundle", b1], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    joined = subprocess.Popen([*waiting, f"--bundle={b10}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for proc in (spaced, joined):
            assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        pids = [spaced.pid, joined.pid]
        assert helpers_of("ocitest-x-1", b1, pids) == [spaced.pid]
        assert helpers_of("ocitest-x-10", b10, pids) == [joined.pid]
    finally:
        for proc in (spaced, joined):
            proc.communicate()

"""The host helpers the mount checks stand on: mount(8)'s bind oracle and the runtime's own mount namespace."""

from __future__ import annotations

import os
import subprocess

import pytest

from ocitest import provisions
from ocitest.host import mount8_bind, mount8_tmpfs, mounts_of
from ocitest.runtime import Runtime

ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts)")


@ROOT
def test_the_bind_oracle_makes_the_bind_read_only_not_its_source():
    """mount(8) on a bind remounts the bind mount: `ro` is a per-mount flag there, whereas a tmpfs
    mounted `ro` has a read-only superblock. The two oracles differ exactly so."""
    bind, why = mount8_bind(("ro",))
    assert bind is not None, why
    assert "ro" in bind.options and "rw" in bind.super_options, bind.describe()
    tmpfs, why = mount8_tmpfs(("ro",))
    assert tmpfs is not None, why
    assert "ro" in tmpfs.super_options, tmpfs.describe()


@ROOT
def test_a_mount_made_in_the_runtimes_mount_namespace_stays_there(tmp_path):
    target = tmp_path / "inside"
    target.mkdir()
    with provisions.mount_namespace() as ns:
        subprocess.run(["nsenter", "-t", str(ns.pid), "-m", "mount", "-t", "tmpfs", "ocitest-ns-check", str(target)],
                       check=True, timeout=30)
        assert any(m.point == str(target) for m in ns.mounts())
        assert not any(m.point == str(target) for m in mounts_of())
        entered = ns.entered(Runtime("runc", ["--root", "/run/x"]))
        assert entered.argv("list") == ["nsenter", "-t", str(ns.pid), "-m", "--", "runc", "--root", "/run/x", "list"]
        holder = ns.pid
    assert not os.path.exists(f"/proc/{holder}/ns/mnt"), "the namespace's holder is still alive"
    assert not any(m.point == str(target) for m in mounts_of())

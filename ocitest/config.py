"""The default config.json: what a runtime's own ``spec`` command writes, plus the evidence mount.

Field names and defaults follow ``runc spec`` (namespaces, default mounts, masked and readonly
paths, capabilities, rlimits, device cgroup deny-all), with ``terminal`` off and one extra
bind mount: the bundle's evidence folder at ``/ocitest``, where programs and hooks inside the
container leave facts for the host to read.
"""

from __future__ import annotations

import copy
import os

#: Where the evidence folder appears inside the container.
EVIDENCE_DIR = "/ocitest"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

_TEMPLATE: dict = {
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["/bin/sh", "-c", "exit 0"],
        "env": [f"PATH={DEFAULT_PATH}", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {
            "bounding": DEFAULT_CAPS,
            "effective": DEFAULT_CAPS,
            "permitted": DEFAULT_CAPS,
            "ambient": DEFAULT_CAPS,
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "ocitest",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [
            {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
        ],
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
}


def default_config(oci_version: str, evidence_source: str, *, rootless: bool = False) -> dict:
    """A fresh default config; ``evidence_source`` is the host folder mounted at /ocitest.

    ``rootless``: the caller is an unprivileged user, so the container gets a user namespace
    mapping container root to the caller's uid and gid (the only IDs it may map without
    newuidmap), and nothing that names an unmapped ID (devpts ``gid=5``).
    """
    config = copy.deepcopy(_TEMPLATE)
    config["ociVersion"] = oci_version
    config["mounts"].append(
        {"destination": EVIDENCE_DIR, "type": "bind", "source": evidence_source, "options": ["rbind", "rw"]}
    )
    if rootless:
        make_rootless(config, os.getuid(), os.getgid())
    return config


def make_rootless(config: dict, uid: int, gid: int) -> None:
    """Turn a default config into one an unprivileged caller can run (as ``runc spec --rootless`` does)."""
    linux = config.setdefault("linux", {})
    namespaces = linux.setdefault("namespaces", [])
    if not any(ns.get("type") == "user" for ns in namespaces):
        namespaces.append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": gid, "size": 1}]
    for mount in config.get("mounts", []):
        if mount.get("type") == "devpts":
            mount["options"] = [o for o in mount.get("options", []) if not o.startswith("gid=")]

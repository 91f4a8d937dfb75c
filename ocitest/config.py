"""The default config.json: bundles/config.json, plus the exchange mount.

The template follows ``runc spec`` as runc 1.5 writes it (namespaces, default mounts, masked and
readonly paths, rlimits, device cgroup deny-all, and the capabilities in the bounding, permitted and
effective sets only: an ambient set without the same inheritable set is one the kernel cannot
raise, and newer runcs warn about it on create's stderr), with ``terminal`` off. Added here: one bind
mount, the bundle's exchange folder at ``/ocitest``, where programs and hooks inside the
container leave facts for the host to read (its source differs per bundle).
"""

from __future__ import annotations

import copy
import functools
import os

from .templates import load_json

#: Where the exchange folder appears inside the container.
EXCHANGE_DIR = "/ocitest"


@functools.cache
def _template() -> dict:
    """The parsed template, read once; callers get a deep copy, so no two configs share a list.

    The capability sets are separate lists (as ``runc spec`` writes them): a check that adds a
    capability to one set changes only that set.
    """
    return load_json("config.json")


def default_config(oci_version: str, exchange_source: str, *, rootless: bool = False) -> dict:
    """A fresh default config; ``exchange_source`` is the host folder mounted at /ocitest.

    ``rootless``: the caller is an unprivileged user, so the container gets a user namespace
    mapping container root to the caller's uid and gid (the only IDs it may map without
    newuidmap), and nothing that names an unmapped ID (devpts ``gid=5``).
    """
    config = copy.deepcopy(_template())
    config["ociVersion"] = oci_version
    config["mounts"].append(
        {"destination": EXCHANGE_DIR, "type": "bind", "source": exchange_source, "options": ["rbind", "rw"]}
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

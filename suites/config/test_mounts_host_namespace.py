"""config.md Mounts in a container without a mount namespace of its own: delete takes the mounts away.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#delete
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#namespaces

A container whose `linux.namespaces` lists no `mount` namespace inherits the runtime's (config-linux.md,
since v1.0.0), so the entries of `mounts` are mounted in the
runtime's own mount table, below the bundle's rootfs. They are resources made by `create`, and
"deleting a container MUST delete the resources that were created during the create step"
(runtime.md, since v1.0.0): after `delete`, none may be left there.

The runtime is run in a mount namespace of its own for this check (``provisions.mount_namespace``:
a private copy of the harness's, no mount events either way), so whatever it mounts, or leaves
behind, stays out of the host's mount table and goes with the namespace after the check; on a real
host a runtime setting up a root in the host's mount namespace would also change the propagation
of the host's own mounts.
"""

from __future__ import annotations

import pytest

from ocitest import needs, probe, provisions, requirement

from .mount_tools import MNT


def below(mounts, root: str) -> list[str]:
    """The mount points at or below ``root``, in mount order."""
    return [m.point for m in mounts if m.point == root or m.point.startswith(root + "/")]


@requirement("runtime.delete-removes-resources")
@needs("privileged", "run the runtime in a mount namespace of its own (unshare -m needs root)")
def test_delete_removes_the_mounts_of_a_container_sharing_the_runtimes_mount_namespace(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["linux"]["namespaces"] = [ns for ns in bundle.config["linux"]["namespaces"] if ns["type"] != "mount"]
    # Masking and read-only paths are a matter of their own, which runc refuses without a mount namespace.
    for key in ("maskedPaths", "readonlyPaths"):
        bundle.config["linux"].pop(key, None)
    bundle.config["mounts"].append({"destination": f"{MNT}/shared-ns", "type": "tmpfs", "source": "ocitest-tmpfs",
                                    "options": ["size=1m"]})
    runtime_ns = bundle.hold(provisions.mount_namespace())
    rootfs = str(bundle.rootfs)
    container = new_container(probe.sh("true"), bundle=bundle)
    container.runtime = runtime_ns.entered(container.runtime)
    call = container.create(check=False)
    if call.failed:
        pytest.skip(f"the runtime refuses a container without a mount namespace, so it mounts nothing to take "
                    f"away: {call.describe()}")
    made = below(runtime_ns.mounts(), rootfs)
    if not made:
        pytest.skip("create made no mount below the rootfs in the runtime's mount namespace (the container did not "
                    "inherit it), so delete has none to take away")
    container.start()
    container.wait_exit()
    container.delete()
    left = below(runtime_ns.mounts(), rootfs)
    assert not left, (
        f"no mount namespace in linux.namespaces: create mounted {len(made)} filesystems below the rootfs in the "
        f"runtime's mount namespace; after delete these are still there: {left}")

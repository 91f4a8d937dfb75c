"""config.md, Linux mount options `idmap` and `ridmap` with a mount's `uidMappings`/`gidMappings`.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxMountOptions
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configPOSIXMounts

One behaviour, one requirement: a mount left without any ID mapping breaks "the mount MUST have an
idmapping applied" (config.mount-idmap-applied, and the option's own row); which values a mapping
uses (config.mount-idmap-uses-mappings) is judged only where the mount has one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ocitest import needs, requirement

from .mount_tools import MNT, add_mount, host_tree, mounts_at, source_dir, top_mount, try_create

# -- idmapped mounts ----------------------------------------------------------------------------

MAPPED = 12345
MAPPING = [{"containerID": 0, "hostID": MAPPED, "size": 1}]


def idmap_bundle(new_bundle, option: str, source: Path | None = None, *, mappings: bool = True):
    bundle = new_bundle()
    if source is None:
        source = source_dir(bundle, "idmapped", "owned by root")
    extra = {"uidMappings": MAPPING, "gidMappings": MAPPING} if mappings else {}
    add_mount(bundle, f"{MNT}/{option}", ["rbind", option], source=str(source), fstype="bind", **extra)
    return bundle


IDMAP_PRIVILEGE = needs("privileged", "mount a tmpfs tree with submounts on the host (the id-mapped source) "
                                      "nor map container root to another host ID")


def idmapped_container(option: str, new_container, new_bundle):
    """A container with an `option` (idmap/ridmap) bind mount of a host tree whose files are owned by
    0:0, with the mapping 0 -> MAPPED; skipped when create refuses it (a SHOULD option, refusing is
    allowed)."""
    holder = new_bundle()
    tree = host_tree(holder)
    bundle = idmap_bundle(new_bundle, option, tree)
    container, call = try_create(new_container, bundle)
    if call.failed:
        pytest.skip(f"the runtime refuses `{option}` with uidMappings/gidMappings (a SHOULD; refusing is allowed): "
                    f"{call.describe()}")
    return container


def idmap_points(container, option: str) -> dict[str, str]:
    """The checked paths of the mount and the mount each is on: the mount's own file, and for `ridmap`
    a submount's root (skipped when the rbind brought no submount: the recursive mapping cannot be seen)."""
    dest = f"{MNT}/{option}"
    points = {f"{dest}/marker": dest}
    if option == "ridmap":
        sub = f"{dest}/sub-plain"
        if not mounts_at(container, sub):
            pytest.skip(f"the rbind with `ridmap` brought none of the source's submounts (no mount at {sub}), so "
                        "whether the mapping reaches the mounts below cannot be seen")
        points[sub] = sub
    return points


def owners(container, option: str) -> dict[str, tuple[int, int, bool]]:
    """path -> (uid, gid as the program sees them through the mount (the container has no user namespace
    of its own, so as the host sees them too), whether mountinfo says the mount is idmapped)."""
    seen = {}
    for path, point in idmap_points(container, option).items():
        st = container.view.lstat(path)
        seen[path] = (st.st_uid, st.st_gid, "idmapped" in top_mount(container, point).options)
    return seen


@pytest.mark.parametrize("option", [
    pytest.param("idmap", marks=requirement("config.mount-option-idmap", "config.mount-idmap-applied")),
    pytest.param("ridmap", marks=requirement("config.mount-option-ridmap", "config.mount-idmap-applied")),
])
@needs("kernel", "5.12", "idmapped mounts")
@IDMAP_PRIVILEGE
def test_idmap_option_gives_the_mount_an_id_mapping(option, new_container, new_bundle):
    container = idmapped_container(option, new_container, new_bundle)
    unmapped = {path: f"{uid}:{gid}" for path, (uid, gid, idmapped) in owners(container, option).items()
                if not idmapped and (uid, gid) == (0, 0)}
    assert not unmapped, (
        f"`{option}` with the mapping 0->{MAPPED} was accepted, but the mount has no ID mapping at all (mountinfo "
        f"does not say idmapped, files owned by 0:0 on the source show as {unmapped})")


@requirement("config.mount-idmap-uses-mappings")
@pytest.mark.parametrize("option", ["idmap", "ridmap"])
@needs("kernel", "5.12", "idmapped mounts")
@IDMAP_PRIVILEGE
def test_an_idmap_mount_uses_the_mappings_it_is_given(option, new_container, new_bundle):
    """Which mapping the mount has: judged only where it has one (a mount left without any mapping
    breaks config.mount-idmap-applied, not this sentence)."""
    container = idmapped_container(option, new_container, new_bundle)
    seen = owners(container, option)
    if all(not idmapped and (uid, gid) == (0, 0) for uid, gid, idmapped in seen.values()):
        pytest.skip(f"the `{option}` mount has no ID mapping at all, so which values it uses cannot be seen "
                    f"(config.mount-idmap-applied judges that)")
    other = {path: f"{uid}:{gid}" for path, (uid, gid, _) in seen.items() if (uid, gid) != (MAPPED, MAPPED)}
    assert not other, (
        f"`{option}` with uidMappings/gidMappings 0->{MAPPED}: files owned by 0:0 on the source show as {other}, "
        f"not {MAPPED}:{MAPPED}: the mount's mapping is not the one given")


@pytest.mark.parametrize("option", [
    pytest.param("idmap", marks=requirement("config.mount-idmap-needs-mapping")),
    pytest.param("ridmap", marks=requirement("config.mount-idmap-needs-mapping")),
])
@needs("privileged", "run a container without a user namespace (the premise of the check)")
def test_idmap_without_mappings_or_user_namespace_fails_create(option, new_container, new_bundle):
    bundle = idmap_bundle(new_bundle, option, mappings=False)
    assert not any(ns["type"] == "user" for ns in bundle.config["linux"]["namespaces"])
    container, call = try_create(new_container, bundle)
    if call.ok:
        seen = container.view.lstat(f"{MNT}/{option}/marker")
        pytest.fail(f"create succeeded with `{option}`, no uidMappings/gidMappings and no user namespace "
                    f"(the file owned by 0:0 shows as {seen.st_uid}:{seen.st_gid}): {call.describe()}", pytrace=False)

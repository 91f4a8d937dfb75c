"""features.md: the Features structure the runtime prints with `features`, and what its claims commit it to.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features.md#features
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features.md#featuresSpecificationVersion
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features.md#featuresHooks
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features.md#featuresMountOptions
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features.md#featuresAnnotations

A runtime MAY have no `features` command; then every check here is skipped with the runtime's
answer. The structure is validated against features-schema.json only where the schema folder
has one (runtime-spec 1.1.0 and later; Debian's 1.0.2 folder has none). "Content SHOULD be
determined at compilation time" has no check (see the catalog's features.compile-time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from ocitest import FEATURES_SCHEMA, Bundle, Runtime, RuntimeInfo, Schemas, needs, probe, requirement
from ocitest.host import mount8_tmpfs

from .recognition import (
    MADE_UP,
    Outcome,
    baseline,
    judge,
    no_features_reason,
    refusal_shows_not_known,
    run_program,
    write_config,
)

#: Every check here asks the runtime's `features`; without the command, all of them are skipped
#: with the runtime's own answer (and `ocitest doctor` names that before the run).
pytestmark = needs("features_command")

# -- versions -------------------------------------------------------------------------------------

_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def semver_key(version: object) -> tuple | None:
    """A sort key with SemVer 2.0.0 precedence (a pre-release sorts below its release), None if not SemVer."""
    match = _SEMVER.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        tail: tuple = (1,)
    else:
        tail = (0, tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")))
    return int(major), int(minor), int(patch), tail


# -- the properties each spec version defines -------------------------------------------------------

#: A property whose value has no properties of its own to check (strings, booleans, arrays).
LEAF = None
#: A property whose keys are free (annotations).
FREE = "free"


#: The spec versions (major, minor) whose Features structure ocitest knows: the first and the newest.
FIRST, NEWEST = (1, 1), (1, 3)


def _tree(version: tuple[int, int]) -> dict:
    """The properties features.md and features-linux.md define at ``version`` (1.1, 1.2 or 1.3)."""
    linux = {
        "namespaces": LEAF, "capabilities": LEAF,
        "cgroup": {"v1": LEAF, "v2": LEAF, "systemd": LEAF, "systemdUser": LEAF, "rdma": LEAF},
        "seccomp": {"enabled": LEAF, "actions": LEAF, "operators": LEAF, "archs": LEAF, "knownFlags": LEAF,
                    "supportedFlags": LEAF},
        "apparmor": {"enabled": LEAF}, "selinux": {"enabled": LEAF}, "intelRdt": {"enabled": LEAF},
    }
    top = {"ociVersionMin": LEAF, "ociVersionMax": LEAF, "hooks": LEAF, "mountOptions": LEAF, "annotations": FREE,
           "linux": linux}
    if version >= (1, 2):
        top["potentiallyUnsafeConfigAnnotations"] = LEAF
        linux["mountExtensions"] = {"idmap": {"enabled": LEAF}}
    if version >= (1, 3):
        linux["memoryPolicy"] = {"modes": LEAF, "flags": LEAF}
        linux["intelRdt"].update(schemata=LEAF, monitoring=LEAF)
        linux["netDevices"] = {"enabled": LEAF}
    return top


def undefined_properties(document: dict, tree: dict, prefix: str = "") -> list[str]:
    """Paths of the properties of ``document`` that ``tree`` does not define."""
    found = []
    for key, value in document.items():
        path = f"{prefix}{key}"
        if key not in tree:
            found.append(path)
        elif isinstance(tree[key], dict) and isinstance(value, dict):
            found += undefined_properties(value, tree[key], f"{path}.")
    return found


def drop_nulls(node: object, keep: tuple[str, ...] = ()) -> object:
    """``node`` without null-valued properties (except ``keep``): features.md lets any of them be
    null, which is the same as absent, while the schema's types do not admit null."""
    if isinstance(node, dict):
        return {k: drop_nulls(v) for k, v in node.items() if v is not None or k in keep}
    if isinstance(node, list):
        return [drop_nulls(v) for v in node]
    return node


# -- the structure itself ------------------------------------------------------------------------------


@requirement("features.schema")
def test_features_prints_a_json_object_valid_against_the_features_schema(runtime: Runtime, runtime_info: RuntimeInfo,
                                                                          schemas: Schemas):
    call = runtime.call("features")
    if not call.ok:
        if runtime_info.features is None and runtime_info.features_problem.startswith("no `features` command"):
            pytest.skip(no_features_reason(runtime_info))
        raise AssertionError(f"`features` failed, though it answered at the start of the run: {call.describe()}")
    try:
        document = json.loads(call.stdout)
    except ValueError as exc:
        raise AssertionError(f"`features` printed no JSON ({exc}): {call.stdout[:300]!r}") from None
    assert isinstance(document, dict), f"`features` printed JSON that is not an object: {call.stdout[:300]!r}"
    if not schemas.has_features_schema:
        pytest.skip(f"the schema folder {schemas.directory} has no {FEATURES_SCHEMA} (runtime-spec 1.1+); pass "
                    "--schema-dir DIR naming a runtime-spec 1.1 or later schema folder to validate the output")
    problems = schemas.features_errors(drop_nulls(document, keep=("ociVersionMin", "ociVersionMax")))
    assert not problems, f"the Features structure breaks {FEATURES_SCHEMA} ({schemas.directory}): {problems[:8]}"


@requirement("features.oci-version-order")
def test_oci_version_max_is_not_below_oci_version_min(features: dict):
    low, high = features.get("ociVersionMin"), features.get("ociVersionMax")
    low_key, high_key = semver_key(low), semver_key(high)
    assert low_key is not None and high_key is not None, (
        f"ociVersionMin {low!r} and ociVersionMax {high!r} cannot be ordered: both must be SemVer 2.0.0 versions "
        "(config.md#configSpecificationVersion)")
    assert high_key >= low_key, f"ociVersionMax {high!r} is a lower version than ociVersionMin {low!r}"


@pytest.mark.parametrize("bound", [
    pytest.param("ociVersionMin", marks=requirement("features.oci-version-min-accepted")),
    pytest.param("ociVersionMax", marks=requirement("features.oci-version-max-accepted")),
])
def test_the_runtime_accepts_its_declared_versions_as_config_oci_version(bound: str, features: dict,
                                                                          new_container: Callable,
                                                                          new_bundle: Callable):
    version = features.get(bound)
    if not isinstance(version, str):
        pytest.fail(f"features has no string {bound} (it is REQUIRED): {version!r}", pytrace=False)
    bundle = new_bundle()
    bundle.config["ociVersion"] = version
    outcome = run_program(new_container, bundle, off_schema=("ociVersion",))
    assert outcome.accepted, (
        f"a config.json with ociVersion {version!r} (the runtime's {bound}) is refused: {outcome.describe()}")


def spec_version_tree(declared: object) -> tuple[tuple[int, int], str, bool]:
    """The spec version whose properties apply to a runtime declaring ``declared`` as ociVersionMax,
    a note when that is not simply the declared version, and whether the declared one is newer
    than ocitest knows (so that extra properties may be defined there).

    A version before 1.1.0 (runc 1.1's "1.0.2-dev", a development version between releases)
    defines no Features structure at all, so the first release that does is taken; so is the
    newest known one for a version that is no SemVer or is newer than ocitest knows.
    """
    key = semver_key(declared)
    if key is None:
        return NEWEST, f"ociVersionMax {declared!r} is not SemVer, so v1.3.0's properties are taken", False
    version = (key[0], key[1])
    if version < FIRST:
        return FIRST, f"ociVersionMax {declared} predates the Features structure (v1.1.0), so v1.1.0's are taken", False
    if version > NEWEST:
        return NEWEST, f"ociVersionMax {declared} is newer than v1.3.0, the newest version ocitest knows", True
    return version, "", False


@requirement("features.no-undefined-properties")
def test_features_has_only_properties_its_spec_version_defines(features: dict):
    """Read as the sentence stands, under ociVersionMax: "this version" is the version it names."""
    declared = features.get("ociVersionMax")
    version, note, newer = spec_version_tree(declared)
    extra = undefined_properties(features, _tree(version))
    if extra and newer:
        pytest.skip(f"{note}; it may define {extra}")
    assert not extra, (
        f"the Features structure has properties runtime-spec v{version[0]}.{version[1]} does not define: {extra} "
        f"(ociVersionMax {declared!r}{'; ' + note if note else ''}); runtime-specific facts belong in `annotations`")


# -- hooks ------------------------------------------------------------------------------------------------

#: Hook kinds the schemas name; a listed kind beyond these is written without schema validation.
KNOWN_HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


@requirement("features.hooks-supported")
def test_each_listed_hook_kind_runs_as_a_config_hook(hook: str, new_container: Callable, new_bundle: Callable):
    """A hook of the listed kind leaves its file by the time the container is deleted (each
    kind's timing is config.md's business, checked in the config and runtime suites)."""
    bundle = new_bundle()
    bundle.config.setdefault("hooks", {})[hook] = [probe.recording_hook(hook, str(bundle.exchange))]
    container = new_container(probe.sh(probe.say("ran", "yes")), bundle=bundle)
    write_config(bundle, () if hook in KNOWN_HOOKS else (f"hooks/{hook}",))
    created = container.create(check=False, write_config=False)
    assert created.ok, f"with a `{hook}` hook in config.json, create failed: {created.describe()}"
    started = container.start(check=False)
    assert started.ok, f"with a `{hook}` hook in config.json, start failed: {started.describe()}"
    container.wait_exit()
    deleted = container.delete(check=False)
    assert deleted.ok, f"with a `{hook}` hook in config.json, delete failed: {deleted.describe()}"
    assert container.exchange_file(f"hook-{hook}.json").exists(), (
        f"`{hook}` is listed in features, but a `{hook}` hook in config.json never ran (create, start, the "
        "program's exit and delete all happened)")


# -- mount options ------------------------------------------------------------------------------------

MNT = "/mnt/ocitest-features"
#: Options whose mount is a bind mount (of a folder, with the dummy type "none" config.md allows).
BIND_OPTIONS = ("bind", "rbind")


def option_context(option: str) -> str:
    """Where ``option`` is tried: on a bind mount (`bind`, `rbind`), as a remount, or on a tmpfs."""
    return option if option in (*BIND_OPTIONS, "remount") else "tmpfs"


def option_mounts(bundle: Bundle, context: str, option: str) -> tuple[list[dict], list[str]]:
    """The mounts that try ``option`` in ``context`` and the program lines that show it took effect.

    A tmpfs is where an unknown option shows: a runtime hands an option it does not know to the
    filesystem as data, and tmpfs refuses data it does not know. `bind`/`rbind` need a folder to
    bind (and type "none", so that without them there is no mount at all), `remount` a mount to
    change (and must not stack a second one).
    """
    if context in BIND_OPTIONS:
        source = bundle.path / "bind-source"
        source.mkdir(exist_ok=True)
        (source / "marker").write_text("bound\n")
        check = f'[ -e {MNT}/marker ] && {probe.say("bound", "yes")}'
        return [{"destination": MNT, "type": "none", "source": str(source), "options": [option]}], [check]
    tmpfs = {"destination": MNT, "type": "tmpfs", "source": "ocitest-tmpfs"}
    if context == "remount":
        count = probe.say("mounts", f'$(grep -c " {MNT} " /proc/self/mountinfo)')
        return [{**tmpfs, "options": ["size=1m"]}, {**tmpfs, "options": [option]}], [count]
    return [{**tmpfs, "options": [option]}], []


def try_option(new_container: Callable, new_bundle: Callable, context: str, option: str) -> Outcome:
    bundle = new_bundle()
    mounts, lines = option_mounts(bundle, context, option)
    bundle.config["mounts"] += mounts
    return run_program(new_container, bundle, *lines)


@requirement("features.mount-options-recognized")
def test_each_listed_mount_option_is_recognized_in_config_mounts(mount_option: str, new_container: Callable,
                                                                  new_bundle: Callable):
    """A listed option on a tmpfs (or the mount it needs): accepted, and where it has a simple
    effect (`bind`, `remount`) having it; refused, red when mount(8) makes that very mount on this
    host or the refusal reads like that of a made-up option (see recognition.py)."""
    made_up = MADE_UP["mount_option"]
    context = option_context(mount_option)
    outcome = try_option(new_container, new_bundle, context, mount_option)
    made_up_outcome = baseline(f"mount-{context}", lambda: try_option(new_container, new_bundle, context, made_up))
    if outcome.accepted:
        facts = probe.facts(outcome.output)
        if context in BIND_OPTIONS:
            assert facts.get("bound") == ["yes"], (
                f"a mount of type \"none\" with `{mount_option}` was accepted, but {MNT} does not show the "
                "bound folder")
        if context == "remount":
            assert facts.get("mounts") == ["1"], (
                f"`remount` on {MNT} was accepted but the container has {facts.get('mounts')} mounts there: a second "
                "tmpfs was stacked instead of the existing one being changed")
    elif context == "tmpfs" and mount8_tmpfs((mount_option,))[0]:
        also = refusal_shows_not_known(mount_option, outcome, made_up, made_up_outcome, need_mention=True)
        raise AssertionError(f"mount option `{mount_option}` is listed in features, but the runtime refuses a tmpfs "
                             f"with it, which mount(8) mounts on this host{'; ' + also if also else ''}; the "
                             f"refusal: {outcome.describe()}")
    judge(mount_option, outcome, made_up, made_up_outcome, "mount option", need_mention=True)


#: The options the spec itself names as mount options of config.json: the table of config.md's
#: Linux mount options and the mountOptions of features.md's own example (which adds acl, noacl
#: and rnodev). None of these is a filesystem's data option.
SPEC_OPTIONS = frozenset("""
    acl async atime bind defaults dev diratime dirsync exec idmap iversion lazytime loud mand noacl noatime nodev
    nodiratime noexec noiversion nolazytime nomand norelatime nostrictatime nosuid nosymfollow private ratime rbind
    rdev rdiratime relatime remount rexec ridmap rnoatime rnodev rnodiratime rnoexec rnorelatime rnostrictatime
    rnosuid rnosymfollow ro rprivate rrelatime rro rrw rshared rslave rstrictatime rsuid rsymfollow runbindable rw
    shared silent slave strictatime suid symfollow sync tmpcopyup unbindable
""".split())
#: Options without a value that mount(8)'s "filesystem-specific mount options" and tmpfs(5) give to
#: single filesystems (tmpfs, ext4, xfs, btrfs, overlay, devpts, cgroup2, fuse, nfs, vfat).
FILESYSTEM_OPTIONS = frozenset("""
    inode32 inode64 noswap quota usrquota grpquota prjquota noquota uquota gquota pquota user_xattr nouser_xattr
    barrier nobarrier discard nodiscard delalloc nodelalloc journal_checksum nojournal_checksum
    journal_async_commit auto_da_alloc noauto_da_alloc dioread_lock dioread_nolock dax noload norecovery nombcache
    grpid bsdgroups nogrpid sysvgroups nouid32 attr2 noattr2 largeio nolargeio wsync filestreams ikeep noikeep
    swalloc ssd nossd ssd_spread nossd_spread autodefrag noautodefrag datacow nodatacow datasum nodatasum
    space_cache nospace_cache flushoncommit noflushoncommit degraded treelog notreelog userxattr volatile
    newinstance nsdelegate memory_recursiveprot memory_localevents favordynmods allow_other default_permissions
    hard soft intr nointr nolock ac noac sharecache nosharecache fsc nofsc quiet showexec flush nonumtail
""".split())


@requirement("features.mount-options-no-fs-data")
def test_listed_mount_options_are_not_filesystem_specific_data(mount_option: str):
    if mount_option in SPEC_OPTIONS:
        return
    assert "=" not in mount_option, (
        f"mountOptions lists `{mount_option}`: an option with a value is a filesystem's data option for mount(2)")
    assert mount_option not in FILESYSTEM_OPTIONS, (
        f"mountOptions lists `{mount_option}`, an option of particular filesystems that mount(2) receives as data")
    pytest.skip(f"ocitest cannot tell whether `{mount_option}` (not a mount option the spec names) is "
                "filesystem-specific")


# -- annotations -----------------------------------------------------------------------------------------


@requirement("features.annotations-string-map")
def test_annotations_map_non_empty_string_keys_to_strings(features: dict):
    annotations = features.get("annotations")
    if annotations is None:
        pytest.skip("the runtime's features have no annotations")
    assert isinstance(annotations, dict), f"features' annotations are not an object: {annotations!r}"
    empty = [k for k in annotations if not k]
    assert not empty, "features' annotations have an empty key (config.md: keys MUST NOT be an empty string)"
    not_strings = {k: v for k, v in annotations.items() if not isinstance(v, str)}
    assert not not_strings, f"features' annotations have values that are not strings: {not_strings}"

"""features-linux.md: every name the runtime lists under `linux` in its Features structure, put to use.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features-linux.md#linuxFeaturesNamespaces
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features-linux.md#linuxFeaturesCapabilities
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features-linux.md#linuxFeaturesSeccomp
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features-linux.md#linuxFeaturesMemoryPolicy
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/features-linux.md#linuxFeaturesMountExtensions

Namespaces and capabilities have an effect the host can see (a namespace of the container's
own, a bit in the program's capability sets), so those are checked. For seccomp and memory
policy names, "recognize" is checked as acceptance where a made-up name is refused (see
recognition.py); what each action or mode then does is config-linux.md's business (linux suite).
The seccomp rules here name `acct`, which the program never calls, so no rule ever fires.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ocitest import Bundle, needs, probe, provisions, requirement
from ocitest.host import CAPABILITY_NUMBERS, NS_FILES, namespace, namespace_missing, ungrantable_capabilities

from .recognition import MADE_UP, Outcome, baseline, judge, run_program

#: Every check here asks the runtime's `features`; without the command, all of them are skipped
#: with the runtime's own answer (and `ocitest doctor` names that before the run).
pytestmark = needs("features_command")

# -- namespaces -------------------------------------------------------------------------------------

#: Host ranges a new user namespace maps the container's IDs to.
UID_BASE, GID_BASE, SPAN = 410000, 420000, 65536


def give_user_namespace(bundle: Bundle) -> None:
    """Put the container in a new user namespace (rootless configs already have one).

    The mapped root must own the rootfs copy and reach it through the folders above the bundle.
    """
    linux = bundle.config["linux"]
    if linux.get("uidMappings"):
        return
    linux["uidMappings"] = [{"containerID": 0, "hostID": UID_BASE, "size": SPAN}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": GID_BASE, "size": SPAN}]
    subprocess.run(["chown", "-R", f"{UID_BASE}:{GID_BASE}", str(bundle.rootfs)], check=True, timeout=60)
    for folder in [bundle.path, *bundle.path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            os.chmod(folder, (mode & 0o7777) | 0o001)


def with_namespace(bundle: Bundle, kind: str) -> tuple[str, ...]:
    """List ``kind`` (new, no path) in linux.namespaces; the schema path of the entry."""
    linux = bundle.config["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns.get("type") != kind] + [{"type": kind}]
    if kind == "user":
        give_user_namespace(bundle)
    return (f"linux/namespaces/{len(linux['namespaces']) - 1}",)


def namespace_lines(kind: str) -> list[str]:
    """Program lines printing the identity of the container's namespace of ``kind``."""
    return [probe.say("ns", f"$(readlink /proc/self/ns/{NS_FILES[kind]})")]


@requirement("features.linux-namespaces-recognized")
def test_each_listed_namespace_type_gives_the_container_a_new_namespace(namespace_type: str, new_container: Callable,
                                                                        new_bundle: Callable):
    known = namespace_type in NS_FILES
    if known:
        missing = namespace_missing(namespace_type)
        if missing:
            pytest.skip(missing)
    bundle = new_bundle()
    off_schema = with_namespace(bundle, namespace_type)
    outcome = run_program(new_container, bundle, *(namespace_lines(namespace_type) if known else []),
                          off_schema=off_schema)
    if known:
        assert outcome.accepted, (
            f"`{namespace_type}` is listed in features and the host has such namespaces, but a config with a new "
            f"`{namespace_type}` namespace is refused: {outcome.describe()}")
        inside = (probe.facts(outcome.output).get("ns") or [""])[0]
        own = namespace("self", NS_FILES[namespace_type])
        assert inside and inside != own, (
            f"a config listing a new `{namespace_type}` namespace was accepted, but the program is in "
            f"{inside or 'no readable namespace'}, the caller's is {own}")
        return

    def made_up() -> Outcome:
        other = new_bundle()
        return run_program(new_container, other, off_schema=with_namespace(other, MADE_UP["namespace_type"]))

    judge(namespace_type, outcome, MADE_UP["namespace_type"], baseline("namespace", made_up), "namespace type")


# -- capabilities ----------------------------------------------------------------------------------

#: Program lines printing the bounding and effective sets of the container process itself.
CAP_LINES = [
    "while IFS= read -r line; do",
    f'  case "$line" in CapBnd:*) {probe.say("bnd", "${line#*:}")};; CapEff:*) {probe.say("eff", "${line#*:}")};; esac',
    "done < /proc/self/status",
]


@requirement("features.linux-capabilities-recognized")
def test_each_listed_capability_is_granted_when_configured(capability: str, new_container: Callable,
                                                           new_bundle: Callable):
    if capability not in CAPABILITY_NUMBERS:
        pytest.skip(f"ocitest does not know the number of {capability}, so it cannot look for it in the program's sets")
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    if CAPABILITY_NUMBERS[capability] > last:
        pytest.skip(f"this host's kernel (cap_last_cap {last}) has no {capability}, so it cannot be granted here")
    if capability in ungrantable_capabilities():
        pytest.skip(f"the harness's own bounding set lacks {capability}, so no runtime it starts can grant it")
    bundle = new_bundle()
    caps = bundle.config["process"]["capabilities"]
    for name in ("bounding", "permitted", "effective"):
        caps[name] = list(dict.fromkeys([*caps.get(name, []), capability]))
    outcome = run_program(new_container, bundle, *CAP_LINES)
    assert outcome.accepted, f"a config granting {capability} is refused: {outcome.describe()}"
    facts = probe.facts(outcome.output)
    bit = 1 << CAPABILITY_NUMBERS[capability]
    held = {name: int(facts[name][0].strip(), 16) & bit != 0 for name in ("bnd", "eff") if facts.get(name)}
    assert held == {"bnd": True, "eff": True}, (
        f"{capability} is listed in features and configured in the bounding, permitted and effective sets, but the "
        f"program does not hold it (held in bounding/effective: {held})")


# -- seccomp -------------------------------------------------------------------------------------------

#: Native architecture -> its libseccomp name (a profile's `architectures` keeps the native one).
NATIVE_ARCH = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64", "ppc64le": "SCMP_ARCH_PPC64LE",
               "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64"}


def seccomp_profile(*, action: str = "SCMP_ACT_ERRNO", op: str | None = None, archs: list[str] | None = None,
                    flags: list[str] | None = None) -> tuple[dict, tuple[str, ...]]:
    """A profile allowing everything but `acct` (never called), with the element under test in its
    place; the schema paths of that place."""
    rule: dict = {"names": ["acct"], "action": action}
    where = ["linux/seccomp/syscalls/0/action"]
    if op is not None:
        rule["args"] = [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]
        where.append("linux/seccomp/syscalls/0/args/0/op")
    profile: dict = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}
    if archs is not None:
        profile["architectures"] = archs
        where += [f"linux/seccomp/architectures/{i}" for i in range(len(archs))]
    if flags is not None:
        profile["flags"] = flags
        where.append("linux/seccomp/flags/0")
    return profile, tuple(where)


def run_seccomp(new_container: Callable, new_bundle: Callable, **element: object) -> Outcome:
    """Run a container under ``seccomp_profile(**element)``; an SCMP_ACT_NOTIFY rule gets a listening
    agent socket (`listenerPath` is required with it), which only has to take the connection."""
    bundle = new_bundle()
    profile, where = seccomp_profile(**element)
    if profile["syscalls"][0]["action"] == "SCMP_ACT_NOTIFY":
        path = str(bundle.path / "agent.sock")
        agent = bundle.hold(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        agent.bind(path)
        agent.listen(4)
        profile["listenerPath"] = path
    bundle.config["linux"]["seccomp"] = profile
    return run_program(new_container, bundle, off_schema=where)


def archs_with(arch: str) -> list[str]:
    native = NATIVE_ARCH.get(platform.machine())
    return list(dict.fromkeys([native, arch])) if native else [arch]


@requirement("features.seccomp-actions-recognized")
def test_each_listed_seccomp_action_is_accepted_in_a_rule(seccomp_action: str, new_container: Callable,
                                                          new_bundle: Callable):
    made_up = MADE_UP["seccomp_action"]
    outcome = run_seccomp(new_container, new_bundle, action=seccomp_action)
    base = baseline("seccomp-action", lambda: run_seccomp(new_container, new_bundle, action=made_up))
    judge(seccomp_action, outcome, made_up, base, "seccomp action")


@requirement("features.seccomp-operators-recognized")
def test_each_listed_seccomp_operator_is_accepted_in_a_rule(seccomp_operator: str, new_container: Callable,
                                                            new_bundle: Callable):
    made_up = MADE_UP["seccomp_operator"]
    outcome = run_seccomp(new_container, new_bundle, op=seccomp_operator)
    base = baseline("seccomp-operator", lambda: run_seccomp(new_container, new_bundle, op=made_up))
    judge(seccomp_operator, outcome, made_up, base, "seccomp operator")


@requirement("features.seccomp-archs-recognized")
def test_each_listed_seccomp_arch_is_known_in_a_profile(seccomp_arch: str, new_container: Callable,
                                                       new_bundle: Callable):
    made_up = MADE_UP["seccomp_arch"]
    outcome = run_seccomp(new_container, new_bundle, archs=archs_with(seccomp_arch))
    base = baseline("seccomp-arch", lambda: run_seccomp(new_container, new_bundle, archs=archs_with(made_up)))
    judge(seccomp_arch, outcome, made_up, base, "seccomp architecture")


@requirement("features.seccomp-known-flags-recognized")
def test_each_known_seccomp_flag_is_known_in_a_profile(seccomp_known_flag: str, new_container: Callable,
                                                      new_bundle: Callable):
    made_up = MADE_UP["seccomp_flag"]
    outcome = run_seccomp(new_container, new_bundle, flags=[seccomp_known_flag])
    base = baseline("seccomp-flag", lambda: run_seccomp(new_container, new_bundle, flags=[made_up]))
    judge(seccomp_known_flag, outcome, made_up, base, "seccomp flag")


@requirement("features.seccomp-supported-flags-supported")
def test_each_supported_seccomp_flag_works_on_this_host(seccomp_supported_flag: str, new_container: Callable,
                                                       new_bundle: Callable):
    """Unlike knownFlags, supportedFlags are those this host's kernel and libseccomp support, so
    a refusal is a failure whatever its reason."""
    made_up = MADE_UP["seccomp_flag"]
    outcome = run_seccomp(new_container, new_bundle, flags=[seccomp_supported_flag])
    assert outcome.accepted, (
        f"{seccomp_supported_flag} is listed among supportedFlags, but a profile with it is refused: "
        f"{outcome.describe()}")
    base = baseline("seccomp-flag", lambda: run_seccomp(new_container, new_bundle, flags=[made_up]))
    judge(seccomp_supported_flag, outcome, made_up, base, "seccomp flag")


# -- memory policy ---------------------------------------------------------------------------------------

#: Modes set_mempolicy(2) takes without nodes; every other mode needs at least one.
NODELESS_MODES = ("MPOL_DEFAULT", "MPOL_LOCAL")
#: The mode the flags are tried with: MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES and
#: MPOL_F_NUMA_BALANCING all combine with it.
FLAGS_MODE = "MPOL_BIND"


def run_memory_policy(new_container: Callable, new_bundle: Callable, mode: str,
                      flags: list[str] | None = None) -> Outcome:
    bundle = new_bundle()
    policy: dict = {"mode": mode}
    if mode not in NODELESS_MODES:
        policy["nodes"] = "0"
    where = ["linux/memoryPolicy/mode"]
    if flags is not None:
        policy["flags"] = flags
        where.append("linux/memoryPolicy/flags/0")
    bundle.config["linux"]["memoryPolicy"] = policy
    return run_program(new_container, bundle, off_schema=tuple(where))


@requirement("features.memory-policy-modes-recognized")
@needs("numa")
def test_each_listed_memory_policy_mode_is_known(memory_policy_mode: str, new_container: Callable,
                                                new_bundle: Callable):
    made_up = MADE_UP["memory_policy_mode"]
    outcome = run_memory_policy(new_container, new_bundle, memory_policy_mode)
    base = baseline("memory-policy-mode", lambda: run_memory_policy(new_container, new_bundle, made_up))
    judge(memory_policy_mode, outcome, made_up, base, "memory policy mode", need_mention=True)


@requirement("features.memory-policy-flags-recognized")
@needs("numa")
def test_each_listed_memory_policy_flag_is_known(memory_policy_flag: str, features: dict, new_container: Callable,
                                                new_bundle: Callable):
    modes = ((features.get("linux") or {}).get("memoryPolicy") or {}).get("modes") or []
    if FLAGS_MODE not in modes:
        pytest.skip(f"the flags are tried with {FLAGS_MODE}, which the runtime's features do not list")
    made_up = MADE_UP["memory_policy_flag"]
    outcome = run_memory_policy(new_container, new_bundle, FLAGS_MODE, [memory_policy_flag])
    base = baseline("memory-policy-flag", lambda: run_memory_policy(new_container, new_bundle, FLAGS_MODE, [made_up]))
    judge(memory_policy_flag, outcome, made_up, base, "memory policy flag", need_mention=True)


# -- id-mapped mounts ---------------------------------------------------------------------------------

MAPPED = 23456
IDMAP_DEST = "/mnt/ocitest-idmap"


@requirement("features.idmap-enabled-when-recognized")
@needs("kernel", "5.12", "id-mapped mounts", "mount_setattr MOUNT_ATTR_IDMAP")
@needs("privileged", "mount a tmpfs on the host to be the id-mapped source")
def test_idmap_enabled_says_whether_mount_id_mappings_are_used(features: dict, new_container: Callable,
                                                               new_bundle: Callable):
    """A bind mount of a tmpfs (which takes id-mapped mounts) with `idmap` and a mapping 0 -> MAPPED:
    a file the source has owned by 0:0 shows as MAPPED inside when the runtime used the mapping.

    features-linux.md: `enabled` "represents whether the runtime parses and attempts to use the
    uidMappings and gidMappings properties of mounts", and a runtime that does so only in part
    "MUST still set this value to true". Used but not claimed is that MUST broken; claimed but
    silently ignored misstates what `enabled` represents, and is red here too. A refusal shows
    the runtime at least looked at the mount when it claims support, and proves nothing otherwise.
    """
    claimed = ((((features.get("linux") or {}).get("mountExtensions") or {}).get("idmap") or {}).get("enabled")) is True
    bundle = new_bundle()
    source = bundle.path / "idmap-source"
    source.mkdir()
    bundle.hold(provisions.mount(source, "-t", "tmpfs", "-o", "mode=755", "ocitest-idmap"))
    (source / "marker").write_text("owned by 0:0\n")
    mapping = [{"containerID": 0, "hostID": MAPPED, "size": 1}]
    bundle.config["mounts"].append({"destination": IDMAP_DEST, "type": "bind", "source": str(source),
                                    "options": ["rbind", "idmap"], "uidMappings": mapping, "gidMappings": mapping})
    outcome = run_program(new_container, bundle, probe.say("owner", f"$(stat -c %u:%g {IDMAP_DEST}/marker)"))
    if not outcome.accepted:
        if claimed:
            return
        pytest.skip("the runtime refuses a bind mount with `idmap` and uidMappings/gidMappings, which does not show "
                    f"whether it reads them: {outcome.describe()}")
    owner = (probe.facts(outcome.output).get("owner") or [""])[0].strip()
    if not re.fullmatch(r"\d+:\d+", owner):
        pytest.skip(f"the source's file is not visible at {IDMAP_DEST} (stat printed {owner!r}); whether the mount is "
                    "made at all is config.md's business")
    # Inside the container (no user namespace of its own) the mapped owner shows as the host ID.
    used = owner == f"{MAPPED}:{MAPPED}"
    assert used == claimed, (
        f"a file owned by 0:0 on the source shows as {owner} through a mount with `idmap` and the mapping 0->{MAPPED}: "
        + ("the runtime uses the mount's uidMappings/gidMappings, but its features do not set "
           "linux.mountExtensions.idmap.enabled to true" if used else
           "the mappings were ignored, though the runtime's features set linux.mountExtensions.idmap.enabled to true"))

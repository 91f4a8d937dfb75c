"""config.md, Linux Process `capabilities`: the sets the program holds.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configLinuxProcess
Expected sets follow the kernel's execve rules (see ocitest/host/capabilities.py).
"""

import pytest

from ocitest import needs, probe, requirement, unseen
from ocitest.host import (
    CAPABILITY_SETS,
    capabilities_after_execve,
    capability_mask,
    capability_names,
    ungrantable_capabilities,
)

DISTINCT_SETS = {
    "bounding": ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"],
    "permitted": ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_NET_BIND_SERVICE"],
}


def held_sets(new_container, new_bundle, caps: dict, uid: int, no_new_privs: bool) -> tuple[dict, dict, dict, bool]:
    bundle = new_bundle()
    bundle.config["process"]["capabilities"] = caps
    bundle.config["process"]["user"] = {"uid": uid, "gid": uid}
    bundle.config["process"]["noNewPrivileges"] = no_new_privs
    container = new_container(probe.waiting(), bundle=bundle).launch()
    status = container.view.status()
    container.finish()
    held = {name: int(status[field], 16) for name, field in CAPABILITY_SETS.items() if field in status}
    missing = {name: field for name, field in CAPABILITY_SETS.items() if field not in status}
    return held, capabilities_after_execve(caps, uid, no_new_privs), missing, container.view.from_inside


@requirement("config.capabilities-sets")
@pytest.mark.parametrize("uid", [
    0, pytest.param(1000, marks=needs("privileged",
                                      "run the program as uid 1000 (only the caller's uid is mapped, as 0)")),
], ids=["root", "uid1000"])
@pytest.mark.parametrize("no_new_privs", [True, False], ids=["nnp", "no-nnp"])
def test_the_program_holds_the_configured_capabilities(new_container, new_bundle, uid, no_new_privs):
    held, expected, missing, sandbox = held_sets(new_container, new_bundle, DISTINCT_SETS, uid, no_new_privs)
    configured = {name: capability_mask(DISTINCT_SETS[name]) for name in CAPABILITY_SETS}
    if sandbox and all(held[name] == configured[name] for name in held):
        # A sandbox's kernel (gVisor's) may start the program with the configured sets as they are, not
        # recomputed by a Linux execve: that is what the config says, so it is as right as execve's result.
        expected = configured
    wrong = {name: {"expected": capability_names(expected[name]), "held": capability_names(held[name])}
             for name in held if held[name] != expected[name]}
    assert not wrong, f"capability sets differ from the configuration (after execve rules): {wrong}"
    if missing:  # a sandbox's own /proc (gVisor's) has no CapAmb line; the sets it shows are right
        unseen(f"{', '.join(missing)} capability set",
               f"its /proc/self/status has no {', '.join(missing.values())} line (the other sets are as configured)")


def runs_despite(container, what: str) -> None:
    """The container must be created and its program run: ``what`` is no reason to fail."""
    created = container.create(check=False)
    assert created.ok, f"{what} failed the container: {created.describe()}"
    container.start()
    container.wait_exit()
    assert probe.facts(container.output()).get("ran") == ["yes"], f"the program did not run despite {what}"


@requirement("config.capabilities-unknown-warning")
def test_an_unknown_capability_is_only_a_warning(new_container, new_bundle):
    bundle = new_bundle()
    caps = bundle.config["process"]["capabilities"]
    for name in caps:
        caps[name] = caps[name] + ["CAP_OCITEST_NO_SUCH_CAPABILITY"]
    runs_despite(new_container(probe.sh(probe.say("ran", "yes")), bundle=bundle), "an unknown capability")


#: Where a check asks for a capability the runtime does not hold: in the bounding set alone, and in
#: the three sets a container engine fills for a privileged container (the case the sentence was
#: written for: an engine asking for every capability its kernel knows, while the runtime runs in a
#: container with fewer). Each set is its own list in the default config, so only these change.
UNGRANTABLE_IN = {"bounding": ["bounding"], "engine-sets": ["bounding", "permitted", "effective"]}


@requirement("config.capabilities-ungrantable")
@pytest.mark.parametrize("sets", list(UNGRANTABLE_IN.values()), ids=list(UNGRANTABLE_IN))
@needs("ungrantable_capability")
def test_a_capability_the_runtime_cannot_grant_does_not_fail_the_container(new_container, new_bundle, sets):
    missing = ungrantable_capabilities()
    bundle = new_bundle()
    caps = bundle.config["process"]["capabilities"]
    for name in sets:
        caps[name] = caps[name] + missing[:1]
    runs_despite(new_container(probe.sh(probe.say("ran", "yes")), bundle=bundle),
                 f"asking for {missing[0]} (not held by the runtime) in {', '.join(sets)}")

"""runtime.md, Create and lifecycle steps 1-2: what `create` must build, and what it must not run.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeCreate
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeLifecycle
"""

import json

import pytest

from ocitest import needs, probe, reap_strays, requirement
from ocitest.host import NS_FILES, descendants, mount_table, namespace


def impossible_mount(bundle) -> str:
    bundle.config["mounts"].append({"destination": "/mnt/ocitest-missing", "type": "bind",
                                    "source": str(bundle.path / "no-such-source"), "options": ["rbind"]})
    return "a bind mount whose source does not exist"


def impossible_namespace(bundle) -> str:
    for ns in bundle.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = str(bundle.path / "no-such-netns")
    return "joining a network namespace through a path that does not exist"


IMPOSSIBLE = [impossible_mount, impossible_namespace]


@requirement("runtime.create-new-container")
def test_create_makes_a_new_created_container_with_a_live_process(new_container):
    container = new_container(probe.waiting())
    call = container.create()
    assert call.ok
    state = container.state()
    assert state.get("status") == "created", f"after create, state `status` is {state.get('status')!r}"
    assert container.alive(), "after create there is no live container process"


@requirement("runtime.create-applies-config", "runtime.lifecycle-environment")
def test_create_applies_root_mounts_and_hostname_before_start(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["hostname"] = "ocitest-created"
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    assert container.alive(), "after create there is no live container process"
    # Read through the program's view: from the host right after create, or (a sandbox) from inside the
    # program, which the view starts: what create set up must still be in force when the program runs.
    view = container.view
    assert view.exists("/ocitest-rootfs"), "after create, the container's root is not root.path"
    mounts = [m.point for m in view.mounts()]
    missing = [m["destination"] for m in bundle.config["mounts"] if m["destination"] not in mounts]
    assert not missing, f"after create, these config mounts are not mounted: {missing}"
    hostname = view.hostname()
    if hostname is not None:
        assert hostname == "ocitest-created", f"after create, the hostname is {hostname!r}"


@requirement("runtime.create-applies-config", "runtime.lifecycle-environment")
@needs("program_visible_from_host", "the program's namespaces, compared with the host's")
def test_create_puts_the_process_in_the_listed_namespaces_before_start(new_container, new_bundle):
    bundle = new_bundle()
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    pid = container.pid
    assert container.alive(), "after create there is no live container process"
    not_new = [ns["type"] for ns in bundle.config["linux"]["namespaces"]
               if namespace(pid, NS_FILES[ns["type"]]) == namespace("self", NS_FILES[ns["type"]])]
    assert not not_new, f"after create, these namespaces are still the host's: {not_new}"


@requirement("runtime.lifecycle-program-not-run-at-create", "runtime.create-defers-process-args")
def test_create_does_not_run_the_program_until_start(new_container):
    container = new_container(probe.sh(probe.report_start_order(), probe.touch_in_exchange("ran"), probe.say("done")))
    container.create()
    early_out, _ = container.stdio.take()
    assert not container.exchange_file("ran").exists(), "the program ran during create: it left its file before start"
    assert b"ocitest:" not in early_out, f"the program printed during create: {early_out!r}"
    container.start()
    container.wait_exit()
    facts = probe.facts(container.output())
    assert facts.get("started-after-start") == ["yes"], (
        f"the program began before start was invoked (it reported {facts.get('started-after-start')})"
    )
    assert container.exchange_file("ran").exists(), "the program never ran after start"


@requirement("runtime.lifecycle-config-frozen")
def test_editing_config_json_after_create_changes_nothing(new_container):
    container = new_container(probe.sh(probe.say("args", "original"), probe.say("env", "$OCITEST_MARK")))
    container.bundle.config["process"]["env"].append("OCITEST_MARK=original")
    container.create()
    edited = json.loads(container.bundle.config_path.read_text())
    edited["process"]["args"] = probe.sh(probe.say("args", "edited"), probe.say("env", "$OCITEST_MARK"))
    edited["process"]["env"] = [e.replace("=original", "=edited") for e in edited["process"]["env"]]
    container.bundle.config_path.write_text(json.dumps(edited))
    container.start()
    container.wait_exit()
    facts = probe.facts(container.output())
    assert facts == {"args": ["original"], "env": ["original"]}, (
        f"config.json was edited after create and the program reported {facts}"
    )


@requirement("runtime.lifecycle-environment-error")
@pytest.mark.parametrize("breakage", IMPOSSIBLE, ids=lambda f: f.__name__)
def test_create_fails_when_the_environment_cannot_be_built(new_container, new_bundle, breakage):
    bundle = new_bundle()
    what = breakage(bundle)
    container = new_container(probe.waiting(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.create(check=False)
    assert call.failed, f"create succeeded although the config asks for {what}: {call.describe()}"


@requirement("runtime.create-unapplicable-property", "runtime.errors-leave-environment")
@pytest.mark.parametrize("breakage", IMPOSSIBLE, ids=lambda f: f.__name__)
def test_a_failed_create_leaves_no_container_process_mount_or_cgroup(new_container, new_bundle, breakage):
    bundle = new_bundle()
    breakage(bundle)
    container = new_container(probe.waiting(probe.touch_in_exchange("ran")), bundle=bundle)
    cgroups_path = bundle.use_cgroups_path(f"/{container.id}")
    mine = (container.id, str(bundle.path))
    mounts_before, processes_before = mount_table(*mine), descendants()
    call = container.create(check=False)
    if not call.failed:
        pytest.skip("create succeeded (reported by runtime.lifecycle-environment-error)")
    reap_strays()
    state_call, _ = container.state_call()
    assert state_call.failed, f"create failed, yet the runtime knows the container: {state_call.describe()}"
    assert descendants() == processes_before, "a failed create left processes behind"
    assert mount_table(*mine) == mounts_before, "a failed create left mounts behind on the host"
    left = bundle.cgroup_dirs(cgroups_path)
    assert not left, f"a failed create left cgroups behind: {[str(p) for p in left]}"


@requirement("runtime.create-validates-oci-version")
def test_create_may_refuse_an_oci_version_that_is_not_semver(new_container, new_bundle):
    # config.md's "MUST be in SemVer v2.0.0 format" binds whoever writes config.json; the runtime MAY
    # validate config.json (runtime.md#runtimeCreate). So accepting "1.0" breaks nothing: this MAY is
    # reported, never counted against the verdict. A runtime that refuses must leave no container.
    bundle = new_bundle()
    bundle.config["ociVersion"] = "1.0"
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.create(check=False)
    assert call.failed, (
        f"ociVersion '1.0' is not SemVer 2.0.0 and the runtime accepted it ({call.describe()}): it does not "
        "use its option to validate config.json")
    state_call, _ = container.state_call()
    assert state_call.failed, f"create refused ociVersion '1.0', yet the runtime knows the container: " \
        f"{state_call.describe()}"


@requirement("runtime.create-unique-id")
def test_create_with_an_id_in_use_fails_and_leaves_the_first_container_untouched(new_container):
    first = new_container(probe.waiting(probe.say("instance", "first")))
    first.create()
    first.start()
    first.read_until(probe.READY)
    before = first.state()
    second = new_container(probe.waiting(probe.touch_in_exchange("ran")), container_id=first.id)
    call = second.create(check=False)
    assert call.failed, f"a second create with the ID {first.id!r} in use did not report an error: {call.describe()}"
    after = first.state()
    assert after == before, f"the failed duplicate create changed the first container's state: {before} -> {after}"
    assert first.alive(), "the failed duplicate create killed the first container's process"
    status = first.finish()
    assert probe.facts(first.output()).get("instance") == ["first"]
    assert status is None or status.code == 0, f"the first container's program ended with {status}"


@requirement("runtime.create-requires-id")
def test_create_without_an_id_fails_and_creates_nothing(runtime, new_bundle):
    bundle = new_bundle()
    bundle.write()
    call = runtime.create(None, bundle.path)
    assert call.failed, f"create without a container ID did not report an error: {call.describe()}"


@requirement("runtime.create-requires-id")
def test_create_with_an_empty_id_fails(new_container):
    container = new_container(probe.waiting(), container_id="")
    call = container.create(check=False)
    assert call.failed, f"create with an empty container ID did not report an error: {call.describe()}"


@requirement("runtime.create-unique-id", "runtime.errors-leave-environment")
@pytest.mark.parametrize("bad_id", ["ocitest/slash", "../ocitest-dotdot"])
def test_an_id_the_runtime_refuses_leaves_nothing_behind(new_container, bad_id):
    container = new_container(probe.waiting(), container_id=bad_id)
    processes_before = descendants()
    call = container.create(check=False)
    if call.ok:
        pytest.skip(f"the runtime accepts the ID {bad_id!r}; the spec leaves ID validity to it")
    reap_strays()
    state_call, _ = container.state_call()
    assert state_call.failed, f"create refused the ID {bad_id!r}, yet state knows it: {state_call.describe()}"
    assert descendants() == processes_before, f"create refused the ID {bad_id!r} but left processes behind"

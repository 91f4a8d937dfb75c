"""runtime.md, Scope of a Container, Operations and Errors: the five operations work on the
container one created, and every refused operation leaves everything as it was.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeScopeContainer
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeOperations
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeErrors
"""


from ocitest import probe, reap_strays, requirement
from ocitest.host import descendants, mount_table


@requirement("runtime.scope-operations", "runtime.operations-supported")
def test_the_creator_can_state_start_kill_and_delete_its_container(new_container):
    container = new_container(probe.waiting(*probe.report_signals("USR1")))
    steps = {"create": container.create(check=False)}
    if steps["create"].ok:
        steps["state"], _ = container.state_call()
        steps["start"] = container.start(check=False)
        container.read_until(probe.READY)
        steps["kill"] = container.kill("USR1", check=False)
        container.read_until("ocitest:signal USR1")
        container.finish()
        steps["delete"] = container.delete(check=False)
    failed = {name: call.describe() for name, call in steps.items() if not call.ok}
    assert not failed, f"operations failed on the caller's own container: {failed}"


def snapshot(container) -> dict:
    reap_strays()
    mounts = mount_table(container.id, str(container.bundle.path))
    return {"state": container.state(), "processes": descendants(), "mounts": mounts}


@requirement("runtime.errors-leave-environment")
def test_refused_operations_leave_the_container_and_the_host_as_they_were(new_container, runtime, new_bundle,
                                                                         unknown_container_id):
    container = new_container(probe.waiting(probe.say("ran")))
    container.create()
    container.start()
    container.read_until(probe.READY)
    before = snapshot(container)
    unknown = unknown_container_id
    duplicate = new_container(probe.waiting(probe.touch_in_exchange("ran")), container_id=container.id)
    attempts = {
        "start (already running)": lambda: container.start(check=False),
        "create (ID in use)": lambda: duplicate.create(check=False),
        "state (unknown ID)": lambda: runtime.state(unknown),
        "start (unknown ID)": lambda: runtime.start(unknown),
        "kill (unknown ID)": lambda: runtime.kill(unknown, "KILL"),
        "delete (unknown ID)": lambda: runtime.delete(unknown),
    }
    changed = {}
    for name, attempt in attempts.items():
        call = attempt()
        if not call.failed:
            # Not an error, so not this requirement's business (others judge whether it should
            # have been one); what it changed becomes the new baseline.
            if container.state_call()[0].failed:
                break
            before = snapshot(container)
            continue
        after = snapshot(container)
        diff = [key for key in before if after[key] != before[key]]
        if diff:
            changed[name] = diff
            before = after
    assert not changed, f"operations that reported an error changed things: {changed}"
    container.finish()
    runs = probe.facts(container.output()).get("ran", [])
    assert len(runs) == 1, f"after the refused operations the program had run {len(runs)} times"

"""runtime.md, State and Query State: what `state` reports, and when it must refuse.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeState
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeQueryState
"""

import os

import pytest

from ocitest import RuntimeTimeout, Wiring, needs, probe, requirement
from ocitest.host import container_children, namespace, process_alive


def states_through_the_lifecycle(container) -> dict[str, dict]:
    """The state right after create, while the program runs, and after it exited."""
    container.create()
    seen = {"created": container.state()}
    container.start()
    container.read_until(probe.READY)
    seen["running"] = container.state()
    container.finish()
    seen["stopped"] = container.state()
    return seen


@requirement("runtime.state-schema")
def test_state_validates_against_the_state_schema_at_every_lifecycle_point(new_container, schemas):
    seen = states_through_the_lifecycle(new_container(probe.waiting()))
    problems = {point: schemas.state_errors(state) for point, state in seen.items()}
    assert not any(problems.values()), f"state JSON breaks state-schema.json: {problems} (states: {seen})"


@requirement("runtime.state-status")
def test_state_status_is_created_then_running_then_stopped(new_container):
    seen = states_through_the_lifecycle(new_container(probe.waiting()))
    statuses = {point: state.get("status") for point, state in seen.items()}
    assert statuses == {"created": "created", "running": "running", "stopped": "stopped"}, (
        f"state `status` after create / while running / after exit was {statuses}"
    )


@requirement("runtime.state-id")
def test_state_id_is_the_id_given_to_create_and_differs_between_containers(new_container):
    first, second = new_container(probe.waiting()), new_container(probe.waiting())
    first.create()
    second.create()
    ids = first.state().get("id"), second.state().get("id")
    assert ids == (first.id, second.id), f"created {first.id!r} and {second.id!r}, state reported {ids}"


# runtime.md: `pid` "is the ID of the container process, as seen by the host". For a runtime whose
# state pid is the program (runc, crun) that is the program's host pid. A sandboxed runtime (runsc,
# Kata) runs the program on its own kernel, where it has no host pid: the host sees the container only
# as the sandbox process, and the sandbox runtimes read "the container process, as seen by the host" as
# that process (their profile declares it). What holds for both readings is judged by the first check:
# the pid names a live host process while the container is created and running, the same one
# throughout, and it ends when the program ends (the caller's pidfd wait on it is how ocitest sees any
# container exit). That the process IS the program (its PID namespace and root) only the host view can
# tell: the second check, not made for a sandbox.
def created_state_pid(container) -> int:
    """Create the container; the pid its state reports, which must be a live process."""
    container.create()
    pid = container.state().get("pid")
    assert isinstance(pid, int) and pid > 0, f"state of a created container has pid {pid!r}"
    assert process_alive(pid), f"state pid {pid} of a created container is not a live process"
    return pid


def start_with_the_same_pid(container, pid: int) -> None:
    """Start the container; its state must report the same ``pid`` while it runs."""
    container.start()
    container.read_until(probe.READY)
    running = container.state().get("pid")
    assert running == pid, f"state pid changed from {pid} (created) to {running!r} (running)"


@requirement("runtime.state-pid")
def test_state_pid_is_a_live_host_process_that_ends_with_the_program(new_container):
    container = new_container(probe.waiting())
    pid = created_state_pid(container)
    start_with_the_same_pid(container, pid)
    assert process_alive(pid), f"state pid {pid} of a running container is not a live process"
    try:
        status = container.finish()  # closes the program's stdin: it exits 0
    except RuntimeTimeout:
        raise AssertionError(f"the program was told to end (its stdin closed); state pid {pid} still runs") from None
    assert status is None or status.code == 0, f"the program ended with {status}"


@requirement("runtime.state-pid")
@needs("program_visible_from_host", "whether the state pid is the program itself (its PID namespace and root)")
def test_state_pid_is_the_container_process_while_created_and_running(new_container):
    container = new_container(probe.waiting())
    pid = created_state_pid(container)
    assert namespace(pid, "pid") != namespace("self", "pid"), (
        f"state pid {pid} is in the host's pid namespace, not the container's"
    )
    assert os.path.exists(f"/proc/{pid}/root/ocitest-rootfs"), (
        f"state pid {pid} does not have the bundle's rootfs as its root: it is not the container process"
    )
    start_with_the_same_pid(container, pid)
    status = container.finish()
    assert status is None or status.code == 0, f"the program ended with {status}"


@requirement("runtime.state-bundle")
def test_state_bundle_is_the_absolute_bundle_path(new_container):
    container = new_container(probe.waiting())
    container.create()
    bundle = container.state().get("bundle")
    assert isinstance(bundle, str) and os.path.isabs(bundle), f"state `bundle` is {bundle!r}, not an absolute path"
    assert os.path.samefile(bundle, container.bundle.path), f"state `bundle` {bundle!r} is not {container.bundle.path}"


@requirement("runtime.state-bundle")
def test_state_bundle_is_absolute_when_create_was_given_a_relative_path(new_container):
    container = new_container(probe.waiting())
    relative = container.bundle.path.name
    container.create(bundle_arg=relative, wiring=Wiring(cwd=container.bundle.path.parent))
    bundle = container.state().get("bundle")
    assert isinstance(bundle, str) and os.path.isabs(bundle), (
        f"create got --bundle {relative!r} (relative); state `bundle` is {bundle!r}, not an absolute path"
    )
    assert os.path.samefile(bundle, container.bundle.path), f"state `bundle` {bundle!r} is not {container.bundle.path}"


@requirement("runtime.state-annotations")
def test_state_annotations_are_those_of_the_config(new_container, new_bundle):
    bundle = new_bundle()
    annotations = {"org.ocitest.example": "a value", "org.ocitest.empty": ""}
    bundle.config["annotations"] = annotations
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    state = container.state()
    if "annotations" not in state:
        pytest.skip("the runtime leaves out the OPTIONAL state `annotations`")
    assert state["annotations"] == annotations, (
        f"config annotations {annotations}, state reports {state['annotations']!r}"
    )


@requirement("runtime.state-returns-state")
def test_state_returns_the_containers_own_state(new_container):
    container = new_container(probe.waiting())
    container.create()
    state = container.state()
    expected = {"id": container.id, "status": "created"}
    observed = {key: state.get(key) for key in expected}
    assert observed == expected, f"state reported {observed}, the container is {expected}"
    assert isinstance(state.get("ociVersion"), str) and state["ociVersion"], (
        f"state `ociVersion` is {state.get('ociVersion')!r}"
    )


@requirement("runtime.state-returns-state")
# The container process is found on the host as the caller's child whose root is the rootfs. A sandbox's
# program is no host process: under runsc that child is its gofer (measured), not what `pid` names.
@needs("program_visible_from_host", "which host process is the container process (the one rooted in the rootfs)")
def test_state_pid_is_the_container_process_the_host_finds(new_container):
    container = new_container(probe.waiting())
    container.create()
    state = container.state()
    expected = {"id": container.id, "status": "created"}
    children = container_children(container.bundle.rootfs)
    if len(children) == 1:  # the container process, re-parented to the harness
        expected["pid"] = children[0]
    observed = {key: state.get(key) for key in expected}
    assert observed == expected, f"state reported {observed}, the container is {expected}"


@requirement("runtime.state-requires-id")
def test_state_without_a_container_id_fails(runtime):
    call = runtime.call("state")
    assert call.failed, f"state without an ID did not report an error: {call.describe()}"


@requirement("runtime.state-unknown-container")
def test_state_of_an_unknown_container_fails(runtime, unknown_container_id):
    call = runtime.state(unknown_container_id)
    assert call.failed, f"state of a container that does not exist did not report an error: {call.describe()}"

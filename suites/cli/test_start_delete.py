"""command-line-interface.md, start and delete: their exit codes.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#start
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#delete
"""

from ocitest import probe, requirement


@requirement("cli.start-exit-code")
def test_start_exits_zero_when_the_program_starts(new_container):
    container = new_container(probe.waiting())
    container.create()
    call = container.start(check=False)
    assert call.exit == 0, f"start of a created container: {call.describe()}"
    container.read_until(probe.READY)


@requirement("cli.start-exit-code")
def test_start_of_an_unknown_container_exits_non_zero(runtime, unknown_container_id):
    call = runtime.start(unknown_container_id)
    assert call.failed, f"start of a container that does not exist did not exit non-zero: {call.describe()}"


@requirement("cli.delete-exit-code")
def test_delete_exits_zero_when_the_stopped_container_is_deleted(new_container):
    container = new_container(probe.sh("exit 0"))
    container.run_to_exit()
    call = container.delete(check=False)
    assert call.exit == 0, f"delete of a stopped container: {call.describe()}"
    after = container.runtime.state(container.id)
    assert after.failed, f"delete exited zero, yet the runtime still knows the container: {after.describe()}"


@requirement("cli.delete-exit-code")
def test_delete_of_an_unknown_container_exits_non_zero(runtime, unknown_container_id):
    call = runtime.delete(unknown_container_id)
    assert call.failed, f"delete of a container that does not exist did not exit non-zero: {call.describe()}"

"""command-line-interface.md, Global usage and Global options: the command template, the whole API,
and how the first word is taken as the command.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#global-usage
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#global-options
"""

import json

from ocitest import probe, requirement

UNKNOWN_COMMAND = "ocitest-no-such-command"


def command_by_command(container) -> None:
    """create, start, state and kill in the template's form, each doing its job."""
    # create --bundle B --pid-file P ID: command-specific options, then the argument.
    container.create()
    container.start()
    container.read_until(probe.READY)
    state = container.state()
    assert state.get("id") == container.id and state.get("status") == "running", (
        f"`state {container.id}` of the started container printed {state}"
    )
    container.kill("KILL")
    container.wait_exit()


@requirement("cli.command-template")
def test_commands_written_as_the_template_do_their_job(new_container):
    command_by_command(new_container(probe.waiting()))


@requirement("cli.entire-api")
def test_create_start_state_kill_delete_carry_a_container_through_its_life(new_container):
    container = new_container(probe.waiting())
    command_by_command(container)
    container.delete()
    after = container.runtime.state(container.id)
    assert after.failed, f"after delete exited zero, the runtime still knows the container: {after.describe()}"


@requirement("cli.unknown-command-fails")
def test_an_unrecognized_command_exits_non_zero(runtime):
    call = runtime.call(UNKNOWN_COMMAND)
    assert call.failed, f"an unrecognized command did not exit non-zero: {call.describe()}"


@requirement("cli.command-unambiguous")
def test_the_first_word_is_the_command_even_when_unknown(new_container):
    """``funC <unknown> state ID`` is an invocation of <unknown>: it must not print the state."""
    container = new_container(probe.waiting())
    container.create()
    call = container.runtime.call(UNKNOWN_COMMAND, "state", container.id)
    try:
        printed = json.loads(call.stdout)
    except ValueError:
        printed = None
    ran_state = isinstance(printed, dict) and printed.get("id") == container.id
    assert not ran_state, (
        f"`{call.command()}` ran `state` (it printed the container's state) instead of treating "
        f"{UNKNOWN_COMMAND!r} as the command: {call.describe()}"
    )

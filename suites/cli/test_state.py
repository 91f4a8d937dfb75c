"""command-line-interface.md, state (and Character encodings): the state JSON on stdout, the exit
code, and UTF-8 output in a UTF-8 locale.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#state
https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#character-encodings
"""

import json
import os

import pytest

from ocitest import Wiring, probe, requirement

#: Latin, symbol, CJK and a character outside the Basic Multilingual Plane.
NON_ASCII = "grüße ✓ 日本語 🐳"
#: The UTF-8 locale every glibc system has (this host has no en_US.UTF-8).
UTF8_LOCALE = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@requirement("cli.state-stdout-json", "cli.state-exit-code")
@pytest.mark.parametrize("point", ["created", "running"])
def test_state_prints_the_state_json_on_stdout_and_exits_zero(new_container, schemas, point):
    container = new_container(probe.waiting())
    container.create()
    if point == "running":
        container.start()
        container.read_until(probe.READY)
    call = container.runtime.state(container.id)
    assert call.exit == 0, f"state of a {point} container: {call.describe()}"
    try:
        state = json.loads(call.stdout)
    except ValueError:
        raise AssertionError(f"`{call.command()}` printed no JSON on stdout: {call.stdout[:300]!r}") from None
    assert isinstance(state, dict), f"`{call.command()}` printed JSON that is not an object: {call.stdout[:300]!r}"
    problems = schemas.state_errors(state)
    assert not problems, f"the state printed for a {point} container breaks the state schema: {problems} ({state})"
    assert state.get("id") == container.id, f"state of {container.id!r} printed the state of {state.get('id')!r}"


@requirement("cli.state-exit-code")
def test_state_of_an_unknown_container_exits_non_zero(runtime, unknown_container_id):
    call = runtime.state(unknown_container_id)
    assert call.failed, f"state of a container that does not exist did not exit non-zero: {call.describe()}"


@requirement("cli.state-utf8")
def test_state_in_a_utf8_locale_writes_utf8(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["annotations"] = {"org.ocitest.text": NON_ASCII}
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    call = container.runtime.call("state", container.id, wiring=Wiring(env={**os.environ, **UTF8_LOCALE}))
    assert call.ok, f"state in the C.UTF-8 locale: {call.describe()}"
    # The call's stdout is decoded as UTF-8 with U+FFFD for every byte that is not.
    assert "\ufffd" not in call.stdout, (
        f"in the C.UTF-8 locale, state wrote bytes that are not UTF-8: {call.stdout[:500]!r}"
    )
    state = json.loads(call.stdout)
    annotations = state.get("annotations")
    if not isinstance(annotations, dict) or "org.ocitest.text" not in annotations:
        pytest.skip("the runtime's state has no `annotations` (OPTIONAL), so it carries no non-ASCII text to check")
    assert annotations["org.ocitest.text"] == NON_ASCII, (
        f"the annotation {NON_ASCII!r} came back from state as {annotations['org.ocitest.text']!r}"
    )

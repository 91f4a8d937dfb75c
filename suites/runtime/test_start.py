"""runtime.md, Start and lifecycle step 8: running the user program, and when start must refuse.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeStart
"""

from ocitest import probe, requirement


@requirement("runtime.start-runs-program", "runtime.lifecycle-run-program")
def test_start_runs_the_program_with_its_arguments_and_its_exit_code_reaches_the_caller(new_container):
    # sh -c SCRIPT NAME ARGS...: NAME becomes $0, the rest "$@".
    args = probe.sh('printf "ocitest:arg %s\\n" "$@"', "exit 7") + ["sh", "a b", "", "ünïcode", "$HOME"]
    status, out = new_container(args).run_to_exit()
    assert probe.facts(out).get("arg") == ["a b", "", "ünïcode", "$HOME"], f"the program got other arguments: {out!r}"
    assert status is None or status.code == 7, f"the program exited 7, the caller saw {status}"


@requirement("runtime.start-requires-id")
def test_start_without_a_container_id_fails(runtime):
    call = runtime.call("start")
    assert call.failed, f"start without an ID did not report an error: {call.describe()}"


@requirement("runtime.start-only-created")
def test_start_on_a_running_container_fails_and_does_not_run_the_program_again(new_container):
    container = new_container(probe.waiting(probe.say("ran")))
    container.create()
    container.start()
    container.read_until(probe.READY)
    before = container.state()
    call = container.start(check=False)
    assert call.failed, f"start on a running container did not report an error: {call.describe()}"
    after = container.state()
    assert (after.get("status"), after.get("pid")) == ("running", before.get("pid")), (
        f"the refused start changed the container: {before} -> {after}"
    )
    container.finish()
    runs = probe.facts(container.output()).get("ran", [])
    assert len(runs) == 1, f"the program ran {len(runs)} times"


@requirement("runtime.start-only-created")
def test_start_on_a_stopped_container_fails_and_changes_nothing(new_container):
    container = new_container(probe.sh(probe.say("ran")))
    container.run_to_exit()
    call = container.start(check=False)
    assert call.failed, f"start on a stopped container did not report an error: {call.describe()}"
    assert container.status() == "stopped", "the refused start changed the container's status"


@requirement("runtime.start-only-created")
def test_start_of_an_unknown_container_fails(runtime, unknown_container_id):
    call = runtime.start(unknown_container_id)
    assert call.failed, f"start of a container that does not exist did not report an error: {call.describe()}"


@requirement("runtime.start-without-process")
def test_start_fails_when_the_config_has_no_process(new_container, new_bundle):
    bundle = new_bundle()
    del bundle.config["process"]
    container = new_container(bundle=bundle)
    created = container.create(check=False)
    if created.failed:
        return  # refused at create: start can never run a container without `process`
    call = container.start(check=False)
    assert call.failed, f"start of a container whose config has no `process` did not report an error: {call.describe()}"

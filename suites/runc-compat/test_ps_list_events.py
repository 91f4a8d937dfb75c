"""ps, list and events: what the runtime tells an engine about its containers.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-ps.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-list.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-events.8.md
"""

import json
import os

import pytest

from ocitest import RuntimeTimeout, needs, probe, requirement
from ocitest.host import namespace

#: runc's `ps --format json` lists host pids, which the check finds by the container's PID namespace on the
#: host; a sandboxed runtime's program has no host pid (its processes live in the sandbox's kernel).
VISIBLE = needs("program_visible_from_host", "the host pids of the container's processes (by their PID namespace)")


def pid_namespace_members(pid: int) -> set[int]:
    """The host pids of every process in ``pid``'s PID namespace, read from the host's /proc."""
    target = namespace(pid, "pid")
    members = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if namespace(int(entry), "pid") == target:
                    members.add(int(entry))
            except OSError:
                pass
    return members


@requirement("compat.ps-json")
@VISIBLE
def test_ps_lists_every_process_of_the_container_and_nothing_else(new_container):
    container = new_container(probe.waiting("sleep 1000 </dev/null >/dev/null 2>&1 &"))
    container.launch()
    execd = container.exec(container.process_spec(probe.waiting()))
    execd.read_until(probe.READY)
    expected = pid_namespace_members(container.pid)
    assert {container.pid, execd.pid} <= expected, "the harness could not find the container's processes"
    listed = container.ps()
    assert sorted(listed) == sorted(expected), (
        f"the container's processes are {sorted(expected)} (init {container.pid}, exec'd {execd.pid}); "
        f"`ps --format json` listed {listed}")


@requirement("compat.list-json")
def test_list_gives_each_container_as_state_does(new_container, runtime):
    container = new_container(probe.waiting())
    container.launch()
    state = container.state()
    call = runtime.list_json()
    assert call.ok, f"list failed: {call.describe()}"
    entries = call.printed_json()
    assert isinstance(entries, list), f"`{call.command()}` printed {type(entries).__name__}, not an array"
    mine = [e for e in entries if isinstance(e, dict) and e.get("id") == container.id]
    assert len(mine) == 1, f"list names the running container {container.id} {len(mine)} times: {call.stdout[:500]!r}"
    got = {key: mine[0].get(key) for key in ("id", "pid", "status", "bundle")}
    want = {key: state.get(key) for key in ("id", "pid", "status", "bundle")}
    assert got == want, f"list says {got}; state says {want}"


@requirement("compat.events-stats")
def test_events_stats_prints_one_stats_event_and_exits(new_container, runtime):
    container = new_container(probe.waiting())
    container.launch()
    call = runtime.events_stats(container.id)
    assert call.ok, f"events --stats failed: {call.describe()}"
    lines = [line for line in call.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"`{call.command()}` printed {len(lines)} lines, not one event: {call.stdout[:300]!r}"
    try:
        event = json.loads(lines[0])
    except ValueError:
        raise AssertionError(f"`{call.command()}` printed no JSON: {lines[0][:300]!r}") from None
    assert isinstance(event, dict) and event.get("type") == "stats" and event.get("id") == container.id, (
        f"the event is not a stats event of {container.id}: {lines[0][:300]!r}")
    data = event.get("data")
    missing = [key for key in ("cpu", "memory", "pids") if not isinstance((data or {}).get(key), dict)]
    assert not missing, f"the stats event has no {missing} figures: {lines[0][:300]!r}"


@requirement("compat.events-oom")
@needs("cgroup_controller", "memory")
@needs("own_cgroup", "create a cgroup for the container and limit its memory")
def test_events_reports_the_container_going_past_its_memory_limit(new_container, new_bundle, runtime):
    bundle = new_bundle()
    # On "go", dd takes a 64 MiB buffer and fills it, far past the 16 MiB limit, in one read.
    container = new_container(probe.sh(probe.say("ready"), "read -r go",
                                       "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null",
                                       probe.say("survived")),
                              bundle=bundle)
    bundle.use_cgroups_path(f"/{container.id}")
    bundle.config["linux"].setdefault("resources", {})["memory"] = {"limit": 16 * 1024 * 1024}
    container.launch_unless_refused("linux.resources.memory.limit")
    stream = runtime.events_stream(container.id)
    try:
        try:
            stream.read_until('"type":"stats"', container.timeouts.wait)
        except AssertionError as exc:
            if not runtime.events_stats(container.id).ok:
                pytest.skip(f"cannot judge this: the runtime has no working `events` ({exc}; judged by "
                            "compat.events-stats)")
            raise AssertionError(f"`events --stats` works, but the stream as go-runc asks for it does not: "
                                 f"{exc}") from None
        container.stdio.write(b"go\n")
        container.wait_exit()
        try:
            stream.read_until('"type":"oom"', container.timeouts.wait)
        except (AssertionError, RuntimeTimeout) as exc:
            raise AssertionError(f"the container went past its memory limit and was OOM-killed, yet {exc}") from None
    finally:
        stream.end()

"""ps, list and events: what the runtime tells an engine about its containers.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-ps.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-list.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-events.8.md
"""

import json
import os

from ocitest import needs, probe, requirement
from ocitest.host import namespace

VISIBLE = needs("program_visible_from_host")


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
    try:
        entries = json.loads(call.stdout)
    except ValueError:
        raise AssertionError(f"`{call.command()}` printed no JSON: {call.stdout[:300]!r}") from None
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

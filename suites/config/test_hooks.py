"""config.md, POSIX-platform hooks: where each hook kind's path resolves and where it runs, when it
runs, the order of hooks, and what a hook receives (state on stdin, args, env, timeout).

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configHooks
(runtime.md's hook requirements — each kind is invoked at its lifecycle point, what a failing hook
causes — are in suites/runtime/test_hooks.py.)

Every hook here is a shell script that leaves what it saw in the bundle's exchange folder:
hooks that run with the host's root (all kinds but startContainer; createContainer runs before
pivot_root) write to the folder's host path, startContainer hooks to /ocitest.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import NoReturn

import pytest

from ocitest import EXCHANGE_DIR, START_TOKEN, RuntimeTimeout, needs, probe, readable, requirement, since

CREATE_PHASE = ("prestart", "createRuntime", "createContainer")
KINDS = (*CREATE_PHASE, "startContainer", "poststart", "poststop")
#: Hook kinds newer than runtime-spec 1.0.0, by the release that added them: a check on every kind is
#: judged on these cases only at that release or later.
KIND_SINCE = {"createRuntime": "1.0.2", "createContainer": "1.0.2", "startContainer": "1.0.2"}
#: KINDS as parameters, each dated by KIND_SINCE where it is newer.
KIND_CASES = [pytest.param(k, marks=[since(KIND_SINCE[k])] if k in KIND_SINCE else []) for k in KINDS]
#: config.md#configHooks: where each kind is executed (its path resolves in the runtime namespace
#: for every kind but startContainer, see probe.CONTAINER_PATH_HOOKS).
EXECUTES_IN = {"prestart": "runtime", "createRuntime": "runtime", "createContainer": "container",
               "startContainer": "container", "poststart": "runtime", "poststop": "runtime"}
#: The namespaces of the default config (config.py); the hook's are compared with these.
NAMESPACES = ("mnt", "pid", "net", "ipc", "uts")
#: A word in the user program's argv, so a hook can tell whether the program was executed yet.
PROGRAM_TOKEN = "ocitest-user-program"
#: Where the pid of a JSON state lies (the hooks are plain sh scripts, no JSON parser).
SED_PID = r"""sed -n 's/.*"pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p'"""


def _anchor(kind: str) -> str:
    return kind[0].upper() + kind[1:]


def folder(kind: str, bundle) -> str:
    """Where a hook of ``kind`` writes what it saw (see the module docstring)."""
    return EXCHANGE_DIR if kind in probe.CONTAINER_PATH_HOOKS else str(bundle.exchange)


#: Every hook here reads its stdin to the end first: a hook may ignore the state, but one that exits
#: before the runtime finished writing it lets a runtime fail on a broken pipe (crun 1.8.1 does),
#: which is no requirement of this module.
DRAIN = "cat > /dev/null"


def sh_hook(script: str, *, drain: bool = True, **extra) -> dict:
    if drain:
        script = f"{DRAIN}\n{script}"
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "env": [probe.HOOK_PATH_ENV], **extra}


def add_hooks(bundle, kind: str, *entries: dict) -> None:
    bundle.config.setdefault("hooks", {}).setdefault(kind, []).extend(entries)


def exchange_text(container, name: str) -> str | None:
    path = container.exchange_file(name)
    return path.read_text() if path.exists() else None


def run_lifecycle(container, *, program_waits: bool = True) -> None:
    """create, start, end the program, delete: every hook kind gets its turn."""
    container.create()
    container.start()
    if program_waits:
        container.read_until(probe.READY)
    container.finish()
    container.delete(prerequisite=True)


def harness_namespaces(pid: int | str = "self") -> dict[str, str]:
    return {ns: os.readlink(f"/proc/{pid}/ns/{ns}") for ns in NAMESPACES}


def parse_namespaces(text: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


# -- where hooks run and where their path resolves ---------------------------------------------------


def record_namespaces(kind: str, bundle) -> str:
    lines = [f'echo "{ns} $(readlink /proc/self/ns/{ns})"' for ns in NAMESPACES]
    return "{ " + "; ".join(lines) + f"; }} > {folder(kind, bundle)}/ns-{kind}"


@pytest.mark.parametrize("kind", [
    pytest.param(k, marks=requirement(f"config.hook-{k}-executes-in-{EXECUTES_IN[k]}-namespace")) for k in KINDS
])
def test_hook_executes_in_its_namespace(new_container, new_bundle, kind):
    bundle = new_bundle()
    add_hooks(bundle, kind, sh_hook(record_namespaces(kind, bundle)))
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    container.start()
    container.read_until(probe.READY)
    # The runtime namespace is the host's side: the harness runs the runtime, so its namespaces are the
    # runtime's. The container namespace is the program's, read through the view while the program lives
    # (a sandbox's program may not show its namespace links: the check is then skipped).
    ours = harness_namespaces()
    if EXECUTES_IN[kind] == "runtime":
        # Only to name what the hook got instead: the state pid's namespaces, read from the host (the
        # program's, or for a sandboxed runtime its sandbox process's).
        theirs = harness_namespaces(container.pid)
        whose = "the container's" if not container.view.from_inside else "the sandbox process's"
    else:
        theirs = {ns: container.view.namespace(ns) for ns in NAMESPACES}
    container.finish()
    container.delete(prerequisite=True)
    text = exchange_text(container, f"ns-{kind}")
    assert text is not None, f"the {kind} hook did not run (it left no record of its namespaces)"
    seen = parse_namespaces(text)
    if EXECUTES_IN[kind] == "runtime":
        wrong = {ns: seen.get(ns) for ns in NAMESPACES if seen.get(ns) != ours[ns]}
        assert not wrong, (
            f"the {kind} hook ran outside the runtime namespace: its {sorted(wrong)} namespaces were "
            f"{wrong}, the runtime's are { {ns: ours[ns] for ns in wrong} }"
            + (f" ({whose})" if all(seen.get(ns) == theirs[ns] for ns in wrong) else "")
        )
    else:
        wrong = {ns: seen.get(ns) for ns in NAMESPACES if seen.get(ns) != theirs[ns]}
        assert not wrong, (
            f"the {kind} hook ran outside the container namespace: its {sorted(wrong)} namespaces were "
            f"{wrong}, the container process's are { {ns: theirs[ns] for ns in wrong} }"
            + (" (the runtime's)" if all(seen.get(ns) == ours[ns] for ns in wrong) else "")
        )


def shadowed_in_container(bundle, path: Path) -> bool:
    """Whether the container would not see ``rootfs/path``: a mount of config.json (/dev, /proc, ...) covers it."""
    return any(str(path).startswith(m["destination"].rstrip("/") + "/") for m in bundle.config.get("mounts", []))


def two_hook_programs(bundle, kind: str, spare: Path) -> str:
    """One absolute path, two programs: on the host it says ``runtime``, in the rootfs ``container``.

    Whichever one the runtime executes tells in which namespace it resolved the hook's path. The
    path is under the bundle, unless the bundle lives where the container has a mount of its own
    (bundles on /dev/shm: the container's /dev tmpfs hides rootfs/dev/...); then under ``spare``.
    """
    folder = next((f for f in (bundle.path, spare) if not shadowed_in_container(bundle, f)), None)
    if folder is None:
        pytest.skip(f"both {bundle.path} and {spare} are under a mount of the container; no path can name "
                    "one program on the host and another in the rootfs (set TMPDIR elsewhere)")
    path = f"{folder}/hookbin/which-{kind}"
    for where, word in ((Path(path), "runtime"), (bundle.rootfs / path.lstrip("/"), "container")):
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(
            f"#!/bin/sh\n{DRAIN}\n"
            f'for d in "{bundle.exchange}" "{EXCHANGE_DIR}"; do\n'
            f'  if [ -d "$d" ]; then echo {word} > "$d/resolved-{kind}"; exit 0; fi\n'
            "done\n"
        )
        where.chmod(0o755)
    return path


@pytest.mark.parametrize("kind", [
    pytest.param(k, marks=requirement(
        f"config.hook-{k}-path-in-{'container' if k in probe.CONTAINER_PATH_HOOKS else 'runtime'}-namespace"))
    for k in KINDS
])
def test_hook_path_resolves_in_its_namespace(new_container, new_bundle, kind, tmp_path):
    bundle = new_bundle()
    path = two_hook_programs(bundle, kind, tmp_path)
    add_hooks(bundle, kind, {"path": path, "args": [path], "env": [probe.HOOK_PATH_ENV]})
    container = new_container(probe.waiting(), bundle=bundle)
    run_lifecycle(container)
    expected = "container" if kind in probe.CONTAINER_PATH_HOOKS else "runtime"
    ran = exchange_text(container, f"resolved-{kind}")
    assert ran is not None, f"the {kind} hook at {path} (present on the host and in the rootfs) did not run"
    assert ran.strip() == expected, (
        f"the {kind} hook's path {path} was resolved in the {ran.strip()} namespace: the runtime executed "
        f"the {'rootfs' if ran.strip() == 'container' else 'host'}'s copy of it"
    )


# -- when hooks run ---------------------------------------------------------------------------------


def create_phase_probe(kind: str, bundle) -> str:
    """A hook that notes whether the container's root is still the host's and its mounts are done.

    Runtime-namespace hooks look at the container process through /proc/PID/root (PID from the
    state on stdin); createContainer hooks run in the container's mount namespace and look at
    their own root. Before pivot_root the host's paths are there; the mounts of config.json are
    under the rootfs's path (the exchange folder's bind mount at rootfs/ocitest shows its marker).
    """
    out = f"{bundle.exchange}/timing-{kind}"
    root = "" if kind == "createContainer" else "/proc/$pid/root"
    return "\n".join([
        f"cat > {bundle.exchange}/state-{kind}.json",
        f"pid=$({SED_PID} {bundle.exchange}/state-{kind}.json)",
        f'if [ -z "$pid" ] && [ -z "{root}" ]; then pid=self; fi',
        f'if [ -z "$pid" ]; then echo "nopid" > {out}; exit 0; fi',
        f'if [ -d "{root}{bundle.exchange}" ]; then echo "pivoted no"; else echo "pivoted yes"; fi > {out}',
        f'if [ -e "{root}{bundle.rootfs}/ocitest/mounted-marker" ]; then echo "mounted yes"; '
        f'else echo "mounted no"; fi >> {out}',
        f'if [ -e "{bundle.exchange}/{START_TOKEN}" ]; then echo "start-invoked yes"; '
        f'else echo "start-invoked no"; fi >> {out}',
    ])


@pytest.mark.parametrize("kind", [pytest.param(k, marks=requirement(f"config.hook-{k}-timing")) for k in CREATE_PHASE])
def test_create_phase_hook_runs_in_create_after_the_environment_before_pivot_root(
        new_container, new_bundle, runtime_info, kind):
    bundle = new_bundle()
    (bundle.exchange / "mounted-marker").touch()
    add_hooks(bundle, kind, sh_hook(create_phase_probe(kind, bundle), drain=False))
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    text = exchange_text(container, f"timing-{kind}")
    assert text is not None, f"the {kind} hook had not run when create returned"
    seen = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
    # Whether start had been invoked is the host's fact (the harness's token), whatever the hook saw.
    assert seen.get("start-invoked", "no") == "no", f"the {kind} hook ran after start was invoked"
    if text.strip() == "nopid":
        pytest.skip(f"the state given to the {kind} hook has no pid (allowed while `creating`), "
                    "so where the container process stands cannot be seen from the hook")
    if kind != "createContainer" and container.view.from_inside:
        # A runtime-namespace hook sees the container's root through /proc/PID/root of the state pid,
        # which for a sandboxed runtime is its sandbox process: its root is not the container's.
        pytest.skip(f"where the container's root and mounts stood when the {kind} hook ran can only be seen "
                    f"from the host, through /proc/PID/root of the state pid, which for "
                    f"{runtime_info.profile.name} is its sandbox process, not the program (the hook did run "
                    "during create, before start was invoked)")
    assert seen.get("pivoted") == "no", (
        f"the {kind} hook ran after pivot_root: the container's root no longer showed the host's paths"
    )
    assert seen.get("mounted") == "yes", (
        f"the {kind} hook ran before the container's environment was built: the mounts of config.json "
        "(the bind mount at rootfs/ocitest) were not in place yet"
    )


@requirement("config.hook-startContainer-timing")
def test_startContainer_hook_runs_in_start_before_the_program(new_container, new_bundle):
    bundle = new_bundle()
    script = (f'if [ -e {EXCHANGE_DIR}/{START_TOKEN} ]; then echo yes; else echo no; fi '
              f'> {EXCHANGE_DIR}/startContainer-after-start')
    add_hooks(bundle, "startContainer", sh_hook(script))
    container = new_container(probe.waiting(f'[ -e {EXCHANGE_DIR}/startContainer-after-start ] && '
                                            + probe.say("hook-before-program", "yes")), bundle=bundle)
    container.create()
    assert exchange_text(container, "startContainer-after-start") is None, (
        "the startContainer hook ran during create (it belongs to the start operation)"
    )
    container.start()
    out = container.read_until(probe.READY)
    after_start = exchange_text(container, "startContainer-after-start")
    assert after_start is not None, "the startContainer hook had not run when the user program began"
    assert after_start.strip() == "yes", "the startContainer hook ran before start was invoked"
    assert probe.facts(out).get("hook-before-program") == ["yes"], (
        "the user program began before the startContainer hook had run"
    )
    container.finish()


@requirement("config.hook-poststart-timing")
def test_poststart_hook_runs_after_the_program_was_executed_and_before_start_returns(
        new_container, new_bundle, runtime_info):
    bundle = new_bundle()
    ex = bundle.exchange
    script = "\n".join([
        f"cat > {ex}/state-poststart.json",
        f"pid=$({SED_PID} {ex}/state-poststart.json)",
        f'if [ -n "$pid" ]; then tr "\\0" " " < /proc/$pid/cmdline > {ex}/poststart-cmdline; '
        f"else echo nopid > {ex}/poststart-cmdline; fi",
    ])
    add_hooks(bundle, "poststart", sh_hook(script, drain=False))
    container = new_container(probe.waiting(f": {PROGRAM_TOKEN}"), bundle=bundle)
    container.create()
    early = exchange_text(container, "poststart-cmdline")
    container.start()
    seen = exchange_text(container, "poststart-cmdline")
    container.read_until(probe.READY)
    container.finish()
    assert early is None, (
        f"the poststart hook ran during create, before the user program was executed "
        f"(the container process was {early.strip()!r} when it ran)"
    )
    assert seen is not None, "the poststart hook had not run when start returned"
    if seen.strip() == "nopid":
        raise AssertionError("the state given to the poststart hook of a running container has no pid")
    if container.view.from_inside:
        # The hook reads /proc/PID/cmdline of the state pid, which for a sandboxed runtime is its sandbox
        # process: whether the program inside had been executed yet is not in it.
        pytest.skip("whether the user program had been executed when the poststart hook ran can only be seen "
                    "from the host, through /proc/PID/cmdline of the state pid, which for "
                    f"{runtime_info.profile.name} is its sandbox process, not the program (the hook did run "
                    "in start, before start returned)")
    assert PROGRAM_TOKEN in seen, (
        f"the poststart hook ran before the user program was executed: the container process was "
        f"still {seen.strip()[:120]!r}"
    )


@requirement("config.hook-poststop-timing")
def test_poststop_hook_runs_after_the_container_is_deleted_and_before_delete_returns(new_container, new_bundle):
    bundle = new_bundle()
    ex = bundle.exchange
    script = (f'if kill -0 "$(cat {ex}/container-pid)" 2>/dev/null; then echo alive; else echo gone; fi '
              f"> {ex}/poststop-process")
    add_hooks(bundle, "poststop", sh_hook(script))
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    (ex / "container-pid").write_text(str(container.pid))
    container.start()
    container.read_until(probe.READY)
    container.finish()
    assert exchange_text(container, "poststop-process") is None, "the poststop hook ran before delete was invoked"
    container.delete(prerequisite=True)
    seen = exchange_text(container, "poststop-process")
    assert seen is not None, "the poststop hook had not run when delete returned"
    assert seen.strip() == "gone", "the poststop hook ran while the container process still existed"


# -- order ------------------------------------------------------------------------------------------


def log_line(kind: str, bundle, name: str, log: str = "order") -> dict:
    return sh_hook(f"echo {name} >> {folder(kind, bundle)}/{log}")


@pytest.mark.parametrize("kind", KIND_CASES)
@requirement("config.hook-order")
def test_hooks_of_one_kind_run_in_the_listed_order(new_container, new_bundle, kind):
    bundle = new_bundle()
    names = [f"{kind}-{n}" for n in ("first", "second", "third")]
    add_hooks(bundle, kind, *(log_line(kind, bundle, name) for name in names))
    container = new_container(probe.waiting(), bundle=bundle)
    run_lifecycle(container)
    seen = (exchange_text(container, "order") or "").split()
    if not seen:
        not_judged_unless_it_ran(kind)
    assert seen == names, f"the {kind} hooks ran as {seen}, listed as {names}"


@pytest.mark.parametrize("earlier,later", [
    pytest.param("prestart", "createRuntime", marks=requirement("config.hook-prestart-before-createRuntime")),
    pytest.param("createRuntime", "createContainer",
                 marks=requirement("config.hook-createContainer-after-createRuntime")),
])
def test_create_phase_kinds_run_in_spec_order(new_container, new_bundle, earlier, later):
    bundle = new_bundle()
    # The later kind is listed first in config.json, so the runtime cannot just follow the file.
    for kind in (later, earlier):
        add_hooks(bundle, kind, *(log_line(kind, bundle, f"{kind}-{n}") for n in (1, 2)))
    container = new_container(probe.waiting(), bundle=bundle)
    container.create()
    seen = (exchange_text(container, "order") or "").split()
    expected = [f"{earlier}-1", f"{earlier}-2", f"{later}-1", f"{later}-2"]
    assert sorted(seen) == sorted(expected), f"not every {earlier}/{later} hook ran during create: {seen}"
    # Only the order of the kinds is judged here; the order within a kind is config.hook-order's.
    kinds = [name.rsplit("-", 1)[0] for name in seen]
    assert kinds == [earlier, earlier, later, later], (
        f"the hooks ran as {seen}: every {earlier} hook must run before the first {later} hook"
    )


# -- what a hook receives ---------------------------------------------------------------------------

#: The status a hook's state may carry, by the operation it ran in (runtime.md#runtimeState): during
#: create the container is `creating` (a runtime that already reports `created` is tolerated: the
#: environment is built and the program not run); in start, before the program (startContainer)
#: it is `created`, after it (poststart; the program here waits) `running`; in delete `stopped`.
#: The status is judged against the moment the hook really ran: a hook run at the wrong point is
#: the timing requirement's red, not this one's.
def expected_status(kind: str, operation: str) -> set[str]:
    if operation == "create":
        return {"creating", "created"}
    if operation == "start":
        return {"created"} if kind in (*CREATE_PHASE, "startContainer") else {"running"}
    return {"stopped"}


@pytest.mark.parametrize("kind", KIND_CASES)
@requirement("config.hook-state-stdin")
def test_hook_gets_the_container_state_on_stdin(new_container, new_bundle, schemas, kind):
    bundle = new_bundle()
    add_hooks(bundle, kind, probe.recording_hook(kind, str(bundle.exchange)))
    container = new_container(probe.waiting(), bundle=bundle)
    ran_in = None
    for operation in ("create", "start", "delete"):
        if operation == "delete":
            container.finish()
            # Delete is this check's way to the poststop hooks (or to a hook run late), not its subject: when
            # it fails, a hook that ran before is judged all the same, one that had not is not judged (the
            # failure is the delete requirements').
            container.delete(check=False, prerequisite=ran_in is None)
        else:
            getattr(container, operation)()
        if operation == "start":
            # A runtime may return from start before its startContainer hooks ran (runc runs them in its
            # init, after start's reply); they are part of start all the same, and done once the program runs.
            container.read_until(probe.READY)
        if ran_in is None and container.exchange_file(f"hook-{kind}.json").exists():
            ran_in = operation
    text = exchange_text(container, f"hook-{kind}.json")
    assert text is not None, f"the {kind} hook did not run"
    try:
        state = json.loads(text)
    except ValueError:
        raise AssertionError(f"the {kind} hook's stdin was not JSON: {text[:200]!r}") from None
    # The status is judged below against runtime.md, which lets a runtime add status values for states
    # of its own; state-schema.json's closed list of statuses is not the sentence to cite for it.
    problems = [p for p in schemas.state_errors(state) if not p.startswith("status:")]
    assert not problems, f"the state given to the {kind} hook breaks state-schema.json: {problems[:3]}"
    assert state.get("id") == container.id, f"the {kind} hook got state id {state.get('id')!r}, not {container.id!r}"
    assert state.get("bundle") == str(bundle.path), (
        f"the {kind} hook got bundle {state.get('bundle')!r}, not {str(bundle.path)!r}"
    )
    allowed = expected_status(kind, ran_in)
    assert state.get("status") in allowed, (
        f"the {kind} hook (run during {ran_in}) got status {state.get('status')!r}; at that point the "
        f"container is {' or '.join(sorted(allowed))} (runtime.md#runtimeState: a status of the runtime's own "
        f"may only name a state the spec does not define)"
    )
    if EXECUTES_IN[kind] == "runtime" and state.get("status") in ("created", "running") and container.pid:
        assert state.get("pid") == container.pid, (
            f"the {kind} hook (runtime namespace) got pid {state.get('pid')!r}; the container process is "
            f"{container.pid} as the runtime sees it"
        )


@pytest.mark.parametrize("kind", KIND_CASES)
@requirement("config.hook-args")
def test_hook_gets_its_args_as_argv(new_container, new_bundle, kind):
    bundle = new_bundle()
    out = f"{folder(kind, bundle)}/args-{kind}"
    args = ["sh", "-c", f'{DRAIN}; for a in "$0" "$@"; do echo "[$a]"; done > {out}', "zeroth", "one two", "", "three"]
    add_hooks(bundle, kind, {"path": "/bin/sh", "args": args, "env": [probe.HOOK_PATH_ENV]})
    container = new_container(probe.waiting(), bundle=bundle)
    run_lifecycle(container)
    seen = exchange_text(container, f"args-{kind}")
    if seen is None:
        not_judged_unless_it_ran(kind)
    expected = "".join(f"[{a}]\n" for a in args[3:])
    assert seen == expected, f"the {kind} hook's argv after the script was {seen.splitlines()}, configured {args[3:]}"


#: What the hook's own shell adds to its variables is not the runtime's doing; the environment
#: is read from /proc/PID/environ of the shell, which holds exactly what execve gave it.
def env_hook(kind: str, bundle, env: list[str]) -> dict:
    out = f"{folder(kind, bundle)}/env-{kind}"
    # Not the script's last command: a shell may exec that one in place of itself (with its own
    # variables exported), and then /proc/$me would be cat's environment, not the hook's.
    script = f"{DRAIN}; read -r me _ < /proc/self/stat; cat /proc/$me/environ > {out}; exit 0"
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "env": env}


@pytest.mark.parametrize("kind", KIND_CASES)
@requirement("config.hook-env")
def test_hook_gets_exactly_its_env(new_container, new_bundle, kind):
    bundle = new_bundle()
    env = [probe.HOOK_PATH_ENV, "OCITEST_HOOK=one", "OCITEST_SPACED=two words", "OCITEST_EMPTY="]
    add_hooks(bundle, kind, env_hook(kind, bundle, env))
    container = new_container(probe.waiting(), bundle=bundle)
    run_lifecycle(container)
    raw = container.exchange_file(f"env-{kind}")
    if not raw.exists():
        not_judged_unless_it_ran(kind)
    seen = [entry for entry in raw.read_bytes().decode("utf-8", "replace").split("\0") if entry]
    missing = [e for e in env if e not in seen]
    extra = [e for e in seen if e not in env]
    assert not missing, f"the {kind} hook's environment lacks {missing} (it had {seen})"
    assert not extra, f"the {kind} hook's environment has {extra} beyond its configured env {env}"


def not_judged_unless_it_ran(kind: str) -> NoReturn:
    """A hook that never ran says nothing of its args, env or order; that it must run is what
    runtime.hook-KIND-invoked judges."""
    pytest.skip(f"the {kind} hook never ran, so this cannot be judged; whether it must run is "
                f"runtime.hook-{kind}-invoked's question")


def release(fifo: Path) -> None:
    """Open the fifo for writing if anybody still reads it (a hook left blocked), so it ends."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader left
            return
        raise
    os.close(fd)


#: The hooks' timeout, and how long past it a hook may still run before it counts as not aborted:
#: a short margin for the runtime's reaction and the host's scheduling, not a second timeout.
TIMEOUT_S = 1
MARGIN_S = 2


def boottime() -> float:
    """Seconds since boot (CLOCK_BOOTTIME), the clock of /proc/uptime, which the hook reads to say when it began."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@pytest.mark.parametrize("kind", KIND_CASES)
@requirement("config.hook-timeout")
@needs("runtime_timeout_at_least", TIMEOUT_S + MARGIN_S + 5, f"{TIMEOUT_S} s hook timeout")
def test_hook_that_outlives_its_timeout_is_aborted(new_container, new_bundle, kind):
    bundle = new_bundle()
    where = folder(kind, bundle)
    block, alive = bundle.exchange / f"block-{kind}", bundle.exchange / f"alive-{kind}"
    for fifo in (block, alive):
        os.mkfifo(fifo)
    # The hook holds the write end of `alive` (so the harness sees it end as EOF, whenever and
    # however it ends), notes when it began (/proc/uptime, renamed into place whole), and blocks
    # reading `block`, which nobody writes, until the runtime aborts it (or the harness releases it
    # at the end).
    script = (f"exec 3> {where}/alive-{kind}; cat /proc/uptime > {where}/began-{kind}; "
              f"mv {where}/began-{kind} {where}/blocked-{kind}; exec cat {where}/block-{kind}")
    add_hooks(bundle, kind, sh_hook(script, timeout=TIMEOUT_S))
    container = new_container(probe.waiting(), bundle=bundle)
    alive_fd = os.open(alive, os.O_RDONLY | os.O_NONBLOCK)
    try:
        try:
            for step in ("create", "start", "delete"):
                if step == "delete":
                    try:
                        container.read_until(probe.READY)
                    except AssertionError:
                        pass  # the program never ran: a start-phase hook ran (and failed) after start returned
                    if container.exchange_file(f"blocked-{kind}").exists():
                        break  # it was the start call's hook, run after the call returned
                    container.finish()
                began = boottime()
                call = getattr(container, step)(check=False)
                if container.exchange_file(f"blocked-{kind}").exists() or not call.ok:
                    break
        except RuntimeTimeout as exc:
            raise AssertionError(
                f"the {kind} hook has a timeout of {TIMEOUT_S} s and blocks forever; the runtime did not "
                f"abort it: {exc}"
            ) from None
        if not container.exchange_file(f"blocked-{kind}").exists():
            pytest.skip(f"the {kind} hook never ran ({call.describe()}), so its timeout cannot be judged; "
                        f"whether it must run is runtime.hook-{kind}-invoked's question")
        # Some runtimes run a hook after the operation returned (crun's startContainer); either way
        # the hook must be gone within its timeout and the margin from the moment it began. The wait
        # ends as soon as it is gone (EOF on `alive`).
        hook_began = float(container.exchange_file(f"blocked-{kind}").read_text().split()[0])
        bound = TIMEOUT_S + MARGIN_S
        ended = bool(readable([alive_fd], max(hook_began + bound - boottime(), 0)))
        assert ended, (
            f"the {kind} hook has a timeout of {TIMEOUT_S} s, yet it was still running {bound} s after it began "
            f"({call.describe()})"
        )
        if hook_began - began < call.duration:  # the hook ran during the call: the call waited for it
            assert call.duration <= hook_began - began + bound, (
                f"the {kind} hook has a timeout of {TIMEOUT_S} s, yet {call.describe()} "
                f"(the hook began {hook_began - began:.1f} s into the call)"
            )
    finally:
        release(block)
        os.close(alive_fd)

"""command-line-interface.md, create: --bundle's default, --pid-file, LISTEN_FDS and the exit code.

https://github.com/opencontainers/runtime-tools/blob/v0.9.0/docs/command-line-interface.md#create
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import sys

from ocitest import Wiring, probe, read_available, requirement, set_nonblocking


@requirement("cli.create-exit-code")
def test_create_exits_zero_when_the_container_is_created(new_container):
    container = new_container(probe.waiting())
    call = container.create(check=False)
    assert call.exit == 0, f"create of a valid bundle: {call.describe()}"
    assert container.status() == "created"


@requirement("cli.create-exit-code")
def test_create_exits_non_zero_for_a_bundle_without_config_json(new_container):
    container = new_container()
    assert not container.bundle.config_path.exists()
    call = container.create(check=False, write_config=False)
    assert call.failed, f"create of a bundle folder that has no config.json did not exit non-zero: {call.describe()}"


@requirement("cli.create-bundle-default")
def test_create_without_bundle_uses_the_working_directory(new_container, new_bundle):
    bundle = new_bundle()
    marker = f"bundle-{bundle.path.name}"
    container = new_container(probe.sh(probe.say("from", marker)), bundle=bundle)
    call = container.create(check=False, bundle_arg=None, wiring=Wiring(cwd=bundle.path))
    assert call.ok, f"create without --bundle, run in the bundle folder: {call.describe()}"
    container.start()
    container.wait_exit()
    seen = probe.facts(container.output()).get("from")
    assert seen == [marker], (
        f"create without --bundle in {bundle.path} ran a program that printed {seen}, not the one of that "
        f"folder's config.json"
    )


@requirement("cli.create-pid-file")
def test_pid_file_holds_the_container_pid_when_create_returns(new_container):
    container = new_container(probe.waiting())
    container.create(pid_file=True)
    path = container.pid_file
    assert path.exists(), f"create --pid-file {path} returned without writing the file"
    text = path.read_text()
    try:
        written = int(text.strip())
    except ValueError:
        raise AssertionError(f"the pid file holds {text[:100]!r}, not a PID") from None
    pid = container.state().get("pid")
    assert written == pid, f"the pid file says {written}, state says the container PID is {pid}"


#: Runs as create's process: moves the two descriptors it is given to 3 and 4, sets LISTEN_PID to
#: its own PID, and becomes the runtime (same PID), as a socket-activating service manager would.
#: Calls made without LISTEN_FDS (the `state` inside Container.create) go straight to the runtime.
TRAMPOLINE = (
    "import os, sys\n"
    "if os.environ.get('LISTEN_FDS'):\n"
    "    a, b = int(sys.argv[1]), int(sys.argv[2])\n"
    "    os.dup2(a, 3); os.dup2(b, 4); os.close(a); os.close(b)\n"
    "    os.environ['LISTEN_PID'] = str(os.getpid())\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


@requirement("cli.create-listen-fds")
def test_listen_fds_passes_fds_3_and_4_to_the_program(new_container, runtime):
    """LISTEN_FDS=2 with two pipes at fds 3 and 4: the program writes through its fds 3 and 4 and
    the harness reads it from the pipes.

    The caller does what a socket-activating service manager does under the protocol the sentence
    links to (sd_listen_fds): LISTEN_PID is the PID of the process that gets the descriptors, the
    runtime. The document names LISTEN_FDS only; runc ignores LISTEN_FDS without a matching LISTEN_PID.
    """
    script = probe.sh(
        *[f'if [ -e /proc/$$/fd/{n} ]; then {probe.say(f"fd{n}", f"$(readlink /proc/$$/fd/{n})")}; '
          f'echo ocitest-through-fd{n} >&{n}; else {probe.say(f"fd{n}", "closed")}; fi' for n in (3, 4)],
        probe.say("env", "LISTEN_FDS=$LISTEN_FDS"),
    )
    container = new_container(script)
    pipes = [os.pipe() for _ in range(2)]
    # Above 9, so that moving them to 3 and 4 never overwrites one with the other.
    high = [fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10) for _, w in pipes]
    for _, w in pipes:
        os.close(w)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    env["LISTEN_FDS"] = "2"
    container.runtime = dataclasses.replace(
        runtime, path=sys.executable,
        global_args=["-c", TRAMPOLINE, str(high[0]), str(high[1]), runtime.path, *runtime.global_args],
    )
    try:
        call = container.create(check=False, wiring=Wiring(env=env, inherited=tuple(high)))
    finally:
        container.runtime = runtime
        for fd in high:
            os.close(fd)
    got: dict[int, bytes] = {}
    facts: dict = {}
    try:
        if call.ok:
            container.start()
            container.wait_exit()
            facts = probe.facts(container.output())
        for n, (r, _) in zip((3, 4), pipes, strict=True):
            set_nonblocking(r)
            got[n] = read_available(r)[0]
    finally:
        for r, _ in pipes:
            os.close(r)
    assert call.ok, f"create with LISTEN_FDS=2 and fds 3 and 4 open: {call.describe()}"
    missing = [n for n in (3, 4) if got[n] != f"ocitest-through-fd{n}\n".encode()]
    seen = {n: facts.get(f"fd{n}") for n in (3, 4)}
    assert not missing, (
        f"with LISTEN_FDS=2 in create's environment, the program's fds {missing} are not create's fds "
        f"(the program saw {seen}, {facts.get('env')}; the harness's pipes got {got})"
    )

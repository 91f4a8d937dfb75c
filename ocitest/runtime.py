"""The runtime's command-line API: create, start, state, kill, delete (and version, features), and
runc's further commands engines call (exec, pause, resume, ps, list, events, update).

Every call is bounded by a timeout, runs in its own session (so a Ctrl-C aimed at pytest does
not reach it half-way, and a hung call can be killed with everything it forked), and is
recorded (argv, exit code, stdout, stderr, duration) for the report, and with the operation it
was meant as for reproducers (see events.py).
"""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cgroupdriver import choose as choose_driver
from .errors import RuntimeTimeout, Violation
from .events import Operation, Step
from .profile import Profile, guess_profile, load_profile
from .stalls import Stalls
from .waits import Deadline, ExitReaper, read_available, readable, set_nonblocking, wait_pidfd

#: How much of a call's output is kept in the report.
_KEEP = 4096
#: How long a killed call's process group may take to die before it is given up as unkillable.
_KILL_GRACE = 10.0


@dataclass
class Call:
    """One invocation of the runtime binary and what came of it: the runtime-call kind of event."""

    argv: list[str]
    exit: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    #: Set when stdout/stderr were the container's pipes (create): what the runtime wrote there.
    note: str = ""
    #: What the harness meant by the call; for the reproducer, not in the report.
    operation: Operation = field(default_factory=Operation)

    @property
    def ok(self) -> bool:
        return self.exit == 0 and not self.timed_out

    @property
    def failed(self) -> bool:
        """The runtime reported an error (non-zero exit); a timeout is not an error report."""
        return self.exit not in (0, None)

    def command(self) -> str:
        return shlex.join(self.argv)

    def printed_json(self) -> object:
        """What the call printed on stdout, as JSON; output that is no JSON is a Violation naming the call."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise Violation(f"`{self.command()}` printed no JSON: {self.stdout[:300]!r}") from None

    def describe(self) -> str:
        """One line for a failure message: the command, how it ended, the runtime's last words."""
        if self.timed_out:
            how = f"did not return within {self.duration:.1f} s and was killed"
        else:
            how = f"exited {self.exit} after {self.duration * 1000:.0f} ms"
        last = (self.stderr.strip().splitlines() or [""])[-1]
        return f"`{self.command()}` {how}" + (f": {last[:300]}" if last else "")

    def to_json(self) -> dict:
        """The report's record of the call (its schema is strict: the operation stays out)."""
        return {"argv": list(self.argv), "exit": self.exit, "stdout": self.stdout[:_KEEP],
                "stderr": self.stderr[:_KEEP], "duration": round(self.duration, 4), "timed_out": self.timed_out,
                "note": self.note}


#: One entry of a test's record: a runtime call, or a step of the harness between calls.
Event = Call | Step


def runtime_calls(events: Iterable[Event]) -> list[Call]:
    """The runtime calls of a test's record, without the harness's steps (the report's ``calls``)."""
    return [e for e in events if isinstance(e, Call)]


@dataclass(frozen=True)
class Wiring:
    """What a runtime process gets besides its arguments: descriptors, working folder, environment.

    A ``None`` stdio descriptor means the default: stdin /dev/null, stdout and stderr pipes the
    harness reads as the process writes. ``inherited`` descriptors keep their numbers in the
    process (``LISTEN_FDS``, a console socket given by number).
    """

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None
    cwd: str | os.PathLike | None = None
    env: dict[str, str] | None = None
    inherited: tuple[int, ...] = ()
    #: Descriptors the process gets at other numbers: ``((3, fd), (4, other))`` puts ``fd`` at 3, as a
    #: service manager hands sockets over (``--preserve-fds``). Not together with ``inherited``.
    at: tuple[tuple[int, int], ...] = ()
    #: The runtime process's own ``oom_score_adj``, written between fork and exec: a check of what a
    #: container inherits needs a caller whose value differs from what a runtime would set anyway
    #: (0). Only the child's value changes, never the harness's; checks raise it above the harness's
    #: own, which needs no privilege (lowering needs CAP_SYS_RESOURCE).
    oom_score_adj: int | None = None
    #: The runtime process's execution domain (``LINUX`` or ``LINUX32``, personality(2)), set the same
    #: way: a runtime that skips ``linux.personality`` leaves the program in the caller's domain.
    personality: str | None = None


class _Running:
    """A spawned command in its own session: its pidfd, and the output pipes drained as it writes."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.pidfd = os.pidfd_open(proc.pid)
        self.pipes = {name: pipe.fileno() for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr))
                      if pipe is not None}
        self.buffers: dict[int, bytearray] = {fd: bytearray() for fd in self.pipes.values()}
        for fd in self.buffers:
            set_nonblocking(fd)

    def drain_until_exit(self, deadline: Deadline, reaper: ExitReaper | None = None) -> bool:
        """Collect output until the process is gone (True) or the deadline passed (False).

        The exit is a readable pidfd; what the process wrote is then in the pipe buffers and is
        taken without waiting for EOF, because a process it left behind (the container!) may
        hold the pipes open for a long time.
        """
        open_fds = list(self.buffers)
        while True:
            others = reaper.fds() if reaper is not None else []
            ready = readable([self.pidfd, *open_fds, *others], deadline.remaining())
            if not ready:
                return False
            for fd in ready:
                if fd == self.pidfd:
                    continue
                if fd in others:
                    assert reaper is not None
                    reaper.exited(fd)
                    continue
                data, eof = read_available(fd)
                self.buffers[fd] += data
                if eof:
                    open_fds.remove(fd)
            if self.pidfd in ready:
                for fd in open_fds:
                    self.buffers[fd] += read_available(fd)[0]
                return True

    def end(self) -> None:
        """Leave nothing behind: kill the session if it still runs (timed out, Ctrl-C), then reap."""
        unkillable = False
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            # Unkillable (stuck in the kernel): not waited for, or the whole run would hang.
            unkillable = not wait_pidfd(self.pidfd, _KILL_GRACE)
        if not unkillable:
            self.proc.wait()
        os.close(self.pidfd)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def text(self, name: str) -> str:
        fd = self.pipes.get(name)
        return bytes(self.buffers[fd]).decode("utf-8", "replace") if fd is not None else ""


#: personality(2) values of the execution domains a caller can be given (linux/personality.h).
PERSONALITIES = {"LINUX": 0x0000, "LINUX32": 0x0008}


def _as_caller(wiring: Wiring) -> Callable[[], None] | None:
    """What the child does between fork and exec to become the caller ``wiring`` describes.

    Everything is prepared before the fork, and the child only makes system calls (personality(2),
    a write to /proc): preexec_fn runs in the child of a process with threads, where little is safe.
    """
    if wiring.oom_score_adj is None and wiring.personality is None and not wiring.at:
        return None
    oom = None if wiring.oom_score_adj is None else str(wiring.oom_score_adj).encode()
    persona = None if wiring.personality is None else PERSONALITIES[wiring.personality]
    libc = ctypes.CDLL(None, use_errno=True) if persona is not None else None

    def become() -> None:
        for number, fd in wiring.at:
            os.dup2(fd, number)
        if libc is not None and libc.personality(persona) == -1:
            raise OSError(ctypes.get_errno(), f"personality({wiring.personality})")
        if oom is not None:
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, oom)
            finally:
                os.close(fd)

    return become


def _spawn(argv: list[str], wiring: Wiring) -> subprocess.Popen:
    """Start ``argv`` in a session of its own, so that a Ctrl-C aimed at pytest does not reach
    it half-way and a hung call can be killed with everything it forked."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL if wiring.stdin is None else wiring.stdin,
        stdout=subprocess.PIPE if wiring.stdout is None else wiring.stdout,
        stderr=subprocess.PIPE if wiring.stderr is None else wiring.stderr,
        cwd=wiring.cwd, env=wiring.env, start_new_session=True,
        # Descriptors put at their numbers by ``become`` (dup2 clears close-on-exec) must survive
        # close_fds, which runs after it: without close_fds only inheritable descriptors pass, and the
        # harness opens every other one close-on-exec (Python's default).
        close_fds=not wiring.at, pass_fds=wiring.inherited,
        preexec_fn=_as_caller(wiring),
    )


def run_command(argv: list[str], *, timeout: float, wiring: Wiring | None = None,
                operation: Operation | None = None, reaper: ExitReaper | None = None) -> Call:
    """Run ``argv`` to completion or ``timeout``; never leaves the process (or its group) behind.

    ``wiring`` says what the process gets (see Wiring): that is how ``create`` hands the
    container's stdio pipes to the runtime. ``operation`` is put on the Call as it is.
    """
    wiring = wiring or Wiring()
    operation = operation or Operation()
    started = time.monotonic()
    try:
        proc = _spawn(argv, wiring)
    except OSError as exc:
        return Call(list(argv), 127, "", f"could not execute: {exc}", time.monotonic() - started,
                    operation=operation)
    running = _Running(proc)
    try:
        exited = running.drain_until_exit(Deadline(timeout), reaper)
    finally:
        running.end()
    return Call(
        argv=list(argv),
        exit=proc.returncode if exited else None,
        stdout=running.text("stdout"),
        stderr=running.text("stderr"),
        duration=time.monotonic() - started,
        timed_out=not exited,
        operation=operation,
    )


class Streaming:
    """A runtime call that keeps running and printing (``events``): its output is read as it comes, and
    ``end()`` kills its whole session, reaps it and records it as a Call. It never outlives its test:
    the caller ends it in a ``finally``."""

    def __init__(self, argv: list[str], operation: Operation, record: list[Event]) -> None:
        self.argv = argv
        self.operation = operation
        self.record = record
        self.started = time.monotonic()
        self.running = _Running(_spawn(argv, Wiring()))
        self.call: Call | None = None

    def text(self) -> str:
        return self.running.text("stdout")

    def read_until(self, marker: str, timeout: float) -> str:
        """Wait until the call printed ``marker`` on stdout; all its stdout so far. An exit before
        it is an AssertionError, no marker in time a RuntimeTimeout."""
        deadline = Deadline(timeout)
        fds = list(self.running.buffers)
        while marker not in self.text():
            ready = readable([self.running.pidfd, *fds], deadline.remaining())
            if not ready:
                raise RuntimeTimeout(f"`{shlex.join(self.argv)}` did not print {marker!r} within {timeout:g} s; "
                                     f"it printed {self.text()[-500:]!r}")
            for fd in [fd for fd in ready if fd in fds]:
                data, eof = read_available(fd)
                self.running.buffers[fd] += data
                if eof:
                    fds.remove(fd)
            if self.running.pidfd in ready and not [fd for fd in ready if fd in fds]:
                for fd in fds:
                    self.running.buffers[fd] += read_available(fd)[0]
                if marker not in self.text():
                    raise AssertionError(f"`{shlex.join(self.argv)}` ended without printing {marker!r}: "
                                         f"{self.text()[-500:]!r} (stderr {self.running.text('stderr')[:300]!r})")
        return self.text()

    def end(self) -> Call:
        """Kill the call if it still runs, reap it, and record what it printed (once)."""
        if self.call is None:
            self.running.end()
            self.call = Call(list(self.argv), self.running.proc.returncode, self.text(), self.running.text("stderr"),
                             time.monotonic() - self.started, operation=self.operation,
                             note="a streaming call, ended by the harness")
            self.record.append(self.call)
        return self.call


def _passed(wiring: Wiring) -> tuple[int, ...]:
    """The descriptor numbers a call's process got beyond stdio (for the record)."""
    return (*wiring.inherited, *(number for number, _ in wiring.at))


def _stdin_kind(wiring: Wiring, container_stdio: bool) -> str:
    if container_stdio:
        return "container"
    return "null" if wiring.stdin is None else "test"


@dataclass
class Runtime:
    """A runtime binary plus its global options, as one test talks to it.

    ``events`` is the test's record: every call, and the steps the harness takes between calls
    (``record``), in order; each test gets its own Runtime (cheap) so the record is per test.
    """

    path: str
    global_args: list[str] = field(default_factory=list)
    timeout: float = 30.0
    events: list[Event] = field(default_factory=list)
    #: How ``kill`` passes its signal: "positional" (``kill ID SIG``, runc) or "option"
    #: (``kill --signal SIG ID``, runtime-tools' CLI document). Set from the profile.
    kill_signal: str = "positional"
    #: How ``--console-socket`` is given: "path" (runc) or "fd" (the CLI document).
    console_socket: str = "path"
    #: What the state pid is: "process" (the program) or "sandbox" (around it); decides how checks
    #: see the program (view.py). Set from the profile.
    container_process: str = "process"
    #: The process's timeout streaks (stalls.py); None: every call gets its full limit.
    stalls: Stalls | None = None
    #: The operation of the last call made (what a wait on the container that follows is waiting after).
    last_operation: str = ""
    #: Called with the container ID before each ``delete`` (LiveContainers.settle_for): the processes
    #: to reap as they exit while delete runs (what the runtime's delete would otherwise wait for).
    before_delete: Callable[[str], ExitReaper] | None = None

    @property
    def calls(self) -> list[Call]:
        """The runtime calls made so far, without the harness's steps."""
        return runtime_calls(self.events)

    def record(self, step: Step) -> None:
        """Note a step of the harness between calls, at the moment it is taken."""
        self.events.append(step)

    def argv(self, *args: str) -> list[str]:
        return [self.path, *self.global_args, *args]

    def call(self, *args: str, wiring: Wiring | None = None, timeout: float | None = None,
             operation: Operation | None = None, reaper: ExitReaper | None = None) -> Call:
        """Invoke the runtime; a call that hangs is killed and raises RuntimeTimeout.

        ``operation`` is what the lifecycle methods below say the call is; a call made with
        arguments of a test's own gets one that says only how it was wired.
        """
        wiring = wiring or Wiring()
        if operation is None:
            operation = Operation(cwd=_folder(wiring.cwd), stdin=_stdin_kind(wiring, False),
                                  inherited=_passed(wiring), oom_score_adj=wiring.oom_score_adj,
                                  personality=wiring.personality)
        limit, cut_short = self.timeout if timeout is None else timeout, False
        # A call with a limit of the test's own is not counted: its time is part of what it checks.
        counted = self.stalls if timeout is None else None
        name = operation.name or (args[0] if args else "")
        if counted is not None:
            limit, cut_short = counted.limit(name, limit)
        result = run_command(self.argv(*args), timeout=limit, wiring=wiring, operation=operation, reaper=reaper)
        self.events.append(result)
        self.last_operation = name
        if result.timed_out:
            if counted is not None:
                counted.timed_out(name, self.timeout, cut_short, result.describe())
            raise RuntimeTimeout(result.describe())
        if counted is not None:
            counted.succeeded(name)
        return result

    # The lifecycle operations, with the argv of the command-line API (runc's dialect).

    def create(
        self,
        container_id: str | None,
        bundle: str | os.PathLike | None,
        *,
        console_socket: str | os.PathLike | int | None = None,
        pid_file: str | os.PathLike | None = None,
        wiring: Wiring | None = None,
        container_stdio: bool = False,
        options: tuple[str, ...] = (),
    ) -> Call:
        """``create``; an int ``console_socket`` is an inherited socket's number (the CLI
        document's dialect), anything else a socket path (runc's). ``bundle=None`` leaves
        ``--bundle`` out (the runtime takes ``wiring.cwd``). ``container_stdio`` says that the
        wiring's stdio are the container's pipes (recorded for the reproducer). ``options`` go
        before the ID (``--no-pivot``, ``--preserve-fds N``)."""
        wiring = wiring or Wiring()
        args = ["create"]
        if bundle is not None:
            args += ["--bundle", str(bundle)]
        if console_socket is not None:
            args += ["--console-socket", str(console_socket)]
            if isinstance(console_socket, int):
                wiring = replace(wiring, inherited=(*wiring.inherited, console_socket))
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        args += list(options)
        if container_id is not None:
            args.append(container_id)
        operation = Operation(
            "create", container_id, cwd=_folder(wiring.cwd), bundle=_folder(Path(wiring.cwd or ".") / (bundle or "")),
            stdin=_stdin_kind(wiring, container_stdio), inherited=_passed(wiring),
            console="" if console_socket is None else "fd" if isinstance(console_socket, int) else "path",
            oom_score_adj=wiring.oom_score_adj, personality=wiring.personality,
        )
        return self.call(*args, wiring=wiring, operation=operation)

    def start(self, container_id: str) -> Call:
        return self.call("start", container_id, operation=Operation("start", container_id))

    def state(self, container_id: str) -> Call:
        return self.call("state", container_id, operation=Operation("state", container_id))

    def kill(self, container_id: str, sig: str | None = "TERM") -> Call:
        """``kill`` in the profile's dialect; ``sig=None`` leaves the signal to the runtime's default."""
        return self.call(*self.kill_args(container_id, sig), operation=Operation("kill", container_id))

    def kill_args(self, container_id: str, sig: str | None) -> tuple[str, ...]:
        """The arguments of ``kill`` in the profile's dialect (also for calls made by hand)."""
        if sig is None:
            return ("kill", container_id)
        if self.kill_signal == "option":
            return ("kill", "--signal", sig, container_id)
        return ("kill", container_id, sig)

    def delete(self, container_id: str, *, force: bool = False) -> Call:
        reaper = self.before_delete(container_id) if self.before_delete is not None else None
        try:
            return self.call("delete", *(["--force"] if force else []), container_id,
                             operation=Operation("delete", container_id), reaper=reaper)
        finally:
            if reaper is not None:
                reaper.close()

    # runc's command line beyond the lifecycle, with the argv containerd's go-runc passes
    # (docs/runc-compat.md): what the runc-compat suite judges.

    def exec(self, container_id: str, *, process_file: str | os.PathLike | None = None,
             command: tuple[str, ...] = (), options: tuple[str, ...] = (), detach: bool = False,
             pid_file: str | os.PathLike | None = None, console_socket: str | os.PathLike | None = None,
             pidfd_socket: str | os.PathLike | None = None, wiring: Wiring | None = None,
             timeout: float | None = None) -> Call:
        """``exec --process FILE [--console-socket S] [--pidfd-socket S] [--detach] [--pid-file P] ID``
        (go-runc's order), or with ``command`` the command-line form ``exec [options] ID CMD...``."""
        args: list[str] = ["exec"]
        if process_file is not None:
            args += ["--process", str(process_file)]
        args += list(options)
        if console_socket is not None:
            args += ["--console-socket", str(console_socket)]
        if pidfd_socket is not None:
            args += ["--pidfd-socket", str(pidfd_socket)]
        if detach:
            args.append("--detach")
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        args.append(container_id)
        args += list(command)
        wiring = wiring or Wiring()
        return self.call(*args, wiring=wiring, timeout=timeout,
                         operation=Operation("exec", container_id, stdin=_stdin_kind(wiring, False)))

    def run(self, container_id: str, bundle: str | os.PathLike, *, detach: bool = False,
            pid_file: str | os.PathLike | None = None, wiring: Wiring | None = None,
            timeout: float | None = None) -> Call:
        """``run --bundle B [--pid-file P] [--detach] ID``: create and start in one call."""
        args = ["run", "--bundle", str(bundle)]
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        if detach:
            args.append("--detach")
        wiring = wiring or Wiring()
        return self.call(*args, container_id, wiring=wiring, timeout=timeout,
                         operation=Operation("run", container_id, bundle=_folder(bundle),
                                             stdin=_stdin_kind(wiring, True)))

    def checkpoint(self, container_id: str, image: str | os.PathLike, work: str | os.PathLike) -> Call:
        """``checkpoint --image-path I --work-path W ID`` (go-runc's order; the container stops)."""
        return self.call("checkpoint", "--image-path", str(image), "--work-path", str(work), container_id,
                         operation=Operation("checkpoint", container_id))

    def restore(self, container_id: str, bundle: str | os.PathLike, image: str | os.PathLike,
                work: str | os.PathLike, *, pid_file: str | os.PathLike, wiring: Wiring | None = None) -> Call:
        """``restore --image-path I --work-path W --detach --pid-file P --bundle B ID`` (go-runc's order)."""
        wiring = wiring or Wiring()
        return self.call("restore", "--image-path", str(image), "--work-path", str(work), "--detach",
                         "--pid-file", str(pid_file), "--bundle", str(bundle), container_id, wiring=wiring,
                         operation=Operation("restore", container_id, bundle=_folder(bundle),
                                             stdin=_stdin_kind(wiring, True)))

    def offers(self, command: str, option: str) -> bool:
        """Whether ``COMMAND --help`` lists ``option``: how a check of an optional option learns that the
        runtime claims it (runc prints usage for ``--help`` of every command)."""
        call = self.call(command, "--help")
        return option in call.stdout + call.stderr

    def events_stream(self, container_id: str, interval: int = 1) -> Streaming:
        """``events --interval=Ns ID`` (go-runc Events), running until ``end()``."""
        return Streaming(self.argv("events", f"--interval={interval}s", container_id),
                         Operation("events", container_id), self.events)

    def pause(self, container_id: str) -> Call:
        return self.call("pause", container_id, operation=Operation("pause", container_id))

    def resume(self, container_id: str) -> Call:
        return self.call("resume", container_id, operation=Operation("resume", container_id))

    def ps_json(self, container_id: str) -> Call:
        return self.call("ps", "--format", "json", container_id, operation=Operation("ps", container_id))

    def list_json(self) -> Call:
        return self.call("list", "--format=json", operation=Operation("list"))

    def events_stats(self, container_id: str) -> Call:
        return self.call("events", "--stats", container_id, operation=Operation("events", container_id))

    def update(self, container_id: str, resources: dict | None = None, options: tuple[str, ...] = ()) -> Call:
        """``update --resources=- ID`` with ``resources`` (LinuxResources) as JSON on stdin, or
        ``update OPTIONS ID`` when ``resources`` is None."""
        if resources is None:
            return self.call("update", *options, container_id, operation=Operation("update", container_id))
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, json.dumps(resources).encode())  # far below a pipe's buffer
            os.close(write_end)
            write_end = -1
            wiring = Wiring(stdin=read_end)
            return self.call("update", "--resources=-", container_id, wiring=wiring,
                             operation=Operation("update", container_id, stdin="test"))
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


def _folder(path: str | os.PathLike | None) -> str | None:
    """``path`` made absolute for the record; as given when the current folder is gone (the record
    must never be why a call fails)."""
    if path is None:
        return None
    try:
        return os.path.normpath(Path(path).absolute())
    except OSError:
        return str(path)


@dataclass
class RuntimeInfo:
    """What the runtime says about itself, asked once per session."""

    path: str
    args: list[str]
    version: str
    spec_version: str | None
    features: dict | None
    #: How the harness talks to this runtime (see profile.py).
    profile: Profile = field(default_factory=lambda: load_profile("generic"))
    #: Why there is no ``features`` (the runtime's words), when there is none.
    features_problem: str = ""
    #: ``cgroupfs`` or ``systemd`` (see cgroupdriver.py); the systemd one's option is among ``args``.
    cgroup_driver: str = "cgroupfs"

    def new_runtime(self, timeout: float, events: list[Event] | None = None, stalls: Stalls | None = None) -> Runtime:
        """A Runtime speaking this runtime's dialect, recording into ``events`` (``stalls``: see Runtime)."""
        return Runtime(self.path, list(self.args), timeout, [] if events is None else events,
                       kill_signal=self.profile.kill_signal, console_socket=self.profile.console_socket,
                       container_process=self.profile.container_process, stalls=stalls)

    @property
    def declared_max(self) -> str | None:
        """The newest spec version ``features`` declares (``ociVersionMax``), as the runtime wrote it."""
        value = (self.features or {}).get("ociVersionMax")
        return str(value) if value else None

    @property
    def oci_version(self) -> str:
        """The ociVersion to write into configs: the newest the runtime declares it supports.

        Some runtimes refuse versions they do not know (crun 1.8.1 refuses 1.2.0 and 1.3.0).
        """
        return self.declared_max or self.spec_version or "1.0.2"

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "args": self.args,
            "version": self.version,
            "spec_version": self.spec_version,
            "features": self.features is not None,
            "features_problem": self.features_problem,
            "profile": self.profile.name,
            "profile_details": self.profile.to_json(),
            "cgroup_driver": self.cgroup_driver,
        }


def inspect_runtime(path: str, args: list[str], timeout: float = 10.0, profile: str | None = None,
                    cgroup_driver: str | None = None, rootless: bool = False) -> RuntimeInfo:
    """Ask the runtime for ``--version`` and ``features`` (either may be missing).

    ``profile`` names the dialect; without it, it is guessed from the binary's name and
    ``--version``. The profile's global options come before the user's ``args``, and the option of
    the systemd cgroup driver after them when ``cgroup_driver`` asks for it (cgroupdriver.choose).
    """
    version_call = run_command([path, *args, "--version"], timeout=timeout)
    first_line = (version_call.stdout.strip().splitlines() or [""])[0]
    chosen = load_profile(profile) if profile else guess_profile(path, first_line)
    driver, args = choose_driver(cgroup_driver, chosen, chosen.runtime_args(list(args)), rootless=rootless)
    rt = Runtime(path, args, timeout)
    lines = version_call.stdout.strip().splitlines()
    version = lines[0] if lines else ""
    spec = None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip().lower() == "spec" and value.strip():
            spec = value.strip()
    features = None
    features_call = run_command(rt.argv("features"), timeout=timeout)
    problem = ""
    if features_call.ok:
        try:
            parsed = json.loads(features_call.stdout)
            features = parsed if isinstance(parsed, dict) else None
            problem = "" if features is not None else "`features` printed JSON that is not an object"
        except ValueError:
            problem = "`features` printed no JSON"
    else:
        problem = f"no `features` command ({features_call.describe()})"
    return RuntimeInfo(path=path, args=list(args), version=version, spec_version=spec, features=features,
                       profile=chosen, features_problem=problem, cgroup_driver=driver)


def resolve_runtime(name: str) -> str | None:
    """An absolute path for ``name`` (a path, or a command looked up on PATH), or None."""
    if os.sep in name:
        p = Path(name).resolve()
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    found = shutil.which(name)
    return str(Path(found).resolve()) if found else None

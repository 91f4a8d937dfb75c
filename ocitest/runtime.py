"""The runtime's command-line API: create, start, state, kill, delete (and version, features).

Every call is bounded by a timeout, runs in its own session (so a Ctrl-C aimed at pytest does
not reach it half-way, and a hung call can be killed with everything it forked), and is
recorded (argv, exit code, stdout, stderr, duration) for the report and for reproducers.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import RuntimeTimeout
from .profile import Profile, guess_profile, load_profile
from .waits import Deadline, read_available, readable, set_nonblocking, wait_pidfd

#: How much of a call's output is kept in the report.
_KEEP = 4096


@dataclass
class Call:
    """One invocation of the runtime binary and what came of it."""

    argv: list[str]
    exit: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    #: Set when stdout/stderr were the container's pipes (create): what the runtime wrote there.
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.exit == 0 and not self.timed_out

    @property
    def failed(self) -> bool:
        """The runtime reported an error (non-zero exit); a timeout is not an error report."""
        return self.exit not in (0, None)

    def command(self) -> str:
        return shlex.join(self.argv)

    def describe(self) -> str:
        """One line for a failure message: the command, how it ended, the runtime's last words."""
        if self.timed_out:
            how = f"did not return within {self.duration:.1f} s and was killed"
        else:
            how = f"exited {self.exit} after {self.duration * 1000:.0f} ms"
        last = (self.stderr.strip().splitlines() or [""])[-1]
        return f"`{self.command()}` {how}" + (f": {last[:300]}" if last else "")

    def to_json(self) -> dict:
        data = asdict(self)
        data["stdout"] = self.stdout[:_KEEP]
        data["stderr"] = self.stderr[:_KEEP]
        data["duration"] = round(self.duration, 4)
        return data


def run_command(
    argv: list[str],
    *,
    timeout: float,
    fds: tuple[int, int, int] | None = None,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    stdin: int | None = None,
    pass_fds: tuple[int, ...] = (),
) -> Call:
    """Run ``argv`` to completion or ``timeout``; never leaves the process (or its group) behind.

    Without ``fds`` the command gets ``stdin`` (default /dev/null) and pipes for stdout/stderr,
    read as it writes. With ``fds`` (stdin, stdout, stderr) the command writes to those instead:
    that is how ``create`` hands the container's stdio pipes to the runtime. ``pass_fds`` are
    inherited at the same numbers (``LISTEN_FDS``, a console socket given by number).

    The process is known to be gone when its pidfd becomes readable; what it wrote is then in
    the pipe buffers and is drained without waiting for EOF, because a process it left behind
    (the container!) may hold the pipes open for a long time.
    """
    started = time.monotonic()
    if fds is None:
        stdin, stdout, stderr = (subprocess.DEVNULL if stdin is None else stdin), subprocess.PIPE, subprocess.PIPE
    else:
        stdin, stdout, stderr = fds
    try:
        proc = subprocess.Popen(
            argv, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env,
            start_new_session=True, close_fds=True, pass_fds=pass_fds,
        )
    except OSError as exc:
        return Call(list(argv), 127, "", f"could not execute: {exc}", time.monotonic() - started)

    pidfd = os.pidfd_open(proc.pid)
    out_fd = proc.stdout.fileno() if proc.stdout is not None else None
    err_fd = proc.stderr.fileno() if proc.stderr is not None else None
    buffers: dict[int, bytearray] = {}
    for fd in (out_fd, err_fd):
        if fd is not None:
            set_nonblocking(fd)
            buffers[fd] = bytearray()
    open_fds = list(buffers)
    deadline = Deadline(timeout)
    timed_out = False
    unkillable = False
    try:
        while True:
            ready = readable([pidfd, *open_fds], deadline.remaining())
            if not ready:
                timed_out = True
                break
            for fd in ready:
                if fd == pidfd:
                    continue
                data, eof = read_available(fd)
                buffers[fd] += data
                if eof:
                    open_fds.remove(fd)
            if pidfd in ready:
                for fd in open_fds:
                    buffers[fd] += read_available(fd)[0]
                break
    finally:
        if proc.poll() is None:
            # Timed out, or interrupted (Ctrl-C): take the whole session down, then reap.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if not wait_pidfd(pidfd, 10.0):
                # Unkillable (stuck in the kernel): not waited for, or the whole run would hang.
                unkillable = True
        if not unkillable:
            proc.wait()
        os.close(pidfd)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()

    def text(fd: int | None) -> str:
        return bytes(buffers[fd]).decode("utf-8", "replace") if fd is not None else ""

    return Call(
        argv=list(argv),
        exit=None if timed_out else proc.returncode,
        stdout=text(out_fd),
        stderr=text(err_fd),
        duration=time.monotonic() - started,
        timed_out=timed_out,
    )


@dataclass
class Runtime:
    """A runtime binary plus its global options, as one test talks to it.

    ``calls`` collects every invocation for the report; each test gets its own Runtime (cheap)
    so the record is per test.
    """

    path: str
    global_args: list[str] = field(default_factory=list)
    timeout: float = 30.0
    calls: list[Call] = field(default_factory=list)
    #: How ``kill`` passes its signal: "positional" (``kill ID SIG``, runc) or "option"
    #: (``kill --signal SIG ID``, runtime-tools' CLI document). Set from the profile.
    kill_signal: str = "positional"
    #: How ``--console-socket`` is given: "path" (runc) or "fd" (the CLI document).
    console_socket: str = "path"

    def argv(self, *args: str) -> list[str]:
        return [self.path, *self.global_args, *args]

    def call(
        self,
        *args: str,
        fds: tuple[int, int, int] | None = None,
        cwd: str | os.PathLike | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        stdin: int | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> Call:
        """Invoke the runtime; a call that hangs is killed and raises RuntimeTimeout."""
        limit = self.timeout if timeout is None else timeout
        result = run_command(self.argv(*args), timeout=limit, fds=fds, cwd=cwd, env=env, stdin=stdin,
                             pass_fds=pass_fds)
        self.calls.append(result)
        if result.timed_out:
            raise RuntimeTimeout(result.describe())
        return result

    # The lifecycle operations, with the argv of the command-line API (runc's dialect).

    def create(
        self,
        container_id: str | None,
        bundle: str | os.PathLike | None,
        *,
        console_socket: str | os.PathLike | int | None = None,
        pid_file: str | os.PathLike | None = None,
        fds: tuple[int, int, int] | None = None,
        cwd: str | os.PathLike | None = None,
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> Call:
        """``create``; an int ``console_socket`` is an inherited socket's number (the CLI
        document's dialect), anything else a socket path (runc's)."""
        args = ["create"]
        if bundle is not None:
            args += ["--bundle", str(bundle)]
        if console_socket is not None:
            args += ["--console-socket", str(console_socket)]
            if isinstance(console_socket, int):
                pass_fds = (*pass_fds, console_socket)
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        if container_id is not None:
            args.append(container_id)
        return self.call(*args, fds=fds, cwd=cwd, env=env, pass_fds=pass_fds)

    def start(self, container_id: str) -> Call:
        return self.call("start", container_id)

    def state(self, container_id: str) -> Call:
        return self.call("state", container_id)

    def kill(self, container_id: str, sig: str | None = "TERM") -> Call:
        """``kill`` in the profile's dialect; ``sig=None`` leaves the signal to the runtime's default."""
        return self.call(*self.kill_args(container_id, sig))

    def kill_args(self, container_id: str, sig: str | None) -> tuple[str, ...]:
        """The arguments of ``kill`` in the profile's dialect (also for calls made by hand)."""
        if sig is None:
            return ("kill", container_id)
        if self.kill_signal == "option":
            return ("kill", "--signal", sig, container_id)
        return ("kill", container_id, sig)

    def delete(self, container_id: str, *, force: bool = False) -> Call:
        return self.call("delete", *(["--force"] if force else []), container_id)


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

    def new_runtime(self, timeout: float, calls: list[Call] | None = None) -> "Runtime":
        """A Runtime speaking this runtime's dialect, recording into ``calls``."""
        return Runtime(self.path, list(self.args), timeout, [] if calls is None else calls,
                       kill_signal=self.profile.kill_signal, console_socket=self.profile.console_socket)

    @property
    def oci_version(self) -> str:
        """The ociVersion to write into configs: the newest the runtime declares it supports.

        Some runtimes refuse versions they do not know (crun 1.8.1 refuses 1.2.0 and 1.3.0).
        """
        if self.features and self.features.get("ociVersionMax"):
            return str(self.features["ociVersionMax"])
        return self.spec_version or "1.0.2"

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
        }


def inspect_runtime(path: str, args: list[str], timeout: float = 10.0, profile: str | None = None) -> RuntimeInfo:
    """Ask the runtime for ``--version`` and ``features`` (either may be missing).

    ``profile`` names the dialect; without it, it is guessed from the binary's name and
    ``--version``. The profile's global options come before the user's ``args``.
    """
    version_call = run_command([path, *args, "--version"], timeout=timeout)
    first_line = (version_call.stdout.strip().splitlines() or [""])[0]
    chosen = load_profile(profile) if profile else guess_profile(path, first_line)
    args = chosen.runtime_args(list(args))
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
                       profile=chosen, features_problem=problem)


def resolve_runtime(name: str) -> str | None:
    """An absolute path for ``name`` (a path, or a command looked up on PATH), or None."""
    import shutil

    if os.sep in name:
        p = Path(name).resolve()
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    found = shutil.which(name)
    return str(Path(found).resolve()) if found else None

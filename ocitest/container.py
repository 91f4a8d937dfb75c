"""One container as a suite test sees it: its bundle, the runtime calls on it, the caller's ends.

Each method is one lifecycle operation. ``check=True`` (the default) turns a failing call into
a Violation naming the call; tests of error paths pass ``check=False`` and look at the Call.
Whatever happens in the test, ``remove()`` (run at teardown) kills, waits, deletes, verifies
that the runtime no longer knows the container, and then takes away the cgroups a runtime left:
those named after the container and those its bundle asked for (``Bundle.use_cgroups_path``).
Running after the test body, it cannot hide from a check that the runtime's own delete left one.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import os
import signal
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import pytest

from .bundle import Bundle
from .caller import ConsoleFd, ConsoleSocket, ExitStatus, ProcessWatch, Stdio, reap_exited, reap_strays
from .errors import HarnessError, RuntimeTimeout, Violation
from .events import Step, StepKind
from .execprocess import ExecProcess, process_file
from .host import container_cgroup_dirs, helpers_of, own_children, parent_of, process_alive, remove_cgroup_tree
from .interrupt import deferred_interrupts
from .lifecycle import NotJudged, Prerequisites
from .runtime import Call, Runtime, Wiring
from .view import ProgramView, view_of
from .waits import Deadline, ExitReaper, readable

_serial = itertools.count(1)
T = TypeVar("T")

#: File the harness creates in the exchange folder just before it invokes ``start``.
START_TOKEN = "start-invoked"


class BundleArg(enum.Enum):
    """``Container.create``'s ``--bundle`` when the test gives no other."""

    ABSOLUTE = "the bundle's absolute path"


def _either(given: int | None, default: int) -> int:
    return default if given is None else given


def new_container_id() -> str:
    """Unique per process and across xdist workers (each is its own process)."""
    return f"ocitest-{os.getpid()}-{next(_serial)}"


@dataclass
class Timeouts:
    runtime: float = 30.0  # one runtime call
    wait: float = 30.0  # the container's output or exit


class LiveContainers:
    """Containers that may still exist; the session removes leftovers on interrupt or exit."""

    def __init__(self) -> None:
        # Keyed by object, not ID: a duplicate-ID test has two objects with one ID.
        self._live: dict[int, Container] = {}

    def add(self, container: Container) -> None:
        self._live[id(container)] = container

    def discard(self, container: Container) -> None:
        self._live.pop(id(container), None)
        container.close_helpers()

    def settle_for(self, container_id: str) -> ExitReaper:
        """Before ``delete ID`` (``Runtime.before_delete``): reap what has exited, and say what to
        reap while delete runs.

        A runtime's delete may wait for its own helper processes to be gone (runsc waits for its
        sandbox and gofer, and fails after 5 s); under the harness, their subreaper, an exited helper
        stays a zombie until reaped, and a zombie is never gone. So first the exit status of every
        watched container process that exited is collected into its watch (never reaped behind its
        back), and every other exited child is reaped; then the returned reaper takes that
        container's process (into its watch) and the runtime's live processes of it as they exit.
        """
        keep = set()
        for container in self._live.values():
            watch = container.watch
            if watch is None or watch.fd is None or watch.status is not None:
                continue
            if watch.alive():
                keep.add(watch.pid)
            else:
                try:
                    watch.wait(0)
                except RuntimeTimeout:  # pragma: no cover - it exited, just checked
                    keep.add(watch.pid)
        zombies, live = own_children()
        reap_exited(zombies, keep)
        reaper = ExitReaper()
        for container in list(self._live.values()):
            if container.id != container_id:
                continue
            watch = container.watch
            if watch is not None and watch.fd is not None and watch.status is None:
                reaper.add(watch.fd, functools.partial(watch.wait, 0))
            for execd in container.execs:
                if execd.watch is not None and execd.watch.fd is not None and execd.watch.status is None:
                    reaper.add(execd.watch.fd, functools.partial(execd.watch.wait, 0))
            for fd in container.helper_fds:
                reaper.reap_on_exit(fd)
            for pid in helpers_of(container.id, str(container.bundle.path), live):
                if watch is None or pid != watch.pid:
                    reaper.add_pid(pid)
        return reaper

    def watched_pids(self) -> set[int]:
        """The pids a watch of a live container waits for: its process and its exec'd ones."""
        pids = set()
        for container in self._live.values():
            for watch in [container.watch, *(e.watch for e in container.execs)]:
                if watch is not None and watch.fd is not None and watch.status is None:
                    pids.add(watch.pid)
        return pids

    def remove_all(self) -> list[str]:
        """Remove every container still here, holding a further Ctrl-C off until done (interrupt.py).
        One whose removal breaks (a teardown cut short and taken up again) is reported, and the others
        are still removed."""
        problems = []
        with deferred_interrupts():
            for container in list(self._live.values()):
                try:
                    problems += container.remove()
                except Exception as exc:  # noqa: BLE001 - every other container must still go
                    problems.append(f"{container.id}: removal failed: {exc!r}")
                    self.discard(container)
        return problems

    def __len__(self) -> int:
        return len(self._live)


def _refused(operation: str, call: Call, *, check: bool, prerequisite: bool) -> None:
    """A refused operation: skip (a prerequisite of the check), fail (``check``), or let it be."""
    if prerequisite:
        pytest.skip(f"cannot judge this: {operation}, which the check needs, failed ({call.describe()}); "
                    f"that failure is judged by the runtime.md {operation} requirements")
    if check:
        raise Violation(f"{operation} failed: {call.describe()}")


def refusal(what: str, call: Call) -> str:
    """The skip reason for a runtime that refuses a field with an error (compliant, and not a pass)."""
    return (f"the runtime refuses {what} with an error, which runtime.md#runtimeCreate allows for a property "
            f"it cannot apply; nothing to judge ({call.describe()})")


class Container:
    def __init__(self, runtime: Runtime, bundle: Bundle, live: LiveContainers, timeouts: Timeouts,
                 container_id: str | None = None, prerequisites: Prerequisites | None = None) -> None:
        self.runtime = runtime
        #: What the preflight found broken: a check that needs it stops, not judged (lifecycle.py).
        self.prerequisites = prerequisites or Prerequisites()
        self.bundle = bundle
        self.live = live
        self.timeouts = timeouts
        self.id = new_container_id() if container_id is None else container_id
        self.stdio = Stdio()
        self.console: ConsoleSocket | ConsoleFd | None = None
        self.watch: ProcessWatch | None = None
        self.pid: int | None = None
        self.pid_file = bundle.path / "container.pid"
        self.pid_file_pid: int | None = None
        self.create_attempted = False
        #: create returned success, and no delete has since: only then is state of its ID meant to succeed.
        self.created = False
        self.deleted = False
        #: start returned success (the program is meant to run, or to have run).
        self.started = False
        #: pause returned success and no resume has since: teardown resumes first.
        self.paused = False
        #: Processes started with ``exec``; teardown ends and closes each.
        self.execs: list[ExecProcess] = []
        #: pidfds of the runtime's helpers of this container that create left behind (runsc's sandbox
        #: and gofer), taken while they run: what delete waits for, reaped while it runs (settle_for).
        self.helper_fds: list[int] = []
        self._view: ProgramView | None = None

    # -- lifecycle operations -------------------------------------------------------------

    def create(self, *, check: bool = True, console: bool = False, pid_file: bool = True, write_config: bool = True,
               bundle_arg: str | os.PathLike | None | BundleArg = BundleArg.ABSOLUTE,
               wiring: Wiring | None = None, options: tuple[str, ...] = ()) -> Call:
        """``create --bundle B [--console-socket S] [--pid-file P] [OPTIONS] ID`` with the caller's stdio.

        What the runtime printed lands in the container's pipes; it is taken from there right
        after ``create`` returns (the program has not run yet, so it is the runtime's) and put
        on the Call.

        ``bundle_arg`` is what follows ``--bundle`` (a relative path, run in ``wiring.cwd``);
        ``None`` leaves ``--bundle`` out (the runtime then takes ``wiring.cwd``). A stdio
        descriptor in ``wiring`` replaces the container's pipe (the caller keeps and closes it).
        """
        self.prerequisites.require("create")
        if write_config:
            self.bundle.write()
        console_arg: str | os.PathLike | int | None = None
        if console:
            if self.runtime.console_socket == "fd":
                self.console = ConsoleFd()
                console_arg = self.console.fd
            else:
                self.console = ConsoleSocket(self.bundle.path / "console.sock")
                console_arg = self.console.path
        self.live.add(self)
        self.create_attempted = True
        given = wiring or Wiring()
        stdin, stdout, stderr = self.stdio.child_fds()
        call = self.runtime.create(
            self.id,
            self.bundle.path if bundle_arg is BundleArg.ABSOLUTE else bundle_arg,
            console_socket=console_arg,
            pid_file=self.pid_file if pid_file else None,
            wiring=replace(given, stdin=_either(given.stdin, stdin), stdout=_either(given.stdout, stdout),
                           stderr=_either(given.stderr, stderr)),
            container_stdio=given.stdin is None,
            options=options,
        )
        if isinstance(self.console, ConsoleFd):
            self.console.runtime_done()
        self.stdio.close_child_ends()
        out, err = self.stdio.take()
        call.stdout, call.stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        call.note = "stdout/stderr: what the runtime left in the container's stdio pipes"
        self.created = call.ok
        if call.ok:
            self._watch_container_process()
            self._note_helpers()
        elif check:
            raise Violation(f"create failed: {call.describe()}")
        return call

    def start(self, *, check: bool = True) -> Call:
        self.prerequisites.require("start")
        token = self.bundle.exchange / START_TOKEN
        token.touch()
        self._step(StepKind.START_TOKEN, str(token))
        call = self.runtime.start(self.id)
        self.started = self.started or call.ok
        if check and not call.ok:
            raise Violation(f"start failed: {call.describe()}")
        return call

    def state_call(self) -> tuple[Call, dict | None]:
        """The raw ``state`` call and its JSON (None when it failed or printed no JSON object).

        After a delete, what state says shows whether the container is gone only if state fails
        for containers that do not exist; the preflight knows whether it does.
        """
        self.prerequisites.require("state")
        if self.deleted or not self.created:
            self.prerequisites.require("state-unknown")
        return self._state_call()

    def _state_call(self) -> tuple[Call, dict | None]:
        """``state_call`` for the harness's own use (pid, teardown): never stops the check."""
        call = self.runtime.state(self.id)
        if not call.ok:
            return call, None
        try:
            data = json.loads(call.stdout)
        except ValueError:
            return call, None
        return call, data if isinstance(data, dict) else None

    def state(self) -> dict:
        """The container's state; a failed call or output that is not a JSON object is a violation."""
        call, data = self.state_call()
        if not call.ok:
            raise Violation(f"state failed: {call.describe()}")
        if data is None:
            raise Violation(f"`{call.command()}` printed no JSON object: {call.stdout[:300]!r}")
        if self.watch is not None:
            alive = self.watch.alive()
            expected = "running" if alive and self.started else "stopped" if not alive else None
            if expected is not None and data.get("status") != expected:
                self.prerequisites.require("state-status")
        return data

    def status(self) -> str | None:
        return self.state().get("status")

    def kill(self, sig: str | None = "TERM", *, check: bool = True, prerequisite: bool = False) -> Call:
        """``kill``; see ``delete`` for ``prerequisite``."""
        self.prerequisites.require("kill-KILL" if sig == "KILL" else "kill")
        call = self.runtime.kill(self.id, sig)
        if not call.ok:
            _refused("kill", call, check=check, prerequisite=prerequisite)
        return call

    def delete(self, *, check: bool = True, force: bool = False, prerequisite: bool = False) -> Call:
        """``delete``. With ``prerequisite`` the check needs delete to work but is not about
        delete: a failed delete then skips the check instead of failing it, because the
        failure belongs to the delete requirements (judged by their own tests), not to this one."""
        self.prerequisites.require("delete")
        call = self.runtime.delete(self.id, force=force)
        self.deleted = self.deleted or call.ok
        if not call.ok:
            _refused("delete", call, check=check, prerequisite=prerequisite)
        return call

    # -- runc's further commands (the runc-compat suite) -------------------------------------

    def process_spec(self, args: list[str], **changes: object) -> dict:
        """A process for ``exec``: the bundle's own ``process`` with ``args`` and ``changes``, checked
        against the runtime-spec schema as config.json is (an invalid one is ocitest's bug)."""
        process = json.loads(json.dumps(self.bundle.config.get("process", {})))
        process.update(changes, args=list(args))
        problems = self.bundle.schemas.config_errors({**self.bundle.config, "process": process})
        if problems:
            raise HarnessError("ocitest generated an exec process that the runtime-spec schema rejects: "
                               + "; ".join(problems[:5]))
        return process

    def exec(self, process: dict, *, detach: bool = True, console: bool = False, pidfd_socket: str | None = None,
             options: tuple[str, ...] = (), at: tuple[tuple[int, int], ...] = (), check: bool = True) -> ExecProcess:
        """``exec --process FILE [OPTIONS] [--console-socket S] [--detach --pid-file P] ID`` with pipes of
        the caller's as stdio (execprocess.py), and ``at`` descriptors at their numbers (``Wiring.at``);
        a failed call is a violation unless ``check=False``."""
        self.prerequisites.require("exec")
        serial = len(self.execs) + 1
        spec = process_file(self.bundle.path, f"exec-{serial}")
        spec.write_text(json.dumps(process, indent=2))
        pid_file = self.bundle.path / f"exec-{serial}.pid"
        socket_path = None
        console_socket = None
        if console:
            console_socket = ConsoleSocket(self.bundle.path / f"exec-{serial}.sock")
            socket_path = console_socket.path
        stdio = Stdio()
        process_end = ExecProcess(stdio, pid_file, self._bounded, console=console_socket)
        self.execs.append(process_end)
        stdin, stdout, stderr = stdio.child_fds()
        try:
            call = self.runtime.exec(self.id, process_file=spec, console_socket=socket_path, pidfd_socket=pidfd_socket,
                                     options=options, detach=detach, pid_file=pid_file if detach else None,
                                     wiring=Wiring(stdin=stdin, stdout=stdout, stderr=stderr, at=at),
                                     timeout=None if detach else self.timeouts.wait)
        finally:
            stdio.close_child_ends()
        out, err = stdio.take()
        if detach:
            call.stdout, call.stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
            call.note = "stdout/stderr: what the runtime left in the exec'd process's stdio pipes"
        process_end.call = call
        if call.ok and detach:
            process_end.watch_pid_file()
        if check and not call.ok:
            raise Violation(f"exec failed: {call.describe()}")
        return process_end

    def run(self, *, detach: bool = False, check: bool = True) -> Call:
        """``run --bundle B [--pid-file P --detach] ID`` with the caller's stdio: create and start in one
        call. In the foreground the call lasts until the program ends (bounded by the wait limit)."""
        self.prerequisites.require("create")
        self.bundle.write()
        self.live.add(self)
        self.create_attempted = True
        stdin, stdout, stderr = self.stdio.child_fds()
        call = self.runtime.run(self.id, self.bundle.path, detach=detach, pid_file=self.pid_file if detach else None,
                                wiring=Wiring(stdin=stdin, stdout=stdout, stderr=stderr),
                                timeout=None if detach else self.timeouts.wait)
        self.stdio.close_child_ends()
        self.created = self.started = call.ok
        if call.ok and detach:
            self._watch_container_process()
        if check and not call.ok:
            raise Violation(f"run failed: {call.describe()}")
        return call

    def checkpoint(self, image: Path, work: Path) -> Call:
        """``checkpoint`` into ``image`` (a folder in the bundle, removed with it); the program stops."""
        image.mkdir(exist_ok=True)
        work.mkdir(exist_ok=True)
        return self.runtime.checkpoint(self.id, image, work)

    def restore(self, image: Path, work: Path) -> Call:
        """``restore --detach`` from ``image`` with new stdio pipes of the caller's (as an engine restores
        into new pipes); the restored program is watched as the container process."""
        if self.watch is not None:
            self.watch.close()
            self.watch = None
        self.stdio.close()
        self.stdio = Stdio()
        stdin, stdout, stderr = self.stdio.child_fds()
        self.pid_file.unlink(missing_ok=True)
        self.live.add(self)
        call = self.runtime.restore(self.id, self.bundle.path, image, work, pid_file=self.pid_file,
                                    wiring=Wiring(stdin=stdin, stdout=stdout, stderr=stderr))
        self.stdio.close_child_ends()
        self.created = self.started = call.ok
        self.deleted = self.deleted and not call.ok
        if call.ok:
            self._watch_container_process()
        return call

    def pause(self, *, check: bool = True) -> Call:
        self.prerequisites.require("pause")
        call = self.runtime.pause(self.id)
        self.paused = self.paused or call.ok
        if check and not call.ok:
            raise Violation(f"pause failed: {call.describe()}")
        return call

    def resume(self, *, check: bool = True) -> Call:
        call = self.runtime.resume(self.id)
        self.paused = self.paused and not call.ok
        if check and not call.ok:
            raise Violation(f"resume failed: {call.describe()}")
        return call

    def update(self, resources: dict | None = None, options: tuple[str, ...] = (), *, check: bool = True) -> Call:
        """``update --resources=- ID`` with ``resources`` on stdin, or ``update OPTIONS ID``."""
        call = self.runtime.update(self.id, resources, options)
        if check and not call.ok:
            raise Violation(f"update failed: {call.describe()}")
        return call

    def ps(self) -> list[int]:
        """``ps --format json ID``: the pids it lists; a failed call or other output is a violation."""
        call = self.runtime.ps_json(self.id)
        if not call.ok:
            raise Violation(f"ps failed: {call.describe()}")
        try:
            pids = json.loads(call.stdout)
        except ValueError:
            pids = None
        if not isinstance(pids, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in pids):
            raise Violation(f"`{call.command()}` printed no JSON array of pids: {call.stdout[:300]!r}")
        return pids

    # -- the caller's view ----------------------------------------------------------------

    @property
    def view(self) -> ProgramView:
        """The program as the checks see it: from the host, or (a sandboxed runtime) from inside (view.py)."""
        if self._view is None:
            self._view = view_of(self)
        return self._view

    def read_pid_file(self) -> int | None:
        """The pid the runtime wrote to ``--pid-file`` (None when missing or not a number)."""
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _note_helpers(self) -> None:
        """Keep a pidfd of each helper process create left behind for this container.

        Found now, while they run: a helper that exits around a later delete (runsc's gofer, right
        after its sandbox) may be a zombie by then, whose command line can no longer be read, and an
        unreaped zombie is one a runtime's delete waits for (runsc: 5 s, then it fails)."""
        _, live = own_children()
        for pid in helpers_of(self.id, str(self.bundle.path), live):
            if pid == self.pid:
                continue
            try:
                self.helper_fds.append(os.pidfd_open(pid))
            except OSError:
                pass  # gone already: reaped as a zombie before delete

    def close_helpers(self) -> None:
        for fd in self.helper_fds:
            os.close(fd)
        self.helper_fds = []

    def _watch_container_process(self) -> None:
        """Open a pidfd on the container process.

        The pid file is taken when it names a child of ours (the process create left behind is
        re-parented to us, the subreaper): nothing else could have put that pid there, and it
        saves a ``state`` call on every create. Otherwise (no pid file, or a runtime whose
        container process lives under a daemon of its own) the pid comes from ``state``.
        """
        self.pid_file_pid = self.read_pid_file()
        pid = None
        if self.pid_file_pid is not None and parent_of(self.pid_file_pid) == os.getpid():
            pid = self.pid_file_pid
        else:
            call, data = self._state_call()
            if data and isinstance(data.get("pid"), int) and data["pid"] > 0:
                pid = data["pid"]
            else:
                pid = self.pid_file_pid
        if pid is None:
            return
        self.pid = pid
        try:
            self.watch = ProcessWatch(pid)
        except ProcessLookupError:
            self.watch = None

    def alive(self) -> bool:
        """Whether the container process is still running (its pidfd, else /proc)."""
        if self.watch is not None:
            return self.watch.alive()
        return process_alive(self.pid) if self.pid else False

    def wait_exit(self, timeout: float | None = None) -> ExitStatus | None:
        """Wait for the container process to exit; its status, or None if it is not our child."""
        self._step(StepKind.WAIT_EXIT)
        self.prerequisites.require("exit")
        if self.watch is None:
            raise Violation("no container process to wait for (state gave no live pid)")
        return self._bounded("exit", timeout, self._wait_process)

    def _wait_process(self, limit: float, *, strays: Collection[int] = ()) -> ExitStatus | None:
        """Wait for the container process's exit, reaping exec'd processes (and ``strays``, children of
        the caller nobody watches) as they exit meanwhile.

        The init of a PID namespace is only gone once every other process of it is reaped; an exec'd
        process belongs to the caller (the subreaper), so it has to be reaped while init is awaited.
        So does one whose exec call was cut short (Ctrl-C) before it named it: teardown passes those.
        """
        watch = self.watch
        assert watch is not None
        deadline = Deadline(limit)
        reaper = ExitReaper()
        try:
            for execd in self.execs:
                if execd.watch is not None and execd.watch.fd is not None and execd.watch.status is None:
                    reaper.add(execd.watch.fd, functools.partial(execd.watch.wait, 0, "the exec'd process"))
            for pid in strays:
                reaper.add_pid(pid)
            while True:
                if not reaper.fds() or not watch.alive():
                    return watch.wait(deadline.remaining())
                ready = readable([watch._pidfd(), *reaper.fds()], deadline.remaining())
                if not ready:
                    raise RuntimeTimeout(f"the container process (pid {watch.pid}) did not exit within {limit:g} s")
                for fd in ready:
                    reaper.exited(fd)  # not the container's own pidfd: that one has no handler
        finally:
            reaper.close()

    def read_until(self, marker: str, timeout: float | None = None) -> str:
        """Wait until the container printed ``marker`` on stdout; all of stdout so far."""
        self._step(StepKind.WAIT_OUTPUT, marker)
        data = self._bounded("output", timeout, lambda limit: self.stdio.read_until(marker.encode(), limit))
        return data.decode("utf-8", "replace")

    def output(self, timeout: float | None = None) -> str:
        """All of stdout once the container closed it."""
        self._step(StepKind.WAIT_EOF)
        out, _ = self._bounded("eof", timeout, lambda limit: self.stdio.read_to_eof(limit))
        return out.decode("utf-8", "replace")

    def _bounded(self, what: str, timeout: float | None, wait: Callable[[float], T]) -> T:
        """Run ``wait(limit)``: the test's own ``timeout``, else the run's wait limit, cut short
        (stalls.py) when this kind of wait, after this kind of call, keeps timing out: output that
        never comes after kill is not output that never comes after start."""
        stalls = self.runtime.stalls
        if timeout is not None or stalls is None:
            return wait(self.timeouts.wait if timeout is None else timeout)
        what = f"{what} after {self.runtime.last_operation or 'no call'}"
        limit, cut_short = stalls.limit(what, self.timeouts.wait, "wait")
        try:
            result = wait(limit)
        except RuntimeTimeout as exc:
            stalls.timed_out(what, self.timeouts.wait, cut_short, str(exc))
            raise
        stalls.succeeded(what)
        return result

    def attempt(self) -> Call:
        """For a config the runtime must refuse, at create or at start: the call that failed, or
        start's call when nothing did (the program's exit is awaited then)."""
        call = self.create(check=False)
        if call.ok:
            call = self.start(check=False)
            if call.ok and self.watch is not None:
                self.wait_exit()
        return call

    def launch(self, ready: str = "ocitest:ready", *, wiring: Wiring | None = None) -> Container:
        """create and start a ``probe.waiting`` program, and wait until it says it is ready
        (``wiring``: what create's call gets besides the container's stdio, as for ``create``)."""
        self.create(wiring=wiring)
        self.start()
        self.read_until(ready)
        return self

    def create_unless_refused(self, what: str) -> Call:
        """``create`` for a config with a field the runtime may not implement (``what`` names it).

        runtime.md#runtimeCreate: a property the runtime cannot apply MUST make it generate an error
        (and no container). So a refusal is compliant: the check is skipped, naming the runtime's
        error. A runtime that takes the config has to apply the field, which the check then judges;
        silently ignoring it is the failure. Whether ``features`` claims the field changes nothing.
        """
        call = self.create(check=False)
        if not call.ok:
            pytest.skip(refusal(what, call))
        return call

    def launch_unless_refused(self, what: str, ready: str = "ocitest:ready") -> Container:
        """``launch`` for a config with a field the runtime may not implement (see ``create_unless_refused``).

        A ``process`` field may be applied by ``start`` (runtime.md#runtimeCreate: the remaining
        process properties MAY be applied by create), so a refusal by ``start`` is one too.
        """
        self.create_unless_refused(what)
        call = self.start(check=False)
        if not call.ok:
            pytest.skip(refusal(what, call))
        self.read_until(ready)
        return self

    def finish(self) -> ExitStatus | None:
        """End a program that waits on stdin (``probe.waiting``): close stdin, wait for the exit."""
        self.stdio.close_stdin()
        self._step(StepKind.CLOSE_STDIN)
        return self.wait_exit()

    def run_to_exit(self, *, wiring: Wiring | None = None) -> tuple[ExitStatus | None, str]:
        """create, start, wait for exit; the status and everything the program printed."""
        self.create(wiring=wiring)
        self.start()
        status = self.wait_exit()
        return status, self.output()

    def _step(self, kind: StepKind, detail: str = "") -> None:
        """Record a step of the harness in the test's record, for the reproducer to replay."""
        self.runtime.record(Step(kind, self.id, str(self.bundle.path), detail))

    def exchange_file(self, name: str) -> Path:
        return self.bundle.exchange / name

    # -- teardown -------------------------------------------------------------------------

    def _end_with_kill(self) -> list[str]:
        """kill KILL and wait for the exit, unless the preflight found that kill KILL ends nothing."""
        if not self.prerequisites.works("kill-KILL") or self.prerequisites.hangs("kill"):
            return []
        killed = self.runtime.kill(self.id, "KILL")
        # A refused kill (runsc cannot signal a `created` container) is not waited for: delete,
        # or delete --force, ends the container instead.
        if self.watch is not None and killed.ok:
            # Children of the caller nobody watches (an exec'd process whose call was cut short) are
            # reaped as they exit, or the container's init would wait for them.
            zombies, children = own_children()
            keep = self.live.watched_pids()
            reap_exited(zombies, keep)
            try:
                self._wait_process(self.timeouts.wait, strays=[pid for pid in children if pid not in keep])
            except RuntimeTimeout as exc:
                return [f"{self.id}: {exc} after kill KILL"]
        return []

    def _end_ourselves(self) -> None:
        """Last resort, after the runtime's delete: a container process still alive is killed through
        its pidfd, so that a runtime whose kill or delete does nothing leaves no process behind."""
        if self.watch is None or self.watch.fd is None or not self.watch.alive():
            return
        try:
            signal.pidfd_send_signal(self.watch.fd, signal.SIGKILL)
            self.watch.wait(5.0)
        except (OSError, RuntimeTimeout):
            pass

    def remove(self) -> list[str]:
        """Force-remove the container whatever state it is in; returns what could not be done."""
        problems: list[str] = []
        self.stdio.close_stdin()
        works, hangs = self.prerequisites.works, self.prerequisites.hangs
        try:
            for process in self.execs:
                if process.watch is None and process.pid_file.exists():
                    process.watch_pid_file()  # started by an exec call cut short: reaped while init is awaited
            if self.paused:
                # A frozen process takes no signal until thawed (cgroup v1): resume before the kill.
                self.runtime.resume(self.id)
            if hangs("delete"):
                pass  # every delete would hang too: the processes are ended below, the runtime's records stay
            elif self.create_attempted or works("state-unknown"):
                known, status = self.create_attempted, None
                if self.created and not self.deleted and self.watch is not None and self.watch.fd is not None:
                    # The pidfd tells whether the process still runs: no state call needed (a
                    # runtime's state can be slow, and teardown runs after every test).
                    status = "running" if self.watch.alive() else "stopped"
                elif works("state") and not hangs("state"):
                    call, data = self._state_call()
                    known, status = call.ok, (data or {}).get("status")
                if known:
                    if status != "stopped":
                        problems += self._end_with_kill()
                    # Teardown is not a check: --force first, plain delete for a runtime without it.
                    if not self.runtime.delete(self.id, force=True).ok:
                        self.runtime.delete(self.id)
                    # Only a state that fails for unknown containers, after a delete that works,
                    # tells that the container is gone; else what the preflight found says why not.
                    if works("state") and works("state-unknown") and works("delete"):
                        after, _ = self._state_call()
                        if after.ok:
                            problems.append(f"{self.id}: the runtime still knows the container after delete "
                                            f"({after.describe()})")
                elif self.create_attempted:
                    # Unknown to state, yet a create cut short (timeout, Ctrl-C) can leave state behind
                    # that only delete --force clears (runc: an empty folder under its root).
                    self.runtime.delete(self.id, force=True)
        except (RuntimeTimeout, NotJudged) as exc:
            problems.append(f"{self.id}: cleanup call hung: {exc}")
        if not (works("delete") and works("kill-KILL")):
            problems = []  # the preflight's finding already says why teardown cannot do its part
        self._end_ourselves()
        for process in self.execs:
            process.close()
            problems += process.problems
        self.execs = []
        if self.watch is not None and self.watch.fd is not None:
            if self.watch.status is None and not self.watch.alive():
                try:
                    self.watch.wait(0)
                except RuntimeTimeout:  # pragma: no cover - it exited, just checked
                    pass
            self.watch.close()
        self.stdio.close()
        if self.console is not None:
            self.console.close()
        reap_strays()
        # Some runtimes (runsc) leave a cgroup named after the container in every hierarchy even
        # after delete, a create cut short (timeout, Ctrl-C) leaves cgroups the runtime no longer
        # knows, and a runtime may keep what a cgroupsPath the bundle asked for named: at the root,
        # or under our own cgroup (where a relative path starts). rmdir only removes empty ones,
        # so nothing live is touched.
        for name in sorted({self.id, *self.bundle.own_cgroup_names()} - {""}):
            for directory in container_cgroup_dirs(name):
                remove_cgroup_tree(directory)
        self.live.discard(self)
        return problems

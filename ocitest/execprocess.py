"""The caller's end of a process started with ``exec``: its stdio, its pid, its exit.

An engine execs the way containerd's shim does: ``exec --process FILE --detach --pid-file P ID``
with pipes of its own as stdio. The runtime returns while the program runs; the program, re-parented
to the caller (a child subreaper), is watched through a pidfd on the pid the pid file names, and
its exit status is read from that pidfd. Without ``--detach`` the runtime itself stays until the
program ends, and its exit status is the program's (runc-exec(8), EXIT STATUS).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .caller import ConsoleSocket, ExitStatus, ProcessWatch, Stdio
from .errors import RuntimeTimeout, Violation
from .runtime import Call

T = TypeVar("T")

#: Runs a wait with the container's bounded limits (``Container._bounded``): (what, timeout, wait).
Bounded = Callable[[str, "float | None", Callable[[float], T]], T]


@dataclass
class ExecProcess:
    """One exec'd process as the caller holds it; ``close()`` leaves nothing running or open."""

    stdio: Stdio
    pid_file: Path
    bounded: Bounded
    #: The exec call; None while it runs (the process is tracked from before the call, so that an
    #: interrupted call's program is still found through the pid file and ended).
    call: Call | None = None
    console: ConsoleSocket | None = None
    pid: int | None = None
    watch: ProcessWatch | None = None
    problems: list[str] = field(default_factory=list)

    def watch_pid_file(self) -> None:
        """Open a pidfd on the pid the runtime wrote to the pid file (not when it wrote none)."""
        try:
            self.pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            self.pid = None
            return
        try:
            self.watch = ProcessWatch(self.pid)
        except ProcessLookupError:
            self.watch = None

    def wait_exit(self, timeout: float | None = None) -> ExitStatus | None:
        """The exec'd program's exit status (None: the pid is not the caller's child to reap)."""
        if self.watch is None:
            how = self.call.describe() if self.call is not None else "the exec call did not return"
            raise Violation(f"no exec'd process to wait for: the pid file {self.pid_file} named no live process "
                            f"({how})")
        watch = self.watch
        return self.bounded("exit", timeout, lambda limit: watch.wait(limit, "the exec'd process"))

    def read_until(self, marker: str, timeout: float | None = None) -> str:
        data = self.bounded("output", timeout, lambda limit: self.stdio.read_until(marker.encode(), limit))
        return data.decode("utf-8", "replace")

    def output(self, timeout: float | None = None) -> str:
        """All of stdout once the process (and whatever holds its stdio) closed it."""
        out, _ = self.bounded("eof", timeout, lambda limit: self.stdio.read_to_eof(limit))
        return out.decode("utf-8", "replace")

    def finish(self) -> ExitStatus | None:
        """End a program that waits on stdin (``probe.waiting``): close stdin, wait for the exit."""
        self.stdio.close_stdin()
        return self.wait_exit()

    def alive(self) -> bool:
        return self.watch is not None and self.watch.fd is not None and self.watch.alive()

    def close(self) -> None:
        """Kill the process if it still runs (its pidfd: never a reused pid), reap it, close every end."""
        if self.watch is None and self.pid_file.exists():
            self.watch_pid_file()  # an exec cut short (Ctrl-C, a timeout) may still have started it
        watch = self.watch
        if watch is not None and watch.fd is not None:
            if watch.alive():
                try:
                    signal.pidfd_send_signal(watch.fd, signal.SIGKILL)
                    watch.wait(5.0, "the exec'd process")
                except (OSError, RuntimeTimeout) as exc:
                    self.problems.append(f"exec'd pid {watch.pid} could not be ended: {exc}")
            elif watch.status is None:
                try:
                    watch.wait(0, "the exec'd process")
                except RuntimeTimeout:  # pragma: no cover - it exited, just checked
                    pass
            watch.close()
        self.stdio.close()
        if self.console is not None:
            self.console.close()


def process_file(folder: Path, name: str) -> Path:
    """Where an exec's process FILE goes: in the bundle folder, so a kept reproducer has it."""
    return folder / f"{name}.json"

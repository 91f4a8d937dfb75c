"""``ocitest run`` in the background, watched as it goes: for the tests that interrupt a run or look for
what it left behind. The run gets its own session and its own TMPDIR; its pytest pids are collected
while it runs (xdist workers included), because they are what its container IDs carry.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class LiveRun:
    proc: subprocess.Popen
    tmpdir: Path
    report_path: Path
    output: str = ""
    pids: set[int] = field(default_factory=set)
    eof: bool = False
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, tmp_path: Path, *args: str) -> "LiveRun":
        tmpdir = tmp_path / "tmp"
        tmpdir.mkdir()
        report = tmp_path / "report.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ocitest.cli", "run", *args, "--json", str(report)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(tmpdir)}, start_new_session=True,
        )
        os.set_blocking(proc.stdout.fileno(), False)
        run = cls(proc, tmpdir, report)
        run.pids.add(proc.pid)
        return run

    def _note_pids(self) -> None:
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                if "python" in (child.name() or ""):
                    self.pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass

    def read_until(self, predicate, timeout: float) -> bool:
        """Read output as it comes until ``predicate(output)`` holds (True), the output ends or ``timeout`` (False)."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not predicate(self.output):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.eof:
                    return False
                if sel.select(remaining):
                    chunk = self.proc.stdout.read()
                    if chunk == b"":
                        self.eof = True
                    elif chunk:
                        self.output += chunk.decode("utf-8", "replace")
                self._note_pids()
        return True

    def signal(self, signum: int, *, group: bool) -> None:
        """Like Ctrl-C on a terminal (the whole process group) or like `kill PID` (the main process only)."""
        self._note_pids()
        if group:
            os.killpg(self.proc.pid, signum)
        else:
            self.proc.send_signal(signum)

    def finish(self, timeout: float) -> int:
        """Wait for the end, reading everything; a run still there after ``timeout`` is a failure."""
        self.read_until(lambda _: False, timeout)
        try:
            return self.proc.wait(timeout=5 if self.eof else 0.1)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"the run did not end within {timeout:g} s; it printed:\n{self.output[-4000:]}") from None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def report(self) -> dict | None:
        return json.loads(self.report_path.read_text()) if self.report_path.exists() else None

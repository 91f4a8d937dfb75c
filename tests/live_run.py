"""``ocitest run`` in a subprocess, watched as it goes: every harness test that runs ocitest does it
through here (``conftest.run_ocitest`` for a run to its end). The run gets its own session; with
``private_tmp`` also its own TMPDIR, for the tests that look for what it left behind. Its pytest pids
are collected while it runs (xdist workers included), because they are what its container IDs carry.
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
import pytest

#: What the harness's own runs judge, unless a test asks for the default (``judge_all=False``): the newest
#: release, with the command-line document counted. The misbehaving runtimes wrap runc, which declares
#: 1.0.2, and each must turn the run red on its requirement whichever release or document that comes from.
JUDGE_ALL = ("--spec-version", "1.3.0", "--judge-cli", "--judge-runc-compat")


@dataclass
class LiveRun:
    proc: subprocess.Popen
    tmpdir: Path
    report_path: Path
    output: str = ""
    pids: set[int] = field(default_factory=set)
    eof: bool = False

    @classmethod
    def start(cls, tmp_path: Path, *args: str, env: dict[str, str] | None = None,
              private_tmp: bool = True, judge_all: bool = True, sigint_ignored: bool = False) -> LiveRun:
        """Start ``ocitest run ARGS --json tmp_path/report.json``; ``env`` is added to the environment.

        ``judge_all``: ``JUDGE_ALL`` goes first (a test's own ``--spec-version`` later wins); without
        it the run judges what a user's run judges by default.

        ``private_tmp``: TMPDIR is a fresh folder under ``tmp_path`` (then also where bundles go,
        instead of a tmpfs: slower, but everything the run makes is in one known place).

        ``sigint_ignored``: the run starts with SIGINT ignored, as a background job of a non-interactive
        shell does (its workers inherit that).
        """
        tmpdir = tmp_path / "tmp"
        if private_tmp:
            tmpdir.mkdir()
        report = tmp_path / "report.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ocitest.cli", "run", *(JUDGE_ALL if judge_all else ()), *args, "--json",
             str(report)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path,
            env={**os.environ, **(env or {}), **({"TMPDIR": str(tmpdir)} if private_tmp else {})},
            start_new_session=True,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
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
        """Wait for the end, reading everything. A run still there after ``timeout`` fails the test with
        what it printed, after a SIGTERM (ocitest then removes its containers) and, 120 s later, SIGKILL."""
        self.read_until(lambda _: False, timeout)
        try:
            return self.proc.wait(timeout=5 if self.eof else 0.1)
        except subprocess.TimeoutExpired:
            pass
        self.signal(signal.SIGTERM, group=False)
        self.read_until(lambda _: False, 120)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        pytest.fail(f"`ocitest run` did not end within {timeout:g} s; what it printed:\n{self.output[-6000:]}",
                    pytrace=False)

    def report(self) -> dict | None:
        return json.loads(self.report_path.read_text()) if self.report_path.exists() else None

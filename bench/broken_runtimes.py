#!/usr/bin/env python3
"""The whole suite against runtimes broken in the basics, beside runc (issue 13), by hand: not in CI.

    .venv/bin/python bench/broken_runtimes.py [--cap 150] [--only NAME ...] [--suite runtime] [--json OUT]

Run as root from the checkout. For runc and then each broken runtime (small runc wrappers in
tests/bad_runtimes/, each breaking one basic operation) it runs ``ocitest run --runtime R -n 2 --json
...`` with the default options and prints one row per runtime: wall time, its ratio to runc's, the
exit status, the verdict line, the runtime.md requirements turned red that runc does not fail, the
harness errors, and what the run left behind (``runc list`` ocitest-* containers, mounts with ocitest
in /proc/self/mountinfo, /sys/fs/cgroup/*/ocitest-* directories). What a run leaves is removed before
the next one (``runc delete --force``, umount, rmdir): some of these runtimes cannot delete.

Before issue 13's work some of these runs took hours, so ``--cap SECONDS`` stops a run after that long
(SIGINT to its process group first, so that ocitest cleans up and writes its report, then SIGTERM, then
SIGKILL); the row then says "stopped after N s". Nothing is asserted: these are figures for the README
and docs/results.md (issue 13's bound: each broken runtime within 3x runc's time, red on the right
runtime.md requirement, no harness error).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_runtimes"

#: The broken runtimes of issue 13, by wrapper name, with what each breaks.
WRAPPERS: dict[str, str] = {
    "start_does_nothing": "start exits 0 and does nothing",
    "start_hangs": "start never returns",
    "kill_does_nothing": "kill exits 0 and sends nothing (KILL included)",
    "delete_does_nothing": "delete exits 0 and the container stays",
    "state_unknown_succeeds": "state of an unknown ID prints a made-up state, exits 0",
    "state_always_created": "state always says created",
    "create_does_nothing": "create exits 0 and makes nothing",
    # Beyond issue 13's list: a basic operation that never returns.
    "state_hangs": "state never returns",
    "kill_hangs": "kill never returns",
    "delete_hangs": "delete never returns",
}

#: After SIGINT, how long ocitest gets to clean up and write its report before SIGTERM, then SIGKILL.
GRACE = (60.0, 10.0)


@dataclass
class Row:
    """One run's figures, as printed and as written by ``--json``."""

    runtime: str
    seconds: float
    status: int
    verdict: str
    stopped: bool = False
    ratio: float | None = None
    new_reds: list[str] = field(default_factory=list)
    errors: int | None = None
    left: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        wall = f"stopped after {self.seconds:.0f} s" if self.stopped else duration(self.seconds)
        ratio = "" if self.ratio is None else f"{'> ' if self.stopped else ''}{self.ratio:.1f}x"
        return [self.runtime, wall, ratio, str(self.status),
                self.verdict, ", ".join(self.new_reds) or "-", "?" if self.errors is None else str(self.errors),
                "; ".join(self.left) or "nothing"]


HEADER = ["runtime", "wall time", "ratio to runc", "exit", "verdict line", "runtime.md reds runc does not have",
          "harness errors", "left behind (removed)"]


def duration(seconds: float) -> str:
    """Seconds as the README writes them (``14 min 29 s``)."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def wrapper_path(name: str) -> Path:
    """Where a broken runtime lives: tests/bad_runtimes/, beside the misbehaving runtimes the tests use."""
    return BAD / name


def run_capped(argv: list[str], cap: float | None, log: Path) -> tuple[int, float, bool]:
    """Run ``argv`` in its own process group; (exit status, seconds, whether the cap stopped it)."""
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=ROOT, start_new_session=True)
        try:
            return proc.wait(timeout=cap), time.monotonic() - started, False
        except subprocess.TimeoutExpired:
            pass
        stopped_at = time.monotonic() - started
        for sig, grace in ((signal.SIGINT, GRACE[0]), (signal.SIGTERM, GRACE[1]), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        proc.wait()
        return proc.returncode, stopped_at, True


def leftovers() -> dict[str, list[str]]:
    """What ocitest runs leave on the host: runc containers, mounts, cgroup directories."""
    out = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=False).stdout.split()
    containers = [c for c in out if c.startswith("ocitest")]
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if "ocitest" in point:
            mounts.append(point)
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob("*/ocitest-*")]
    cgroups += [str(p) for p in Path("/sys/fs/cgroup").glob("ocitest-*")]
    return {"containers": containers, "mounts": mounts, "cgroups": cgroups}


def clean(left: dict[str, list[str]]) -> None:
    """Remove what :func:`leftovers` found, with the real runc (the wrapper may be unable to)."""
    for cid in left["containers"]:
        subprocess.run(["runc", "delete", "--force", cid], capture_output=True, check=False)
    for point in sorted(left["mounts"], key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    for cgroup in sorted(left["cgroups"], key=len, reverse=True):
        for sub in sorted(Path(cgroup).glob("**/"), key=lambda p: len(str(p)), reverse=True):
            try:
                sub.rmdir()
            except OSError:
                pass


def summarise(left: dict[str, list[str]]) -> list[str]:
    """Counts, not names: the names carry pids that mean nothing once the run is over."""
    return [f"{len(v)} {k}" for k, v in left.items() if v]


def verdict_line(log: Path) -> str:
    """The last line of ocitest's output that gives a verdict, else its last line (an error)."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r"ocitest: (RED|YELLOW|GREEN)\b", line):
            return line
    return lines[-1] if lines else ""


def failed_runtime_md(report: dict | None) -> set[str] | None:
    """The runtime.md requirements (ids ``runtime.*``) failed in a JSON report."""
    if report is None:
        return None
    return {r["id"] for r in report.get("requirements", [])
            if r["id"].startswith("runtime.") and r.get("outcome") == "fail"}


def harness_errors(report: dict | None) -> int | None:
    """Tests ocitest could not decide (outcome ``error``); None without a report (a preflight error)."""
    if report is None:
        return None
    return sum(1 for t in report.get("tests", []) if t.get("outcome") == "error")


def measure(name: str, runtime: str, args: argparse.Namespace, work: Path) -> tuple[Row, dict | None]:
    """One ``ocitest run`` against ``runtime``, its row and its JSON report (None when none was written)."""
    report_path = work / f"{name}.json"
    log = work / f"{name}.log"
    argv = [sys.executable, "-m", "ocitest.cli", "run", "--runtime", runtime, "-n", "2", "--json", str(report_path)]
    for suite in args.suite:
        argv += ["--suite", suite]
    status, seconds, stopped = run_capped(argv, args.cap, log)
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    left = leftovers()
    clean(left)
    row = Row(name, seconds, status, verdict_line(log), stopped, errors=harness_errors(report), left=summarise(left))
    return row, report


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The options; apart from :func:`main` so that tests/test_bench_broken.py can check them without a run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--cap", type=float, default=None, metavar="SECONDS",
                    help="stop each run after this long (SIGINT, then harder); default: no limit")
    ap.add_argument("--only", action="append", default=[], choices=sorted(WRAPPERS), metavar="NAME",
                    help="run only this broken runtime (repeatable); runc always runs first")
    ap.add_argument("--suite", action="append", default=[], help="passed to ocitest run (repeatable)")
    ap.add_argument("--json", metavar="OUT", help="write the table here as JSON")
    ap.add_argument("--keep", metavar="DIR", help="keep each run's log and JSON report here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    names = args.only or list(WRAPPERS)
    with tempfile.TemporaryDirectory(prefix="ocitest-bench-") as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        base, base_report = measure("runc", "runc", args, work)
        base_reds = failed_runtime_md(base_report) or set()
        rows = [base]
        print(" | ".join(base.cells()), flush=True)
        for name in names:
            row, report = measure(name, str(wrapper_path(name)), args, work)
            row.ratio = row.seconds / base.seconds
            reds = failed_runtime_md(report)
            row.new_reds = ["(no report)"] if reds is None else sorted(reds - base_reds)
            rows.append(row)
            print(" | ".join(row.cells()), flush=True)
    print()
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print("| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

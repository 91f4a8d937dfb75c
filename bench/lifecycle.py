#!/usr/bin/env python3
"""What ocitest costs on top of the runtime, measured by hand (not in CI): run as root from the checkout.

    .venv/bin/python bench/lifecycle.py --runtime runc --runtime crun [-n 50] [--no-suite]

For each runtime, in one run on one machine:

(a) raw: N lifecycles (create, start, wait for the program's exit, delete) of the same bundle,
    driven by a minimal shell loop. The shell cannot wait on a process it did not fork, so it
    retries `delete` until the runtime accepts it (the program, `true`, is gone within a few
    milliseconds of `start`; each retry is one more runtime exec, so this only flatters (a)).
(b) harness: the same N lifecycles of the same bundle through ocitest's runtime and caller layers:
    each call bounded by a timeout in its own session, caller-held stdio pipes, the pid file, a
    pidfd wait for the exit (the harness is the subreaper), and delete. Apart from the ratio, the
    cost of a fresh bundle (rootfs copy, config validated against the schema) is measured too:
    every check pays it once per container.
(c) suite: the whole compliance suite's wall time with 1 worker and with `-n auto`.

It prints, per runtime, the ms per lifecycle of (a) and (b), the ratio (b)/(a), the overhead in
ms, and the suite times. Nothing is asserted: these are figures for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ocitest.bundle import BundleFactory  # noqa: E402
from ocitest.caller import become_subreaper  # noqa: E402
from ocitest.container import Container, LiveContainers, Timeouts  # noqa: E402
from ocitest.environment import check_environment, scratch_base  # noqa: E402
from ocitest.rootfs import build_rootfs  # noqa: E402
from ocitest.runtime import inspect_runtime  # noqa: E402
from ocitest.schema import Schemas  # noqa: E402

RAW_LOOP = r"""
set -eu
runtime=$1; bundle=$2; n=$3; prefix=$4
i=0
while [ "$i" -lt "$n" ]; do
  id="$prefix-$i"
  "$runtime" create --bundle "$bundle" --pid-file "$bundle/container.pid" "$id" </dev/null >/dev/null 2>&1
  "$runtime" start "$id"
  until "$runtime" delete "$id" 2>/dev/null; do :; done
  i=$((i + 1))
done
"""


def raw(runtime: str, factory: BundleFactory, n: int) -> float:
    """Seconds for ``n`` lifecycles by the shell loop, on one bundle written once."""
    bundle = factory.new()
    bundle.set_args(["/bin/true"])
    bundle.write()
    started = time.monotonic()
    subprocess.run(["sh", "-c", RAW_LOOP, "sh", runtime, str(bundle.path), str(n), f"ocitest-bench-raw-{os.getpid()}"],
                   check=True, timeout=600)
    seconds = time.monotonic() - started
    BundleFactory.remove(bundle)
    return seconds


def harness(path: str, factory: BundleFactory, n: int) -> float:
    """Seconds for ``n`` lifecycles through ocitest's runtime and caller layers, on one bundle (as (a))."""
    info = inspect_runtime(path, [])
    live = LiveContainers()
    timeouts = Timeouts(30.0, 30.0)
    bundle = factory.new()
    bundle.set_args(["/bin/true"])
    bundle.write()
    started = time.monotonic()
    for _ in range(n):
        container = Container(info.new_runtime(timeouts.runtime), bundle, live, timeouts)
        container.create(write_config=False)
        container.start()
        container.wait_exit()
        container.delete()
        live.discard(container)
        container.watch.close()
        container.stdio.close()
    seconds = time.monotonic() - started
    BundleFactory.remove(bundle)
    return seconds


def bundles(factory: BundleFactory, n: int) -> float:
    """Seconds for ``n`` fresh bundles (rootfs copy, config validated and written, removed): what every
    check adds on top of its lifecycles, reported apart from the ratio."""
    started = time.monotonic()
    for _ in range(n):
        bundle = factory.new()
        bundle.write()
        BundleFactory.remove(bundle)
    return time.monotonic() - started


def suite(runtime: str, workers: str | None) -> tuple[float, str]:
    """Wall time of the whole compliance suite, and its verdict line (a run that broke is no figure)."""
    args = [sys.executable, "-m", "ocitest.cli", "run", "--runtime", runtime, "-q"]
    if workers:
        args += ["-n", workers]
    started = time.monotonic()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode not in (0, 1) or ", 0 errors" not in last:
        raise SystemExit(f"bench: the suite run against {runtime} did not complete cleanly "
                         f"(exit {done.returncode}): {last}")
    return seconds, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", action="append", help="runtime to measure (repeatable; default runc)")
    parser.add_argument("-n", type=int, default=50, help="lifecycles per measurement (default 50)")
    parser.add_argument("--no-suite", action="store_true", help="skip (c), the whole-suite timings")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/lifecycle.py: run as root (the rootful runtimes need it)", file=sys.stderr)
        return 2
    become_subreaper()
    results = []
    for name in args.runtime or ["runc"]:
        env = check_environment(name)
        workdir = Path(tempfile.mkdtemp(prefix="ocitest-bench-", dir=scratch_base()))
        try:
            info = inspect_runtime(env.runtime, [])
            factory = BundleFactory(workdir / "bundles", build_rootfs(workdir / "rootfs", env.busybox),
                                    Schemas(env.schema_dir), info.oci_version)
            raw(env.runtime, factory, 3)  # warm the page cache and the runtime binary
            harness(env.runtime, factory, 3)
            a = raw(env.runtime, factory, args.n)
            b = harness(env.runtime, factory, args.n)
            fresh = bundles(factory, args.n)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        row = {"runtime": name, "version": info.version, "n": args.n, "raw_ms": 1000 * a / args.n,
               "harness_ms": 1000 * b / args.n, "ratio": b / a, "overhead_ms": 1000 * (b - a) / args.n,
               "bundle_ms": 1000 * fresh / args.n, "scratch": scratch_base() or tempfile.gettempdir()}
        if not args.no_suite:
            row["suite_1_worker_s"], row["verdict"] = suite(name, None)
            row["suite_auto_workers_s"], _ = suite(name, "auto")
            row["cpus"] = os.cpu_count()
        results.append(row)
        print(f"{name} ({info.version}): raw {row['raw_ms']:.1f} ms/lifecycle, "
              f"ocitest {row['harness_ms']:.1f} ms/lifecycle, "
              f"ratio {row['ratio']:.2f}, overhead {row['overhead_ms']:+.1f} ms; "
              f"a fresh bundle {row['bundle_ms']:.1f} ms "
              f"(in {row['scratch']})"
              + ("" if args.no_suite else f"; suite: {row['suite_1_worker_s']:.0f} s with 1 worker, "
                                          f"{row['suite_auto_workers_s']:.0f} s with -n auto ({os.cpu_count()} CPUs)"),
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

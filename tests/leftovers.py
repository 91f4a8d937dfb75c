"""What a run of ocitest may have left on the host, found by the marks it leaves.

Every name ocitest gives carries the pid of the pytest process that made it: container IDs
(``ocitest-PID-N``), their cgroups and state folders, named network namespaces
(``ocitest-PID-N-netns``) and dummy links (``octPID%100000N``). Every file it makes lives under its
temp folder, which these tests point at a private ``TMPDIR``. So a leftover is anything, after
the run, that carries one of the run's pids or lives under its ``TMPDIR``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _marks(pids: set[int]) -> list[str]:
    return [f"ocitest-{pid}-" for pid in pids]


def _known_containers(runtime: str, marks: list[str], tmpdir: str) -> list[str]:
    out = subprocess.run([runtime, "list", "--format", "json"], capture_output=True, text=True, timeout=60)
    try:
        listed = json.loads(out.stdout or "[]") or []
    except ValueError:
        return [f"`{runtime} list` printed no JSON: {out.stdout[:200]!r} {out.stderr[:200]!r}"]
    found = [f"{c.get('id')} ({c.get('status')}, bundle {c.get('bundle')})" for c in listed
             if any(c.get("id", "").startswith(m) for m in marks) or str(c.get("bundle", "")).startswith(tmpdir)]
    # State the runtime half knows (a create cut short): runc names it on stderr, "load container ID: ...".
    found += [f"half-known: {line.strip()}" for line in out.stderr.splitlines() if any(m in line for m in marks)]
    return found


def _processes(pids: set[int], marks: list[str], tmpdir: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            root = os.readlink(entry / "root")
            cgroup = (entry / "cgroup").read_text()
            state = next((line for line in (entry / "status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:
            continue
        if "(zombie)" in state and int(entry.name) not in pids:
            continue
        if (int(entry.name) in pids or root.startswith(tmpdir) or tmpdir in cmdline
                or any(m in cmdline or m in cgroup for m in marks)):
            found.append(f"pid {entry.name} ({state.split(':', 1)[-1].strip()}): {cmdline[:200]}")
    return found


def _mounts(marks: list[str], tmpdir: str) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in lines if tmpdir in line or any(m in line for m in marks)]


def _cgroups(marks: list[str]) -> list[str]:
    found = []

    def walk(folder: Path, depth: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if any(m in entry.name for m in marks):
                    found.append(entry.path)
                elif depth > 0:
                    walk(Path(entry.path), depth - 1)

    walk(CGROUP_ROOT, 3)
    return found


def _network(pids: set[int], marks: list[str]) -> list[str]:
    found = []
    netns = Path("/run/netns")
    if netns.is_dir():
        found += [f"netns {p.name}" for p in netns.iterdir() if any(m in p.name for m in marks)]
    if shutil.which("ip"):
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=30).stdout
        prefixes = [f"oct{pid % 100000}" for pid in pids]
        for line in links.splitlines():
            name = line.split(":", 2)[1].strip().split("@")[0] if line.count(":") >= 2 else ""
            if any(name.startswith(p) for p in prefixes):
                found.append(f"link {name}")
    return found


def _files(tmpdir: str) -> list[str]:
    return [str(p) for p in Path(tmpdir).iterdir()] if os.path.isdir(tmpdir) else []


def find(runtime: str, pids: set[int], tmpdir: str | Path) -> dict[str, list[str]]:
    """Everything of the run (its pytest ``pids``, its ``tmpdir``) still on the host; empty lists when clean."""
    tmpdir = str(tmpdir).rstrip("/") + "/"
    marks = _marks(pids)
    return {
        "containers known to the runtime": _known_containers(runtime, marks, tmpdir),
        "processes": _processes(pids, marks, tmpdir),
        "mounts": _mounts(marks, tmpdir),
        "cgroups": _cgroups(marks),
        "network": _network(pids, marks),
        "temp files": _files(tmpdir),
    }


def assert_none(runtime: str, pids: set[int], tmpdir: str | Path, what: str) -> None:
    left = {kind: items for kind, items in find(runtime, pids, tmpdir).items() if items}
    assert not left, f"{what} left behind: {json.dumps(left, indent=1)[:4000]}"

"""Things a check makes on the host for its container: mounts, named namespaces, folders.

Each is a context manager that undoes itself. A test hands it to ``Bundle.hold``, which keeps
it until the bundle is removed, after the container is gone; so the test body states the
requirement and the clean-up cannot be forgotten, whatever the outcome.
"""

from __future__ import annotations

import dataclasses
import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .container import new_container_id
from .errors import HarnessError
from .host import Mount, mounts_of
from .runtime import Runtime

__all__ = ["run", "mount", "network_namespace", "persistent_namespace", "directory", "mount_namespace",
           "MountNamespace"]

_TIMEOUT = 30


def run(*argv: str) -> None:
    """A host command the check needs to succeed (a failure is an error of the check, not a verdict)."""
    subprocess.run(argv, check=True, capture_output=True, timeout=_TIMEOUT)


def _umount(target: Path, *flags: str) -> None:
    """umount; lazily when busy (something below it, or a process, still holds it)."""
    if subprocess.run(["umount", *flags, str(target)], capture_output=True, timeout=_TIMEOUT).returncode != 0:
        subprocess.run(["umount", *flags, "-l", str(target)], capture_output=True, timeout=_TIMEOUT)


@contextmanager
def mount(target: Path, *options: str, recursive: bool = False) -> Iterator[Path]:
    """``mount OPTIONS TARGET``; afterwards ``umount TARGET`` (``-R`` with ``recursive``: a shared
    mount also receives whatever a runtime mounted below it)."""
    run("mount", *options, str(target))
    try:
        yield target
    finally:
        _umount(target, *(["-R"] if recursive else []))


@contextmanager
def network_namespace() -> Iterator[Path]:
    """A named network namespace (``ip netns add``, kept alive by a file under /run/netns)."""
    name = f"{new_container_id()}-netns"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=_TIMEOUT)
    if made.returncode != 0:
        raise HarnessError(f"`ip netns add {name}` failed: {made.stderr.strip()}")
    try:
        yield Path(f"/run/netns/{name}")
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=_TIMEOUT)


#: ``unshare`` options that keep a namespace of each kind alive on a file.
_UNSHARE_FLAGS = {"ipc": "--ipc", "uts": "--uts", "cgroup": "--cgroup", "time": "--time"}


@contextmanager
def persistent_namespace(kind: str, folder: Path) -> Iterator[Path]:
    """A namespace of ``kind`` that no process holds, kept alive by a file: a named network
    namespace, or ``unshare --KIND=FILE`` in ``folder`` for the other kinds."""
    if kind == "network":
        with network_namespace() as path:
            yield path
        return
    path = folder / f"ns-{kind}"
    path.touch()
    flag = _UNSHARE_FLAGS[kind]
    made = subprocess.run(["unshare", f"{flag}={path}", "true"], capture_output=True, text=True, timeout=_TIMEOUT)
    try:
        if made.returncode != 0:
            raise HarnessError(f"`unshare {flag}={path} true` failed: {made.stderr.strip()}")
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, timeout=_TIMEOUT)
        path.unlink(missing_ok=True)


@contextmanager
def directory(path: Path) -> Iterator[Path]:
    """A directory made for the check (a resctrl group, say); removed afterwards if still there."""
    path.mkdir()
    try:
        yield path
    finally:
        if path.exists():
            path.rmdir()


@dataclass(frozen=True)
class MountNamespace:
    """A mount namespace of its own, held by a sleeping process ``pid``: the runtime's mount namespace
    for a check whose container shares it (``entered``), so whatever it mounts there never reaches
    the harness's own mount table, and is gone with the namespace."""

    pid: int

    def mounts(self) -> list[Mount]:
        """The namespace's mount table, as its holder sees it."""
        return mounts_of(self.pid)

    def entered(self, runtime: Runtime) -> Runtime:
        """``runtime`` with each call run inside the namespace (``nsenter -t PID -m -- RUNTIME ...``;
        nsenter enters a mount namespace without forking, so the runtime is still the harness's child)."""
        return dataclasses.replace(runtime, path="nsenter",
                                   global_args=["-t", str(self.pid), "-m", "--", runtime.path, *runtime.global_args])


@contextmanager
def mount_namespace() -> Iterator[MountNamespace]:
    """A private copy of the harness's mount namespace (``unshare -m --propagation private``: no mount
    event passes between the two), alive until the holder is killed afterwards."""
    script = "echo ready; exec sleep infinity"
    holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stderr is not None
        readable, _, _ = select.select([holder.stdout], [], [], _TIMEOUT)
        if not readable or holder.stdout.readline().strip() != b"ready":
            holder.kill()
            why = holder.stderr.read().decode().strip()
            raise HarnessError(f"`unshare -m --propagation private` did not make a mount namespace: {why}")
        yield MountNamespace(holder.pid)
    finally:
        holder.kill()
        holder.wait(_TIMEOUT)
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()

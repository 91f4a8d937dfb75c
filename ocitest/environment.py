"""What the host must provide before any container is made; each gap is one line saying what to do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem
from .rootfs import find_busybox
from .runtime import resolve_runtime
from .schema import locate_schema_dir


@dataclass(frozen=True)
class Environment:
    runtime: str
    busybox: Path
    schema_dir: Path
    #: The caller is an unprivileged user driving a rootless runtime (``--rootless``).
    rootless: bool = False


def check_environment(runtime: str | None, *, schema_dir: str | None = None, busybox: str | None = None,
                      rootless: bool = False) -> Environment:
    if not runtime:
        raise EnvironmentProblem("no runtime given: pass --runtime PATH (or set OCITEST_RUNTIME)")
    path = resolve_runtime(runtime)
    if path is None:
        raise EnvironmentProblem(f"runtime {runtime!r} was not found or is not executable: install it or pass its path")
    if not hasattr(os, "pidfd_open"):
        raise EnvironmentProblem("ocitest needs Linux 5.3+ and Python 3.9+ (os.pidfd_open)")
    if rootless:
        if os.geteuid() == 0:
            raise EnvironmentProblem("--rootless tests a runtime as an unprivileged caller: run it as a normal user, "
                                     "not root (e.g. su USER -c 'ocitest run --rootless ...')")
        _ensure_runtime_dir()
    elif os.geteuid() != 0:
        raise EnvironmentProblem("ocitest drives rootful runtimes and must run as root; as a normal user, "
                                 "pass --rootless to test the runtime's rootless mode")
    return Environment(runtime=path, busybox=find_busybox(busybox), schema_dir=locate_schema_dir(schema_dir),
                       rootless=rootless)


def _ensure_runtime_dir() -> None:
    """Rootless runtimes keep their state under $XDG_RUNTIME_DIR (runc: $XDG_RUNTIME_DIR/runc).

    A login through su or ssh without systemd-logind leaves it unset, and the runtime then
    falls back to /run/<name>, which a normal user cannot write. The harness gives the run a
    private one (inherited by xdist workers and every runtime call) and removes it at exit.
    """
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and os.access(current, os.W_OK | os.X_OK):
        return
    import atexit
    import shutil
    import tempfile

    made = tempfile.mkdtemp(prefix="ocitest-xdg-")
    os.environ["XDG_RUNTIME_DIR"] = made
    atexit.register(shutil.rmtree, made, True)

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


def check_environment(runtime: str | None, *, schema_dir: str | None = None, busybox: str | None = None) -> Environment:
    if not runtime:
        raise EnvironmentProblem("no runtime given: pass --runtime PATH (or set OCITEST_RUNTIME)")
    path = resolve_runtime(runtime)
    if path is None:
        raise EnvironmentProblem(f"runtime {runtime!r} was not found or is not executable: install it or pass its path")
    if not hasattr(os, "pidfd_open"):
        raise EnvironmentProblem("ocitest needs Linux 5.3+ and Python 3.9+ (os.pidfd_open)")
    if os.geteuid() != 0:
        raise EnvironmentProblem("ocitest drives rootful runtimes and must run as root (e.g. sudo ocitest run ...)")
    return Environment(runtime=path, busybox=find_busybox(busybox), schema_dir=locate_schema_dir(schema_dir))

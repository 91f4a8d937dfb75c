"""What the host must provide before any container is made; each gap is one line saying what to do."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem
from .host import mounts_of
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
        given = Path(runtime)
        if os.sep in runtime and given.is_dir():
            raise EnvironmentProblem(f"runtime {runtime!r} is a directory: pass the runtime binary's path")
        if os.sep in runtime and given.exists():
            raise EnvironmentProblem(f"runtime {runtime!r} is not executable: chmod +x it, or pass the runtime binary")
        raise EnvironmentProblem(f"runtime {runtime!r} was not found: install it or pass its path")
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
    made = tempfile.mkdtemp(prefix="ocitest-xdg-")
    os.environ["XDG_RUNTIME_DIR"] = made
    atexit.register(shutil.rmtree, made, True)


def check_outputs(files: dict[str, str | None], folders: dict[str, str | None]) -> None:
    """Every report file (and folder) the run will write can be written: found before the run, not after.

    ``files`` and ``folders`` map an option name (for the message) to the path given, or None.
    Missing parent folders are created, as the writers would; nothing else is left behind.
    """
    for option, value in [*files.items(), *folders.items()]:
        if not value:
            continue
        target = Path(value)
        folder = target if option in folders else target.parent
        if option in files and target.is_dir():
            raise EnvironmentProblem(f"{option} {value}: is a directory; give a file name")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentProblem(f"{option} {value}: cannot create folder {folder}: {exc.strerror}") from None
        probe = target if option in files else folder / f".ocitest-write-check-{os.getpid()}"
        existed = probe.exists()
        try:
            with open(probe, "a"):  # opening for append changes nothing in an existing file
                pass
        except OSError as exc:
            raise EnvironmentProblem(f"{option} {value}: cannot be written ({exc.strerror}); "
                                     "choose another path") from None
        if not existed:
            probe.unlink()


#: Where bundles go when TMPDIR does not say: a tmpfs makes a rootfs copy (a few hundred symlinks)
#: about a hundred times cheaper than a disk file system does (5 us against 0.1-0.6 ms a symlink,
#: measured on these machines' ext4).
TMPFS_CANDIDATE = "/dev/shm"


def scratch_base() -> str | None:
    """The folder for the run's working files (bundles, rootfs): ``$TMPDIR`` when set, else /dev/shm
    when it is a writable, exec-allowing tmpfs with room, else the system default (None)."""
    if os.environ.get("TMPDIR"):
        return None
    try:
        info = os.statvfs(TMPFS_CANDIDATE)
        fstype = next((m.fstype for m in mounts_of() if m.point == TMPFS_CANDIDATE), "")
    except OSError:
        return None
    roomy = info.f_bavail * info.f_frsize >= 512 * 1024 * 1024
    if fstype == "tmpfs" and roomy and not info.f_flag & os.ST_NOEXEC and os.access(TMPFS_CANDIDATE, os.W_OK | os.X_OK):
        return TMPFS_CANDIDATE
    return None

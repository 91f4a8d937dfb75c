"""runtime-linux.md: the program's file descriptors and the /dev symlinks.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime-linux.md#runtimeLinuxFileDescriptors
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime-linux.md#runtimeLinuxDevSymbolicLinks
"""

from __future__ import annotations

import os

import pytest

from ocitest import needs, probe, requirement


@requirement("runtimelinux.fds-stdio-only")
@needs("program_visible_from_host")
def test_the_program_has_only_stdin_stdout_and_stderr_open(new_container):
    # Read from the host while the program (busybox sh, which opens nothing itself) waits on stdin:
    # a descriptor the runtime left open is inherited by it.
    container = new_container(probe.waiting()).launch()
    fds = sorted(int(fd) for fd in os.listdir(f"/proc/{container.pid}/fd"))
    targets = {fd: os.readlink(f"/proc/{container.pid}/fd/{fd}") for fd in fds if fd > 2}
    container.finish()
    assert fds == [0, 1, 2], f"the program has file descriptors {fds} open; beyond 0, 1, 2: {targets}"


SYMLINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}


@requirement("runtimelinux.dev-symlinks")
@pytest.mark.parametrize("name", list(SYMLINKS))
@needs("program_visible_from_host")
def test_dev_symlinks_exist_after_create(new_container, name):
    container = new_container(probe.waiting())
    container.create()  # the default config mounts /proc, so every source exists
    link = f"/proc/{container.pid}/root/dev/{name}"
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        target = None
    except OSError as exc:  # something that is not a symlink
        target = f"not a symlink ({exc.strerror})"
    assert target is not None, f"after create, the container has no /dev/{name}"
    resolved = os.path.normpath(os.path.join("/dev", target)) if not target.startswith("not a") else target
    assert resolved == SYMLINKS[name], f"after create, /dev/{name} points to {target!r}, not {SYMLINKS[name]}"

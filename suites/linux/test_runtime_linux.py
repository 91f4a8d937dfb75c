"""runtime-linux.md: the program's file descriptors and the /dev symlinks.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime-linux.md#runtimeLinuxFileDescriptors
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime-linux.md#runtimeLinuxDevSymbolicLinks
"""

from __future__ import annotations

import os

import pytest

from ocitest import probe, requirement


@requirement("runtimelinux.fds-stdio-only")
def test_the_program_has_only_stdin_stdout_and_stderr_open(new_container):
    # Read while the program (busybox sh, which opens nothing itself) waits on stdin: a descriptor
    # the runtime left open is inherited by it. Which descriptors are open is the fact; what they
    # lead to is only named in the message (a sandbox's /proc shows its own names, gVisor's host:[N]).
    container = new_container(probe.waiting()).launch()
    open_fds = container.view.fds()
    container.finish()
    fds = sorted(open_fds)
    targets = {fd: target for fd, target in open_fds.items() if fd > 2}
    assert fds == [0, 1, 2], f"the program has file descriptors {fds} open; beyond 0, 1, 2: {targets}"


SYMLINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}


@requirement("runtimelinux.dev-symlinks")
@pytest.mark.parametrize("name", list(SYMLINKS))
def test_dev_symlinks_exist_after_create(new_container, name):
    container = new_container(probe.waiting())
    container.create()  # the default config mounts /proc, so every source exists
    # (the view of a sandbox starts the program first: what create set up is still there then)
    view, link = container.view, f"/dev/{name}"
    target: str | None = None
    if view.exists(link):
        try:
            target = view.readlink(link)
        except OSError as exc:  # something that is not a symlink
            target = f"not a symlink ({exc.strerror})"
    assert target is not None, f"after create, the container has no /dev/{name}"
    resolved = os.path.normpath(os.path.join("/dev", target)) if not target.startswith("not a") else target
    assert resolved == SYMLINKS[name], f"after create, /dev/{name} points to {target!r}, not {SYMLINKS[name]}"

"""config-linux.md, Devices and Default Devices.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxDevices
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxDefaultDevices

Device nodes are looked at through the program's view (``container.view``: from the host through
``/proc/PID/root``, or from inside a sandbox) while the program waits; a symlink inside the container
is followed inside the container's root (the spec lets a runtime supply a device by mknod, bind mount
or symlink).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pexpect.fdpexpect
import pytest

from ocitest import HarnessError, ProgramView, RuntimeTimeout, needs, probe, requirement

KINDS = {"c": stat.S_ISCHR, "u": stat.S_ISCHR, "b": stat.S_ISBLK, "p": stat.S_ISFIFO}
KIND_NAMES = {"c": "a character device", "u": "a character device", "b": "a block device", "p": "a FIFO"}

#: Character and block devices need mknod, which the kernel refuses in a user namespace (a FIFO it allows).
DEVICE_NODE = needs("privileged", "create a character or block device node (mknod is refused in a user namespace)")


def container_path(view: ProgramView, path: str, depth: int = 0) -> tuple[str, os.stat_result] | None:
    """(the path a container path finally leads to, its lstat), symlinks followed inside the container;
    None when nothing is there."""
    if not view.exists(path):
        return None
    st = view.lstat(path)
    if stat.S_ISLNK(st.st_mode) and depth < 16:
        target = view.readlink(path)
        nxt = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        return container_path(view, os.path.normpath(nxt), depth + 1)
    return path, st


def container_stat(view: ProgramView, path: str) -> os.stat_result | None:
    found = container_path(view, path)
    return None if found is None else found[1]


def launched_with_devices(new_container, new_bundle, devices: list[dict], **config):
    """A container given ``devices``. One the runtime cannot supply it must refuse with an error
    (runtime.md#runtimeCreate), e.g. rootless runc, which bind-mounts every device from the host's
    path and so has nothing to mount for a FIFO the host lacks: compliant, the check is skipped."""
    bundle = new_bundle()
    bundle.config["linux"]["devices"] = devices
    bundle.config.update(config)
    return new_container(probe.waiting(), bundle=bundle).launch_unless_refused(f"linux.devices {devices}")


def describe(st: os.stat_result | None) -> str:
    if st is None:
        return "nothing"
    kind = ("character device" if stat.S_ISCHR(st.st_mode) else "block device" if stat.S_ISBLK(st.st_mode)
            else "FIFO" if stat.S_ISFIFO(st.st_mode) else "regular file" if stat.S_ISREG(st.st_mode)
            else "directory" if stat.S_ISDIR(st.st_mode) else f"mode {st.st_mode:o}")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        kind += f" {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    return kind


# -- linux.devices ----------------------------------------------------------------------------


@requirement("linux.devices-available")
@pytest.mark.parametrize("device", [
    pytest.param({"path": "/dev/ocitest-char", "type": "c", "major": 10, "minor": 229}, id="char", marks=DEVICE_NODE),
    pytest.param({"path": "/dev/ocitest-block", "type": "b", "major": 7, "minor": 42}, id="block", marks=DEVICE_NODE),
    pytest.param({"path": "/dev/ocitest-unbuffered", "type": "u", "major": 1, "minor": 7}, id="unbuffered",
                 marks=DEVICE_NODE),
    pytest.param({"path": "/dev/ocitest-fifo", "type": "p"}, id="fifo"),
    pytest.param({"path": "/dev/ocitest/sub/char", "type": "c", "major": 1, "minor": 5}, id="char-in-subfolder",
                 marks=DEVICE_NODE),
])
def test_a_configured_device_is_available(new_container, new_bundle, device):
    container = launched_with_devices(new_container, new_bundle, [device])
    st = container_stat(container.view, device["path"])
    container.finish()
    assert st is not None, f"linux.devices lists {device}, yet {device['path']} does not exist in the container"
    assert KINDS[device["type"]](st.st_mode), (
        f"{device['path']} should be {KIND_NAMES[device['type']]}; the container has a {describe(st)}")
    if device["type"] != "p":
        seen = (os.major(st.st_rdev), os.minor(st.st_rdev))
        assert seen == (device["major"], device["minor"]), (
            f"{device['path']} should be {device['major']}:{device['minor']}; it is {seen[0]}:{seen[1]}")


@requirement("linux.device-file-mode")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o666])
@DEVICE_NODE
def test_a_device_has_its_file_mode(new_container, new_bundle, mode):
    device = {"path": "/dev/ocitest-mode", "type": "c", "major": 1, "minor": 7, "fileMode": mode}
    container = launched_with_devices(new_container, new_bundle, [device])
    st = container_stat(container.view, device["path"])
    container.finish()
    assert st is not None, f"{device['path']} does not exist in the container"
    assert stat.S_IMODE(st.st_mode) == mode, (
        f"fileMode is {mode} ({mode:04o}); {device['path']} has mode {stat.S_IMODE(st.st_mode):04o}")


@requirement("linux.device-owner")
@pytest.mark.parametrize("uid, gid", [(1000, 1001), (0, 65534)])
@DEVICE_NODE
def test_a_device_has_its_owner_and_group(new_container, new_bundle, uid, gid):
    device = {"path": "/dev/ocitest-owned", "type": "c", "major": 1, "minor": 7, "fileMode": 0o660,
              "uid": uid, "gid": gid}
    container = launched_with_devices(new_container, new_bundle, [device])
    st = container_stat(container.view, device["path"])
    container.finish()
    assert st is not None, f"{device['path']} does not exist in the container"
    assert (st.st_uid, st.st_gid) == (uid, gid), (
        f"uid/gid are {uid}/{gid}; {device['path']} is owned by {st.st_uid}/{st.st_gid}")


@requirement("linux.device-path-anywhere")
@DEVICE_NODE
def test_a_device_outside_dev_is_available(new_container, new_bundle):
    device = {"path": "/ocitest-devices/zero", "type": "c", "major": 1, "minor": 5}
    bundle = new_bundle()
    bundle.config["root"]["readonly"] = False
    bundle.config["linux"]["devices"] = [device]
    container = new_container(probe.waiting(), bundle=bundle)
    call = container.create(check=False)
    assert call.ok, f"a device at {device['path']} (outside /dev) is refused: {call.describe()}"
    container.start()
    container.read_until(probe.READY)
    st = container_stat(container.view, device["path"])
    container.finish()
    assert st is not None and stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 5, (
        f"{device['path']} should be a character device 1:5; the container has {describe(st)}")


CLASH = "ocitest-clash"


def clash_regular_file(path: Path) -> str:
    path.write_text("not a device\n")
    return "a regular file"


def clash_other_numbers(path: Path) -> str:
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return "the character device 1:3"


def clash_fifo(path: Path) -> str:
    os.mkfifo(path, 0o666)
    return "a FIFO"


def clash_directory(path: Path) -> str:
    path.mkdir()
    return "a directory"


@requirement("linux.device-existing-mismatch-error")
@pytest.mark.parametrize("clash", [clash_regular_file, clash_other_numbers, clash_fifo, clash_directory],
                         ids=lambda f: f.__name__)
@needs("privileged", "create the character device 1:5 the check asks for (mknod is refused in a user namespace), so "
                   "a refusal would not be about the clash")
def test_a_different_file_at_the_device_path_is_an_error(new_container, new_bundle, clash):
    bundle = new_bundle()
    what = clash(bundle.rootfs / CLASH)
    bundle.config["root"]["readonly"] = False
    device = {"path": f"/{CLASH}", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666}
    bundle.config["linux"]["devices"] = [device]
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.attempt()
    try:
        left = describe(os.lstat(bundle.rootfs / CLASH))
    except FileNotFoundError:
        left = "nothing"
    assert call.failed, (
        f"{device['path']} is already {what} in the rootfs and linux.devices asks for the character device 1:5 there, "
        f"yet the runtime reported no error (the rootfs then had a {left} there): {call.describe()}")


# -- default devices --------------------------------------------------------------------------


DEFAULTS = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}


@requirement("linux.device-defaults")
@pytest.mark.parametrize("with_devices", [False, pytest.param(True, marks=DEVICE_NODE)],
                         ids=["no-linux-devices", "with-linux-devices"])
def test_the_default_devices_are_supplied(new_container, new_bundle, with_devices):
    devices = [{"path": "/dev/ocitest-extra", "type": "c", "major": 1, "minor": 7}] if with_devices else []
    container = launched_with_devices(new_container, new_bundle, devices)
    found = {name: container_stat(container.view, f"/dev/{name}") for name in DEFAULTS}
    ptmx = container_path(container.view, "/dev/ptmx")
    pts_ptmx = container_stat(container.view, "/dev/pts/ptmx")
    container.finish()
    wrong = {f"/dev/{name}": describe(st) for name, st in found.items()
             if st is None or not stat.S_ISCHR(st.st_mode)
                or (os.major(st.st_rdev), os.minor(st.st_rdev)) != DEFAULTS[name]}
    assert not wrong, f"default devices missing or wrong (what the container has): {wrong}"
    assert ptmx is not None, "the container has no /dev/ptmx"
    assert pts_ptmx is not None, "the container has no /dev/pts/ptmx (the devpts mount of the config)"
    assert (ptmx[1].st_dev, ptmx[1].st_ino) == (pts_ptmx.st_dev, pts_ptmx.st_ino), (
        f"/dev/ptmx leads to {ptmx[0]} ({describe(ptmx[1])}), not to the container's /dev/pts/ptmx")


def say_stat(key: str, path: str) -> str:
    """A shell line printing the program's own stat of ``path`` (links followed in its root) as
    ``ocitest:KEY MODE:MAJOR:MINOR`` (hex), or ``ocitest:KEY none`` when nothing is there."""
    return (f"if [ -e {path} ]; then {probe.say(key, f'$(stat -L -c %f:%t:%T {path})')}; "
            f"else {probe.say(key, 'none')}; fi")


def stat_said(said: list[str] | None, printed: str) -> os.stat_result | None:
    """The mode and device numbers ``say_stat`` printed, as a stat result (None: nothing there)."""
    if not said or len(said[0].split(":")) != 3 and said[0].strip() != "none":
        raise HarnessError(f"the program did not print what it stat'ed: {printed!r}")
    if said[0].strip() == "none":
        return None
    mode, major, minor = (int(part, 16) for part in said[0].strip().split(":"))
    return os.stat_result((mode, 0, 0, 1, 0, 0, 0, 0, 0, 0), {"st_rdev": os.makedev(major, minor)})


@requirement("linux.device-console")
def test_dev_console_is_the_terminal(new_container, new_bundle):
    # The program prints what its /dev/console and its stdin are: its stdio is the terminal, so a
    # sandbox's program cannot be asked over it, and the program's own stat is the same fact anyway.
    bundle = new_bundle()
    bundle.config["process"]["terminal"] = True
    container = new_container(probe.waiting(say_stat("console", "/dev/console"), say_stat("stdin", "/proc/$$/fd/0")),
                              bundle=bundle)
    call = container.create(console=True)
    try:
        master = container.console.receive(container.timeouts.wait)
    except (RuntimeTimeout, AssertionError) as exc:
        pytest.skip(f"reported by config.terminal-console-socket: no terminal came over --console-socket ({exc}; "
                    f"{call.describe()})")
    container.start()
    term = pexpect.fdpexpect.fdspawn(master, timeout=container.timeouts.wait, encoding="utf-8", codec_errors="replace")
    term.expect(probe.READY)
    said = probe.facts(term.before.replace("\r", ""))
    term.sendline("stop")
    console, stdin = stat_said(said.get("console"), term.before), stat_said(said.get("stdin"), term.before)
    assert console is not None, "process.terminal is true, yet the container has no /dev/console"
    if stdin is None:
        raise HarnessError(f"the program could not stat its stdin: it printed {term.before!r}")
    assert stat.S_ISCHR(console.st_mode) and console.st_rdev == stdin.st_rdev, (
        f"/dev/console is {describe(console)}; the program's terminal (its stdin) is "
        f"{os.major(stdin.st_rdev)}:{os.minor(stdin.st_rdev)}")

"""The machine-code probe programs (ocitest/elf.py) do what the checks rely on, on this kernel.

The set-user-ID probe of config.mount-option-nosuid/suid is judged by EUID_PROGRAM's exit status
when AS_USER_PROGRAM runs it as uid 1000: 0 where the bit works, 232 (1000's low byte) where the
mount ignores it, 127 when the unprivileged run itself failed.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ocitest import elf

pytestmark = [
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the probe programs are x86_64 machine code"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a tmpfs mount and a set-user-ID root file"),
]


def put(path: Path, program: bytes, mode: int) -> str:
    path.write_bytes(program)
    os.chmod(path, mode)
    return str(path)


@pytest.mark.parametrize("options, status", [("mode=755", 0), ("mode=755,nosuid", elf.UNPRIVILEGED & 0xFF)])
def test_the_setuid_probe_runs_as_root_unless_the_mount_is_nosuid(options, status):
    # Not under tmp_path: uid 1000 must be able to reach the program (pytest's folders are 0700).
    mount = Path(tempfile.mkdtemp(prefix="ocitest-elf-", dir="/dev/shm"))
    mount.chmod(0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "ocitest-elf-test", str(mount)], check=True)
    try:
        program = put(mount / "euid", elf.EUID_PROGRAM, 0o4755)
        runner = put(mount / "as-user", elf.AS_USER_PROGRAM, 0o755)
        assert subprocess.run([runner, program], timeout=30).returncode == status
    finally:
        subprocess.run(["umount", str(mount)], check=True)
        shutil.rmtree(mount)


def test_the_runner_fails_with_127_when_it_cannot_execute(tmp_path):
    runner = put(tmp_path / "as-user", elf.AS_USER_PROGRAM, 0o755)
    assert subprocess.run([runner, str(tmp_path / "missing")], timeout=30).returncode == 127


def test_printf_octal_gives_the_bytes_back(tmp_path):
    out = tmp_path / "copy"
    subprocess.run(["busybox", "sh", "-c", f"printf '{elf.printf_octal(elf.EUID_PROGRAM)}' > {out}"], check=True)
    assert out.read_bytes() == elf.EUID_PROGRAM


@pytest.mark.parametrize("wrapper, bit", [([], 0), (["setpriv", "--no-new-privs"], 1)])
def test_the_no_new_privs_probe_exits_with_the_bit(wrapper, bit, tmp_path):
    program = put(tmp_path / "nnp", elf.NO_NEW_PRIVS_PROGRAM, 0o755)
    assert subprocess.run([*wrapper, program], timeout=30).returncode == bit

"""The container root filesystem: the host's static busybox plus the recipe bundles/rootfs.toml.

Built once per session (per worker under xdist) and copied per bundle: a copy is about 2 MB
and a few hundred symlinks, so each container can write to its rootfs without affecting others.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

from .errors import EnvironmentProblem
from .templates import load_toml

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
_PT_INTERP = 3


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable with no program interpreter (a statically linked one)."""
    with open(path, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF":
            return False
        is64 = header[4] == 2
        endian = "<" if header[5] == 1 else ">"
        if is64:
            phoff, = struct.unpack_from(endian + "Q", header, 32)
            phentsize, phnum = struct.unpack_from(endian + "HH", header, 54)
        else:
            phoff, = struct.unpack_from(endian + "I", header, 28)
            phentsize, phnum = struct.unpack_from(endian + "HH", header, 42)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack(endian + "I", f.read(4))
            if p_type == _PT_INTERP:
                return False
        return True


def find_busybox(explicit: str | None = None) -> Path:
    """The static busybox to put into every rootfs (``--busybox`` or the usual places)."""
    if explicit and not Path(explicit).is_file():
        raise EnvironmentProblem(f"--busybox {explicit}: no such file; install busybox-static "
                                 "(apt-get install busybox-static) and pass /bin/busybox, or leave --busybox out")
    candidates = [explicit] if explicit else list(BUSYBOX_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            if is_static_elf(path):
                return path
            raise EnvironmentProblem(
                f"{path} is dynamically linked and would not run inside the container; "
                "install busybox-static (apt-get install busybox-static)"
            )
    raise EnvironmentProblem("no busybox found; install busybox-static (apt-get install busybox-static)")


def build_rootfs(dest: Path, busybox: Path) -> Path:
    """Assemble the template rootfs at ``dest``: busybox, one symlink per applet, the recipe."""
    recipe = load_toml("rootfs.toml")
    dest.mkdir(parents=True)
    for name in recipe["directories"]:
        (dest / name).mkdir(parents=True, exist_ok=True)
    for name, mode in recipe.get("modes", {}).items():
        (dest / name).mkdir(parents=True, exist_ok=True)
        os.chmod(dest / name, mode)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    listing = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True, timeout=30)
    for applet in listing.stdout.split():
        if applet != "busybox" and "/" not in applet:
            (dest / "bin" / applet).symlink_to("busybox")
    for name, text in recipe["files"].items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return dest


def copy_rootfs(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest

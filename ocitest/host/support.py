"""What this host offers a container, read without any runtime: LSMs, namespace kinds, NUMA,
resctrl, huge pages, disks, the harness's own limits and capabilities, mount(8)'s answers.

These facts decide whether a check can run here at all. They live outside the suites so that
the preconditions (conditions.py) can ask them before a run, and the checks reuse the same
answer (an AppArmor profile's name, a settable rlimit) while they run.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from ..elf import i386_mkdir_program
from .capabilities import CAPABILITY_NUMBERS, capability_names
from .mounts import Mount, mounts_of, parse_mountinfo
from .processes import proc_limits, proc_status

#: config.json namespace types and their names under /proc/PID/ns.
NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup",
            "user": "user", "time": "time"}
RESCTRL = Path("/sys/fs/resctrl")
#: Block major number of loop devices.
LOOP_MAJOR = 7


# -- kernel -----------------------------------------------------------------------------------


@cache
def criu_problem() -> str | None:
    """Why CRIU cannot checkpoint on this host (None: ``criu check`` passes). Asked once per process.

    criu has to know the running kernel (its vdso, its features): an old criu on a newer kernel
    fails its own check, and a runtime's checkpoint then fails whatever the runtime does.
    """
    criu = shutil.which("criu")
    if criu is None:
        return "no `criu` on the host (Debian: criu)"
    # criu locks a container's own network namespace with these while it dumps, and fails without them.
    lacking = [tool for tool in ("iptables-restore", "ip6tables-restore") if shutil.which(tool) is None]
    if lacking:
        return f"CRIU needs {' and '.join(lacking)} to lock a container's network while it dumps (Debian: iptables)"
    try:
        checked = subprocess.run([criu, "check"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`criu check` did not run: {exc}"
    if checked.returncode == 0:
        return None
    # "Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable": the words after the location.
    errors = [line.split("): ", 1)[-1].strip() for line in (checked.stderr + checked.stdout).splitlines()
              if line.startswith("Error") and "exited, status" not in line]
    return f"`criu check` fails on this host: {'; '.join(errors[:2]) or f'exit {checked.returncode}'}"


def kernel_at_least(major: int, minor: int) -> bool:
    parts = platform.release().split(".")
    try:
        return (int(parts[0]), int(parts[1].split("-")[0])) >= (major, minor)
    except (ValueError, IndexError):
        return False


def namespace_missing(kind: str) -> str | None:
    """Why the host kernel has no namespaces of ``kind`` (None: it has them)."""
    if not os.path.exists(f"/proc/self/ns/{NS_FILES[kind]}"):
        return f"the host kernel has no {kind} namespaces (/proc/self/ns/{NS_FILES[kind]} is missing)"
    return None


def new_namespace_refused(kind: str) -> str | None:
    """Why the host cannot give a container a new namespace of ``kind`` (None: it can)."""
    return namespace_missing(kind) or (userns_forbidden() if kind == "user" else None)


@cache
def userns_forbidden() -> str | None:
    """Why the host forbids new user namespaces (None: it allows them). Asked once per process."""
    try:
        limit = int(Path("/proc/sys/user/max_user_namespaces").read_text())
    except (OSError, ValueError):
        limit = None
    if limit == 0:
        return "the host forbids user namespaces (/proc/sys/user/max_user_namespaces is 0)"
    if shutil.which("unshare"):
        trial = subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True, timeout=30)
        if trial.returncode != 0:
            return f"the host refuses a new user namespace (`unshare -U true`: {trial.stderr.strip()})"
    return None


@cache
def ia32_syscalls() -> str | None:
    """Why a 64-bit program here cannot make 32-bit x86 system calls (None: it can).

    Tried for real: a kernel without IA32 emulation (or booted with ``ia32_emulation=0``) kills
    ``int $0x80``; only x86_64 hosts have it at all.
    """
    if platform.machine() != "x86_64":
        return f"32-bit x86 system calls exist only on x86_64 hosts, not {platform.machine()}"
    with tempfile.TemporaryDirectory(prefix="ocitest-ia32-") as folder:
        program = Path(folder) / "mkdir32"
        program.write_bytes(i386_mkdir_program(f"{folder}/made"))
        program.chmod(0o755)
        trial = subprocess.run([str(program)], capture_output=True, timeout=30)
        if trial.returncode != 0 or not (Path(folder) / "made").is_dir():
            return (f"the host kernel does not run 32-bit x86 system calls "
                    f"(a 32-bit mkdir ended with {trial.returncode})")
    return None


def numa() -> bool:
    return Path("/sys/devices/system/node/node0").exists()


def hugepage_sizes() -> list[str]:
    """The kernel's huge page sizes as runtime-spec writes them (``2MB``, ``1GB``)."""
    sizes = []
    for entry in sorted(Path("/sys/kernel/mm/hugepages").glob("hugepages-*kB")):
        kb = int(entry.name.removeprefix("hugepages-").removesuffix("kB"))
        sizes.append(f"{kb // 1024}MB" if kb < (1 << 20) else f"{kb >> 20}GB")
    return sizes


# -- security modules -------------------------------------------------------------------------


def apparmor_enabled() -> bool:
    try:
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        return False


def apparmor_enforce_profile() -> str | None:
    """The name of an AppArmor profile loaded in enforce mode, if any."""
    try:
        profiles = Path("/sys/kernel/security/apparmor/profiles").read_text().split("\n")
    except OSError:
        return None
    return next((line.split(" (")[0] for line in profiles if line.endswith("(enforce)")), None)


def selinux_enabled() -> bool:
    return Path("/sys/fs/selinux/enforce").exists()


# -- devices and resctrl ----------------------------------------------------------------------


def whole_disk() -> tuple[int, int] | None:
    """major:minor of a whole disk the host has (not a loop, ram or zram device)."""
    for entry in sorted(Path("/sys/block").iterdir()):
        if entry.name.startswith(("loop", "ram", "zram")):
            continue
        major, minor = (entry / "dev").read_text().strip().split(":")
        return int(major), int(minor)
    return None


def loop_device(minor: int) -> bool:
    return Path(f"/sys/dev/block/{LOOP_MAJOR}:{minor}").exists()


def rdma_devices() -> list[str]:
    folder = Path("/sys/class/infiniband")
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []


def resctrl_mounted() -> bool:
    return any(m.fstype == "resctrl" for m in mounts_of())


def resctrl_l3_schema() -> str | None:
    """The L3 line of the resctrl root's schemata (a valid schema to hand a container)."""
    try:
        lines = (RESCTRL / "schemata").read_text().splitlines()
    except OSError:
        return None
    return next((line.strip() for line in lines if line.strip().startswith("L3:")), None)


# -- the harness process itself ---------------------------------------------------------------


def settable_rlimit(row: str, soft: int, hard: int) -> tuple[int, int]:
    """``soft``/``hard`` lowered to what a runtime can set without CAP_SYS_RESOURCE (never above
    the harness's own hard limit, which the container process inherits); ``row`` names the limit
    in /proc/PID/limits."""
    own_soft, own_hard = proc_limits("self")[row]
    if own_hard != "unlimited":
        hard = min(hard, int(own_hard))
        soft = min(soft, hard)
    return soft, hard


def ungrantable_capabilities() -> list[str]:
    """Capabilities the kernel knows but the harness's bounding set lacks (so its runtime cannot grant them)."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    bounding = int(proc_status("self")["CapBnd"], 16)
    return [n for n in capability_names((1 << (last + 1)) - 1) if not bounding >> CAPABILITY_NUMBERS[n] & 1]


# -- mount(8) -----------------------------------------------------------------------------------


@cache
def mount8_tmpfs(options: tuple[str, ...]) -> tuple[Mount | None, str]:
    """Mount a tmpfs with ``options`` as mount(8) does: (the mount it made, "") or (None, why not).

    It runs in a private mount namespace of its own (``unshare -m``), so nothing is left behind.
    The answer is mount(8)'s on this host, the oracle the mount checks compare a runtime with.
    An unprivileged caller (a rootless run) mounts in a user namespace of its own (``-r``), where
    its rootless runtime mounts too.
    """
    return _mount8('mount -t tmpfs -o "$1" ocitest-oracle "$2"', options)


@cache
def mount8_bind(options: tuple[str, ...]) -> tuple[Mount | None, str]:
    """Bind-mount a fresh tmpfs (``mode=755``) with ``rbind`` and ``options`` as mount(8) does, as
    ``mount8_tmpfs`` does for a tmpfs: the oracle of the options on a bind mount (per-mount flags:
    mount(8) binds, then remounts the bind with them)."""
    return _mount8('src="$2.src" && mkdir "$src" && mount -t tmpfs -o mode=755 ocitest-oracle "$src" && '
                   'mount -o "rbind,$1" "$src" "$2"', options)


def _mount8(command: str, options: tuple[str, ...]) -> tuple[Mount | None, str]:
    """Run ``command`` (``$1`` the options, ``$2`` an empty folder) in a private mount namespace of
    its own; the mount it made at ``$2``."""
    where = tempfile.mkdtemp(prefix="ocitest-oracle-")
    try:
        script = f"{command} && cat /proc/self/mountinfo"
        userns = [] if os.geteuid() == 0 else ["-r"]
        out = subprocess.run(["unshare", *userns, "-m", "--propagation", "private", "sh", "-c", script, "sh",
                              ",".join(options), where], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return None, out.stderr.strip() or f"exit {out.returncode}"
        made = [m for m in parse_mountinfo(out.stdout) if m.point == where]
        if not made:
            return None, f"mount(8) succeeded, but its mountinfo has no mount at {where}"
        return made[-1], ""
    finally:
        if os.path.isdir(f"{where}.src"):
            os.rmdir(f"{where}.src")
        os.rmdir(where)

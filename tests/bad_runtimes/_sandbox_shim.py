"""The host side of tests/bad_runtimes/sandbox_like: a shim that stands for the container's program.

Kata's runtime CLI (kata-runtime 1.x) reports as the container's pid a shim on the host (kata-shim),
which forwards the program's stdio and signals and exits with its status, while the program itself
runs in a VM. This stands for that with runc underneath: ``create`` runs runc's create from a shim
process that is a child subreaper, so the container's init becomes the shim's child; the shim writes
its own pid to --pid-file, and exits with the program's status (128+N for a signal, as the sandbox
runtimes report it) once init exits. ``state`` reports the shim's pid. Host-side /proc views of
that pid are the shim's (a plain Python process on the host), never the program's.

``break`` edits config.json before create: the one requirement a misbehaving sandbox breaks
(tests/test_misbehaving_sandbox.py), which only a check that looks from inside can see.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
MARK = "_sandbox_shim.py"


def option_value(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def create(real: str, args: list[str]) -> int:
    """runc create under a subreaper shim; the pid file names the shim. Returns create's status."""
    read_end, write_end = os.pipe()
    shim = os.fork()
    if shim:
        os.close(write_end)
        answer = os.read(read_end, 16).decode() or "1"
        return int(answer)
    os.close(read_end)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    created = subprocess.run([real, *args])
    if created.returncode != 0:
        os.write(write_end, str(created.returncode).encode())
        os._exit(0)
    pid_file = option_value(args, "--pid-file")
    container_id = args[-1]
    init = json.loads(subprocess.run([real, *global_args(args), "state", container_id], capture_output=True,
                                     text=True).stdout)["pid"]
    if pid_file:
        temporary = f"{pid_file}.shim"
        with open(temporary, "w") as f:
            f.write(str(os.getpid()))
        os.rename(temporary, pid_file)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.write(write_end, b"0")
    os.close(write_end)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if pid == init:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def global_args(args: list[str]) -> list[str]:
    """runc's global options among ``args`` (those before the command), for a call of our own."""
    found = []
    for i, arg in enumerate(args):
        if arg == "create":
            return args[:i]
        found.append(arg)
    return found


def state(real: str, args: list[str]) -> int:
    """runc's state, with the shim (the init's parent) as the pid while the program lives."""
    call = subprocess.run([real, *args], capture_output=True, text=True)
    sys.stderr.write(call.stderr)
    if call.returncode != 0:
        sys.stdout.write(call.stdout)
        return call.returncode
    data = json.loads(call.stdout)
    pid = data.get("pid") or 0
    if pid > 0:
        parent = shim_of(pid)
        if parent is not None:
            data["pid"] = parent
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return 0


def shim_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{parent}/cmdline", "rb") as f:
            return parent if MARK.encode() in f.read() else None
    except (OSError, ValueError, IndexError):
        return None


def break_config(case: str, path: str) -> None:
    with open(path) as f:
        config = json.load(f)
    if case == "masked_paths":
        config.get("linux", {}).pop("maskedPaths", None)
    elif case == "add_capability":
        for name, caps in config.get("process", {}).get("capabilities", {}).items():
            if name != "ambient" and "CAP_SYS_PTRACE" not in caps:
                caps.append("CAP_SYS_PTRACE")
    elif case == "drop_mount":
        mounts = config.get("mounts", [])
        ours = [m for m in mounts if m.get("destination", "").lstrip("/").startswith("mnt/ocitest")]
        if ours:
            mounts.remove(ours[-1])
    elif case == "access_times":  # every access time updated: relatime made strictatime, nodiratime dropped
        for mount in config.get("mounts", []):
            options = [{"relatime": "strictatime"}.get(o, o) for o in mount.get("options", [])]
            mount["options"] = [o for o in options if o != "nodiratime"]
    elif case in ("nosuid", "unbindable"):  # the check's mounts lose that option (and its recursive form)
        for mount in config.get("mounts", []):
            if mount.get("destination", "").lstrip("/").startswith("mnt/ocitest"):
                mount["options"] = [o for o in mount.get("options", []) if o not in (case, f"r{case}")]
    elif case == "no_new_privs":  # the bit set where the config says false, and the other way round
        process = config.get("process", {})
        process["noNewPrivileges"] = not process.get("noNewPrivileges", False)
    elif case == "rlimits":
        for limit in config.get("process", {}).get("rlimits", []):
            limit["soft"] = limit["hard"]
    else:
        raise SystemExit(f"{MARK}: unknown break {case!r}")
    with open(path, "w") as f:
        json.dump(config, f)


def main() -> int:
    action, *rest = sys.argv[1:]
    if action == "break":
        break_config(*rest)
        return 0
    real, *args = rest
    return create(real, args) if action == "create" else state(real, args)


if __name__ == "__main__":
    sys.exit(main())

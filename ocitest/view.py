"""The container's program as a check sees it: from the host, or from inside the container.

A check asks ``container.view`` for what the program has: its /proc status, limits, environment,
descriptors, namespace links, mount table, and the files of its root (read, stat, written to, run).
Which way the facts are read is the profile's notion of the container process
(``Profile.container_process``), never the check's:

* ``HostView`` ("process": runc, crun, youki): the host reads ``/proc/PID/...`` of the state pid and
  reaches files through ``/proc/PID/root``. It sees more: it works right after ``create``, before the
  program runs, and needs nothing from the program.
* ``InsideView`` ("sandbox": gVisor's runsc, Kata): the state pid is a sandbox or VM process around
  the program, so its /proc is not the program's. The program itself prints what it sees, asked over
  its stdin: ``probe.wait_for_stdin`` serves ``ask`` lines (see ``ask_line``). That needs a
  ``probe.waiting`` program that runs, so a container that is only created is started first: what
  ``create`` set up must still be there when the program runs.

Both give the same types (``Mount``, an ``os.stat_result``, an ``OSError`` with the errno), so a check
is written once. Facts that only the host can see (the host's namespaces, cgroups on the host, the
bundle's files) are not here: a check reads those from the host whatever the profile.
"""

from __future__ import annotations

import errno
import itertools
import os
import platform
import re
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from .config import EXCHANGE_DIR
from .elf import AS_USER_PROGRAM, EUID_PROGRAM, NO_NEW_PRIVS_PROGRAM, UNPRIVILEGED, printf_octal
from .errors import HarnessError
from .host import Mount, parse_mountinfo
from .host.processes import nsenter, parse_limits, parse_status, proc_limits, proc_status

if TYPE_CHECKING:
    from .container import Container

#: Profile.container_process -> which view a container's checks get.
PROCESS, SANDBOX = "process", "sandbox"

#: The ask protocol (served by probe.wait_for_stdin): the harness writes ``ask N COMMAND`` on the
#: program's stdin; the program prints ``ocitest:begin N``, COMMAND's output, ``ocitest:end N STATUS``.
ASK_BEGIN, ASK_END = "ocitest:begin", "ocitest:end"


def ask_line(number: int, command: str) -> str:
    """One request: ``command`` is a single shell line, run by ``eval`` in the waiting program."""
    if "\n" in command:
        raise HarnessError(f"an ask is one line: {command!r}")
    return f"ask {number} {command}\n"


def serve_asks() -> str:
    """The shell ``case`` arm of probe.wait_for_stdin that answers an ``ask`` line (``$line``)."""
    return ('"ask "*) n=${line#ask }; n=${n%% *}; '
            f'echo "{ASK_BEGIN} $n"; eval "${{line#ask $n }}"; echo "{ASK_END} $n $?";;')


#: What the inside view prints a failing action's error with, mapped back to its errno.
_STRERROR = {os.strerror(n): n for n in sorted(errno.errorcode, reverse=True)}
#: busybox ``ulimit`` flags that show a limit in its own unit (no KiB or 512-byte blocks), by their
#: row in /proc/PID/limits.
_ULIMIT_ROWS = {"e": "Max nice priority", "i": "Max pending signals", "n": "Max open files",
                "q": "Max msgqueue size", "r": "Max realtime priority", "t": "Max cpu time",
                "u": "Max processes", "x": "Max file locks"}
_FD_LINE = re.compile(r"(\d+) -> (.*)$")


def errno_of(message: str) -> int | None:
    """The errno whose strerror text ends ``message`` (busybox prints ``sh: can't create X: Read-only file system``)."""
    for text, number in _STRERROR.items():
        if message.rstrip().endswith(text):
            return number
    return None


class ProgramView:
    """What the container's program has, read one way (see the module docstring)."""

    #: Words for a skip or an assertion message: how the facts were read.
    how = ""
    #: True when the program reports its facts itself (a sandbox: its kernel may not be the host's).
    from_inside = False

    def status(self) -> dict[str, str]:
        """/proc/<program>/status as a dict; ``Uid``, ``Gid``, ``Groups`` as the program sees them."""
        raise NotImplementedError

    def limits(self) -> dict[str, tuple[str, str]]:
        """/proc/<program>/limits as {"Max open files": (soft, hard)}."""
        raise NotImplementedError

    def environ(self) -> list[str]:
        """The environment the program was started with."""
        raise NotImplementedError

    def proc_file(self, name: str) -> str:
        """The text of the program's /proc/<program>/``name`` (``oom_score_adj``, ``stat``, ``attr/current``);
        an OSError when it has none."""
        raise NotImplementedError

    def hostname(self) -> str | None:
        """The program's hostname (``uname -n`` in its UTS namespace); None when it cannot be read here."""
        raise NotImplementedError

    def fds(self) -> dict[int, str]:
        """The program's open descriptors: number -> what the link names (``/dev/null``, ``pipe:[N]``)."""
        raise NotImplementedError

    def namespace(self, kind: str) -> str:
        """The program's namespace link of ``kind`` (``mnt:[4026532]``)."""
        raise NotImplementedError

    def mounts(self) -> list[Mount]:
        """The program's mount table, in mountinfo's order."""
        raise NotImplementedError

    def mounts_at(self, point: str) -> list[Mount]:
        return [m for m in self.mounts() if m.point == point]

    def read_text(self, path: str) -> str:
        """The text of ``path`` in the container; FileNotFoundError (an OSError) when it cannot be read."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def lstat(self, path: str) -> os.stat_result:
        """``path``'s own stat (a link is not followed): mode, uid, gid, rdev as the program's root has them."""
        raise NotImplementedError

    def readlink(self, path: str) -> str:
        raise NotImplementedError

    def write(self, path: str, text: str = "x") -> OSError | None:
        """Write ``text`` to ``path`` (created if missing); the error, or None when it worked."""
        raise NotImplementedError

    def run_script(self, path: str) -> OSError | None:
        """Put a shell script that exits 0 at ``path`` and run it; the error, or None when it ran."""
        raise NotImplementedError

    def mknod_and_open(self, path: str) -> OSError | None:
        """Make a /dev/null character node at ``path`` and open it for writing; the open's error, or None."""
        raise NotImplementedError

    def access_time_of_a_read(self, path: str, directory: bool, atime: int, mtime: int) -> tuple[int, int]:
        """Make a file (or, ``directory``, a folder) at ``path``, give it these access and modification
        times, read it once (list it, for a folder) and say its access time before and after the read,
        in whole seconds: the effect of the mount's access-time flags (noatime, relatime, nodiratime),
        which a sandbox kernel's mount table may not show."""
        raise NotImplementedError

    def no_new_privs(self) -> bool:
        """The program's no_new_privs bit (the NoNewPrivs line of its /proc status)."""
        return self.status()["NoNewPrivs"] == "1"

    def bind_mount(self, source: str, target: str) -> OSError | None:
        """Bind ``source`` at ``target`` (made if missing) in the program's mount namespace; the error, or
        None when it worked. Inside view only: there it shows what a mount table without propagation
        fields cannot (an unbindable mount refuses to be bound, EINVAL); the host view reads propagation
        from the kernel's own mountinfo."""
        raise HarnessError("bind_mount is the inside view's: the host view reads propagation from mountinfo")

    def setuid_works(self, path: str) -> bool:
        """Put a set-user-ID root program at ``path`` (elf.EUID_PROGRAM) and run it as an unprivileged
        user: whether it ran as root (the effect of the mount's ``nosuid``/``suid``). A HarnessError
        when it ran neither way."""
        raise NotImplementedError

    @staticmethod
    def _ran_as_root(status: int, output: str = "") -> bool:
        if status in (0, UNPRIVILEGED & 0xFF):
            return status == 0
        raise HarnessError(f"the set-user-ID probe ran neither as root nor as uid {UNPRIVILEGED}: exit status "
                           f"{status} (127: it could not become uid {UNPRIVILEGED}) {output.strip()}".rstrip())


@dataclass
class HostView(ProgramView):
    """The host's /proc view of the state pid (a runtime whose state pid is the program)."""

    pid: int
    how = "from the host through /proc/PID of the state pid"

    def path(self, path: str) -> str:
        """``path`` of the container as the host reaches it, through the program's root."""
        return f"/proc/{self.pid}/root{path}"

    def status(self) -> dict[str, str]:
        return proc_status(self.pid)

    def limits(self) -> dict[str, tuple[str, str]]:
        return proc_limits(self.pid)

    def environ(self) -> list[str]:
        raw = Path(f"/proc/{self.pid}/environ").read_bytes().decode("utf-8", "replace")
        return [e for e in raw.split("\0") if e]

    def proc_file(self, name: str) -> str:
        return Path(f"/proc/{self.pid}/{name}").read_text()

    def hostname(self) -> str | None:
        # /proc/sys/kernel/hostname through the program's root would show the reader's UTS namespace.
        if not shutil.which("nsenter"):
            return None
        out = subprocess.run([*nsenter(self.pid, "-u"), "uname", "-n"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def fds(self) -> dict[int, str]:
        folder = f"/proc/{self.pid}/fd"
        found = {}
        for name in os.listdir(folder):
            try:
                found[int(name)] = os.readlink(f"{folder}/{name}")
            except OSError:
                pass
        return found

    def namespace(self, kind: str) -> str:
        return os.readlink(f"/proc/{self.pid}/ns/{kind}")

    def mounts(self) -> list[Mount]:
        return parse_mountinfo(Path(f"/proc/{self.pid}/mountinfo").read_text())

    def read_text(self, path: str) -> str:
        return Path(self.path(path)).read_text()

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.path(path))

    def lstat(self, path: str) -> os.stat_result:
        return os.lstat(self.path(path))

    def readlink(self, path: str) -> str:
        return os.readlink(self.path(path))

    def write(self, path: str, text: str = "x") -> OSError | None:
        try:
            with open(self.path(path), "w") as f:
                f.write(text)
        except OSError as exc:
            return exc
        return None

    def run_script(self, path: str) -> OSError | None:
        script = self.path(path)
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(script, 0o755)
        try:
            subprocess.run([script], check=True, timeout=30)
        except OSError as exc:
            return exc
        return None

    def mknod_and_open(self, path: str) -> OSError | None:
        node = self.path(path)
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        try:
            os.close(os.open(node, os.O_WRONLY))
        except OSError as exc:
            return exc
        return None

    def access_time_of_a_read(self, path: str, directory: bool, atime: int, mtime: int) -> tuple[int, int]:
        # Through /proc/PID/root the path crosses the container's own mount, whose flags decide.
        target = self.path(path)
        if directory:
            os.mkdir(target)
        else:
            Path(target).write_text("x")
        os.utime(target, (atime, mtime))
        before = int(os.stat(target).st_atime)
        if directory:
            os.listdir(target)
        else:
            Path(target).read_bytes()
        return before, int(os.stat(target).st_atime)

    def setuid_works(self, path: str) -> bool:
        runner = f"{path}-as-user"
        for name, program, mode in ((path, EUID_PROGRAM, 0o4755), (runner, AS_USER_PROGRAM, 0o755)):
            Path(self.path(name)).write_bytes(program)
            os.chown(self.path(name), 0, 0)
            os.chmod(self.path(name), mode)
        # Run in the program's mount namespace: the kernel honours a set-user-ID bit only on a mount of
        # the executing process's own namespace, so a run from the host would be ignored on any mount.
        ran = subprocess.run([*nsenter(self.pid, "-m"), runner, path], capture_output=True, text=True,
                             timeout=30, check=False)
        return self._ran_as_root(ran.returncode, ran.stderr)


@dataclass
class Answer:
    """What the program printed for one ``ask``: its output and the command's exit status."""

    output: str
    status: int

    @property
    def ok(self) -> bool:
        return self.status == 0

    def error(self, action: str, path: str) -> OSError:
        """The OSError the program's error message names (EIO when it names none the host knows)."""
        message = self.output.strip().splitlines()[-1] if self.output.strip() else f"exit status {self.status}"
        number = errno_of(message) or errno.EIO
        return OSError(number, f"{action} {path} inside the container: {message}", path)


@dataclass
class InsideView(ProgramView):
    """The program's own view, asked over its stdin (a sandbox's state pid is not the program)."""

    container: Container
    how = "from inside the container: the program printed it"
    from_inside = True
    _asked: itertools.count = field(default_factory=lambda: itertools.count(1))

    def ask(self, command: str) -> Answer:
        """Run one shell command line in the program (``$$`` is the program) and wait for its output."""
        self._ensure_running()
        number = next(self._asked)
        end = f"{ASK_END} {number} "
        self.container.stdio.write(ask_line(number, command).encode())
        text = self.container.read_until(end)
        begin = text.rindex(f"{ASK_BEGIN} {number}\n")
        body, _, rest = text[begin:].partition(end)
        status = rest.split("\n", 1)[0].strip()
        return Answer(body.split("\n", 1)[1] if "\n" in body else "", int(status) if status.isdigit() else 1)

    def _ensure_running(self) -> None:
        container = self.container
        if container.started:
            return
        if not container.created:
            raise HarnessError("the inside view needs a created container running a probe.waiting program")
        container.start()
        container.read_until("ocitest:ready")

    def _text(self, command: str, what: str) -> str:
        answer = self.ask(command)
        if not answer.ok:
            raise answer.error("reading", what)
        return answer.output

    def status(self) -> dict[str, str]:
        return parse_status(self._text("cat /proc/$$/status", "/proc/self/status"))

    def limits(self) -> dict[str, tuple[str, str]]:
        """/proc/self/limits; where the program's /proc has none (gVisor's), the rows that busybox's
        ``ulimit`` shows exactly (it shows sizes in KiB or blocks, which would round the others)."""
        answer = self.ask("cat /proc/$$/limits 2>/dev/null")
        if answer.ok:
            return parse_limits(answer.output)
        flags = " ".join(_ULIMIT_ROWS)
        text = self._text(f'for f in {flags}; do echo "$f $(ulimit -S -$f) $(ulimit -H -$f)"; done', "ulimit")
        rows = {}
        for line in text.splitlines():
            flag, soft, hard = line.split()
            rows[_ULIMIT_ROWS[flag]] = (soft, hard)
        return rows

    def environ(self) -> list[str]:
        return [e for e in self._text("tr '\\0' '\\n' </proc/$$/environ", "/proc/self/environ").splitlines() if e]

    def proc_file(self, name: str) -> str:
        answer = self.ask(f"cat /proc/$$/{shlex.quote(name)} 2>&1")
        if not answer.ok:
            raise answer.error("reading", f"/proc/self/{name}")
        return answer.output

    def hostname(self) -> str | None:
        return self._text("uname -n", "uname -n").strip()

    def fds(self) -> dict[int, str]:
        # A plain `ls` (no pipe, no redirection) so the shell opens nothing of its own while it runs.
        found = {}
        for line in self._text("ls -l /proc/$$/fd/", "/proc/self/fd").splitlines():
            match = _FD_LINE.search(line)
            if match:
                found[int(match.group(1))] = match.group(2)
        return found

    def namespace(self, kind: str) -> str:
        answer = self.ask(f"readlink /proc/$$/ns/{shlex.quote(kind)} 2>&1")
        if not answer.ok:
            unseen(f"{kind} namespace link", f"readlink /proc/<program>/ns/{kind} failed ({answer.output.strip()!r})")
        return answer.output.strip()

    def mounts(self) -> list[Mount]:
        return parse_mountinfo(self._text("cat /proc/$$/mountinfo", "/proc/self/mountinfo"))

    def read_text(self, path: str) -> str:
        answer = self.ask(f"cat {shlex.quote(path)} 2>&1")
        if not answer.ok:
            raise answer.error("reading", path)
        return answer.output

    def exists(self, path: str) -> bool:
        quoted = shlex.quote(path)
        return self.ask(f"[ -e {quoted} ] || [ -L {quoted} ]").ok

    def lstat(self, path: str) -> os.stat_result:
        # raw mode (hex), uid, gid, major and minor (hex), size, inode, the device it is on (decimal)
        answer = self.ask(f"stat -c '%f %u %g %t %T %s %i %d' {shlex.quote(path)} 2>&1")
        if not answer.ok:
            raise answer.error("stat of", path)
        mode, uid, gid, major, minor, size, inode, device = answer.output.split()
        result = (int(mode, 16), int(inode), int(device), 1, int(uid), int(gid), int(size), 0, 0, 0)
        return os.stat_result(result, {"st_rdev": os.makedev(int(major, 16), int(minor, 16))})

    def readlink(self, path: str) -> str:
        answer = self.ask(f"readlink {shlex.quote(path)} 2>&1")
        if not answer.ok:
            raise answer.error("reading the link", path)
        return answer.output.strip()

    def _act(self, command: str, action: str, path: str) -> OSError | None:
        answer = self.ask(command)
        return None if answer.ok else answer.error(action, path)

    def write(self, path: str, text: str = "x") -> OSError | None:
        return self._act(f"printf %s {shlex.quote(text)} 2>&1 >{shlex.quote(path)}", "writing to", path)

    def run_script(self, path: str) -> OSError | None:
        quoted = shlex.quote(path)
        made = self._act(f"printf '#!/bin/sh\\nexit 0\\n' 2>&1 >{quoted} && chmod 755 {quoted} 2>&1", "writing", path)
        if made is not None:
            return made
        return self._act(f"{quoted} 2>&1", "running", path)

    def mknod_and_open(self, path: str) -> OSError | None:
        made = self._act(f"mknod -m 666 {shlex.quote(path)} c 1 3 2>&1", "making a device node at", path)
        if made is not None:
            raise HarnessError(f"the program could not make the device node the check opens: {made}")
        return self._act(f": 2>&1 >{shlex.quote(path)}", "opening", path)

    def access_time_of_a_read(self, path: str, directory: bool, atime: int, mtime: int) -> tuple[int, int]:
        quoted = shlex.quote(path)
        make, read = (f"mkdir {quoted}", f"ls {quoted} >/dev/null") if directory else \
            (f"printf x >{quoted}", f"cat {quoted} >/dev/null")
        # busybox touch: -m then -a, each leaving the other time as it is; stat %X is the access time
        answer = self.ask(f"{{ {make} && touch -m -d @{mtime} {quoted} && touch -a -d @{atime} {quoted} && "
                          f"stat -c %X {quoted} && {read} && stat -c %X {quoted}; }} 2>&1")
        if not answer.ok:
            raise HarnessError(f"the program could not make and read {path} to see its access time: "
                               f"{answer.error('reading', path)}")
        before, after = answer.output.split()
        return int(before), int(after)

    def no_new_privs(self) -> bool:
        # Asked of the kernel the program runs on, by a program it starts (the bit is inherited and never
        # cleared): gVisor's /proc status has no NoNewPrivs line. Elsewhere than x86_64, the line or nothing.
        if platform.machine() != "x86_64":
            if "NoNewPrivs" not in self.status():
                unseen("no_new_privs flag", "its /proc/self/status has no NoNewPrivs line, and the prctl probe is "
                                            f"x86_64 code (this host is {platform.machine()})")
            return super().no_new_privs()
        program = f"{EXCHANGE_DIR}/no-new-privs-probe"
        answer = self.ask(f"{{ {installing(program, NO_NEW_PRIVS_PROGRAM, 0o755)}; }} 2>&1 && {shlex.quote(program)}")
        if answer.status not in (0, 1):
            raise HarnessError(f"prctl(PR_GET_NO_NEW_PRIVS) in the program gave neither 0 nor 1: exit status "
                               f"{answer.status} {answer.output.strip()}".rstrip())
        return answer.status == 1

    def bind_mount(self, source: str, target: str) -> OSError | None:
        return self._act(f"mkdir -p {shlex.quote(target)} 2>&1 && mount --bind {shlex.quote(source)} "
                         f"{shlex.quote(target)} 2>&1", f"binding {source} at", target)

    def setuid_works(self, path: str) -> bool:
        runner = f"{path}-as-user"
        made = self.ask(f"{{ {installing(path, EUID_PROGRAM, 0o4755)} && "
                        f"{installing(runner, AS_USER_PROGRAM, 0o755)}; }} 2>&1")
        if not made.ok:
            raise HarnessError(f"the program could not write the set-user-ID probe: {made.error('writing', path)}")
        ran = self.ask(f"{shlex.quote(runner)} {shlex.quote(path)} 2>&1")
        return self._ran_as_root(ran.status, ran.output)


def installing(path: str, program: bytes, mode: int) -> str:
    """A shell line by which the program writes ``program`` (elf.py) at ``path`` with ``mode`` itself."""
    quoted = shlex.quote(path)
    return f"printf '{printf_octal(program)}' >{quoted} && chmod {mode:o} {quoted}"


def unseen(what: str, why: str) -> NoReturn:
    """Skip the check: the inside view cannot see ``what`` of the program (``why``: what it tried)."""
    pytest.skip(f"the program's {what} cannot be seen from inside the container: {why}")


def view_of(container: Container) -> ProgramView:
    """The view the profile's container process calls for (see the module docstring)."""
    if container.runtime.container_process == SANDBOX:
        return InsideView(container)
    if container.pid is None:
        raise HarnessError("the host view needs the container's pid: create the container first")
    return HostView(container.pid)

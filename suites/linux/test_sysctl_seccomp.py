"""config-linux.md, Sysctl and Seccomp (with the container process state sent to a seccomp agent).

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxSysctl
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#configLinuxSeccomp
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md#containerprocessstate

Seccomp rules are checked on ``mkdir`` into the writable exchange folder: without the filter the
call succeeds, so an error (busybox prints strerror of the errno it got) or a death by SIGSYS
comes from the profile. ``mkdir`` and ``mkdirat`` are both named: which one the C library uses
depends on the architecture.
"""

from __future__ import annotations

import array
import errno
import json
import os
import platform
import signal
import socket
import threading

import pytest

from ocitest import EXCHANGE_DIR, needs, probe, requirement, since

MKDIR = ["mkdir", "mkdirat"]

#: System calls a busybox shell and the runtime's last steps before execve may need: everything
#: common to x86_64 and the generic table of Linux 6.1 except mkdir/mkdirat (names a kernel or
#: libseccomp does not know are left out of a filter by runtimes, so extra names are harmless).
ALLOW_ALL_BUT_MKDIR = """
accept accept4 access acct add_key adjtimex alarm arch_prctl bind bpf brk capget capset chdir chmod chown
chroot clock_adjtime clock_getres clock_gettime clock_nanosleep clock_settime clone clone3 close close_range
connect copy_file_range creat delete_module dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_pwait
epoll_wait eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fallocate
fanotify_init fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fgetxattr finit_module
flistxattr flock fork fremovexattr fsconfig fsetxattr fsmount fsopen fspick fstat fstatfs fsync ftruncate
futex get_mempolicy get_robust_list getcpu getcwd getdents getdents64 getegid geteuid getgid
getgroups getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresuid
getrlimit getrusage getsid getsockname getsockopt gettid gettimeofday getuid getxattr init_module
inotify_add_watch inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents io_pgetevents io_setup
io_submit io_uring_enter io_uring_register io_uring_setup ioctl ioprio_get ioprio_set kcmp
keyctl kill lchown lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat
madvise mbind membarrier memfd_create migrate_pages mincore mknod mknodat mlock mlock2 mlockall mmap mount
move_mount move_pages mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat
open open_by_handle_at open_tree openat openat2 pause personality pidfd_getfd pidfd_open
pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free pkey_mprotect poll ppoll prctl pread64 preadv
preadv2 prlimit64 process_madvise process_vm_readv process_vm_writev pselect6 ptrace pwrite64
pwritev pwritev2 quotactl read readahead readlink readlinkat readv recvfrom recvmmsg
recvmsg remap_file_pages removexattr rename renameat renameat2 request_key restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop sendfile sendmmsg sendmsg sendto set_mempolicy
set_robust_list set_tid_address setdomainname setfsgid setfsuid setgid setgroups
sethostname setitimer setns setpgid setpriority setregid setresgid setresuid setreuid setrlimit setsid
setsockopt settimeofday setuid setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd4 socket
socketpair splice stat statfs statx symlink symlinkat sync sync_file_range syncfs sysinfo
syslog tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_settime timerfd_create
timerfd_gettime timerfd_settime times tkill truncate umask umount2 uname unlink unlinkat unshare
utimensat utimes vfork vhangup vmsplice wait4 waitid write writev
""".split()

#: Native architecture -> (its libseccomp name, the compatibility architectures the kernel also runs).
ARCHES = {
    "x86_64": ("SCMP_ARCH_X86_64", ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    "aarch64": ("SCMP_ARCH_AARCH64", ["SCMP_ARCH_ARM"]),
    "ppc64le": ("SCMP_ARCH_PPC64LE", []),
    "s390x": ("SCMP_ARCH_S390X", ["SCMP_ARCH_S390"]),
}


# -- sysctl -----------------------------------------------------------------------------------


@requirement("linux.sysctl")
def test_sysctl_values_are_in_force_inside(new_container, new_bundle):
    # Both are namespaced (network and IPC namespaces of the default config), and both default to
    # 0 in a fresh namespace, so "1" can only come from the runtime.
    wanted = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
    bundle = new_bundle()
    bundle.config["linux"]["sysctl"] = wanted
    lines = [probe.say(key, f"$(cat /proc/sys/{key.replace('.', '/')})") for key in wanted]
    _, out = new_container(probe.sh(*lines), bundle=bundle).run_to_exit()
    seen = {key: (probe.facts(out).get(key) or ["(nothing)"])[0] for key in wanted}
    assert seen == wanted, f"sysctl {wanted}; inside the container /proc/sys gives {seen}"


# -- seccomp ----------------------------------------------------------------------------------


def mkdir_probe() -> list[str]:
    """Try mkdir in the exchange folder; report busybox's error text and the exit status."""
    return probe.sh(
        f"err=$(mkdir {EXCHANGE_DIR}/made 2>&1); rc=$?",
        probe.say("rc", "$rc"),
        probe.say("err", "$err"),
    )


def run_mkdir(new_container, new_bundle, seccomp: dict):
    bundle = new_bundle()
    bundle.config["linux"]["seccomp"] = seccomp
    container = new_container(mkdir_probe(), bundle=bundle)
    status, out = container.run_to_exit()
    facts = probe.facts(out)
    made = (bundle.exchange / "made").exists()
    return status, facts, made, out


def assert_failed_with(facts, made, out, errnum: int, what: str):
    err = (facts.get("err") or [""])[0]
    assert not made, f"{what}: mkdir succeeded inside the container ({out!r})"
    assert facts.get("rc") not in (None, ["0"]), f"{what}: mkdir did not fail ({out!r})"
    assert err.endswith(os.strerror(errnum)), (
        f"{what}: mkdir should fail with {errno.errorcode[errnum]} ({os.strerror(errnum)!r}); busybox said {err!r}")


@requirement("linux.seccomp-errno")
@pytest.mark.parametrize("errno_ret", [None, errno.EXDEV], ids=["default-EPERM", "errnoRet-EXDEV"])
def test_an_errno_rule_fails_the_call_with_its_errno(new_container, new_bundle, errno_ret):
    rule = {"names": MKDIR, "action": "SCMP_ACT_ERRNO"}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    status, facts, made, out = run_mkdir(new_container, new_bundle,
                                         {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]})
    assert_failed_with(facts, made, out, errno_ret or errno.EPERM, f"rule {rule}")


@requirement("linux.seccomp-errno")
@pytest.mark.parametrize("sys_admin", [False, True], ids=["without-CAP_SYS_ADMIN", "with-CAP_SYS_ADMIN"])
def test_an_errno_rule_applies_without_no_new_privileges(new_container, new_bundle, sys_admin):
    # The kernel loads a filter for a process without no_new_privs only while it holds CAP_SYS_ADMIN,
    # so a runtime must load it before it drops the capabilities `process` does not grant (runc then
    # loads it earlier than with noNewPrivileges, and runs its own last steps under it). The spec ties
    # seccomp to nothing else: the profile applies either way. A runtime that cannot apply it must
    # refuse the config with an error (runtime.md#runtimeCreate), which leaves nothing to judge here.
    bundle = new_bundle()
    process = bundle.config["process"]
    process["noNewPrivileges"] = False
    for kind, names in process["capabilities"].items():
        kept = [c for c in names if c != "CAP_SYS_ADMIN"]
        process["capabilities"][kind] = kept + ["CAP_SYS_ADMIN"] if sys_admin else kept
    rule = {"names": MKDIR, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV}
    bundle.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}
    container = new_container(mkdir_probe(), bundle=bundle)
    what = f"noNewPrivileges false, CAP_SYS_ADMIN {'granted' if sys_admin else 'not granted'}, rule {rule}"
    call = container.create(check=False)
    if not call.ok:
        pytest.skip(f"{what}: the runtime refused the config ({call.describe()}); a runtime that cannot apply a "
                    "property must refuse it (runtime.md#runtimeCreate), so the filter's effect cannot be judged")
    container.start()
    container.wait_exit()
    out = container.output()
    assert_failed_with(probe.facts(out), (bundle.exchange / "made").exists(), out, errno.EXDEV, what)


@requirement("linux.seccomp-default-action")
def test_the_default_action_and_errno_apply_to_unmatched_calls(new_container, new_bundle):
    seccomp = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.EDOM,
               "syscalls": [{"names": ALLOW_ALL_BUT_MKDIR, "action": "SCMP_ACT_ALLOW"}]}
    status, facts, made, out = run_mkdir(new_container, new_bundle, seccomp)
    assert facts.get("rc"), f"the program did not get as far as mkdir under an allow-list profile ({status}): {out!r}"
    assert_failed_with(facts, made, out, errno.EDOM,
                       "defaultAction SCMP_ACT_ERRNO, defaultErrnoRet EDOM, mkdir not allowed")


@requirement("linux.seccomp-kill")
# SCMP_ACT_KILL_PROCESS is a valid action from runtime-spec 1.1.0 on.
@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", pytest.param("SCMP_ACT_KILL_PROCESS", marks=since("1.1.0"))])
def test_a_kill_rule_kills_with_sigsys(new_container, new_bundle, action):
    bundle = new_bundle()
    bundle.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                         "syscalls": [{"names": MKDIR, "action": action}]}
    # mkdir is the container process itself, so its death is what the caller reaps.
    container = new_container(["/bin/mkdir", f"{EXCHANGE_DIR}/made"], bundle=bundle)
    container.create()
    container.start()
    status = container.wait_exit()
    assert not (bundle.exchange / "made").exists(), f"{action} on mkdir: mkdir succeeded"
    assert status is not None and status.signal == signal.SIGSYS, f"{action} on mkdir: the process ended with {status}"


@requirement("linux.seccomp-architectures")
@needs("machine_in", "architecture list", *ARCHES)
def test_a_profile_naming_the_host_architectures_applies(new_container, new_bundle):
    machine = platform.machine()
    native, compat = ARCHES[machine]
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": [native, *compat],
               "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV}]}
    status, facts, made, out = run_mkdir(new_container, new_bundle, seccomp)
    # Which errno the call gets is linux.seccomp-errno's (errnoRet is a 1.1.0 field): here the rule applying at all.
    what = f"architectures {[native, *compat]} with an errno rule on mkdir"
    assert not made, f"{what}: mkdir succeeded inside the container ({out!r})"
    assert facts.get("rc") not in (None, ["0"]), f"{what}: mkdir did not fail ({out!r})"


def run_mkdir32(new_container, new_bundle, seccomp: dict | None) -> tuple[str, bool, str]:
    """Run a 32-bit x86 mkdir as the container's program: how it ended (its exit status, which is
    the errno, or 128+31 for a death by SIGSYS, as the shell reports it), whether the directory was
    made, and the output."""
    bundle = new_bundle()
    if seccomp is not None:
        bundle.config["linux"]["seccomp"] = seccomp
    program = bundle.rootfs / "ocitest-mkdir32"
    program.write_bytes(probe.i386_mkdir_program(f"{EXCHANGE_DIR}/made32"))
    program.chmod(0o755)
    _, out = new_container(probe.sh("/ocitest-mkdir32", probe.say("status", "$?")), bundle=bundle).run_to_exit()
    return (probe.facts(out).get("status") or ["(none)"])[0], (bundle.exchange / "made32").exists(), out


@requirement("linux.seccomp-architectures")
@needs("machine_in", "32-bit x86 system call program", "x86_64")
@needs("ia32_syscalls")
def test_rules_apply_to_the_system_calls_of_a_listed_compat_architecture(new_container, new_bundle):
    # A 32-bit x86 mkdir (int $0x80) is SCMP_ARCH_X86 to seccomp. With the architecture listed, the
    # rule fails it with an errno; a runtime that ignored `architectures` loads a native-only filter, whose
    # bad-architecture action kills the program with SIGSYS (runc, crun: libseccomp's default).
    # First, without a profile: a sandbox that runs no 32-bit calls at all has nothing to judge.
    control, made, out = run_mkdir32(new_container, new_bundle, None)
    if control != "0" or not made:
        pytest.skip(f"without a seccomp profile the 32-bit x86 mkdir ended with {control} in this runtime's "
                    f"container ({out!r}), so a rule for SCMP_ARCH_X86 has no call to act on")
    architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    status, made, out = run_mkdir32(new_container, new_bundle, {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": architectures,
        "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV}]})
    what = f"architectures {architectures}, an errno rule (EXDEV) on mkdir, a 32-bit x86 mkdir"
    assert not made, f"{what}: the directory was made"
    assert status != str(128 + signal.SIGSYS), (
        f"{what}: the program was killed by SIGSYS, as under a filter without SCMP_ARCH_X86 ({out!r})")
    # Which errno it gets is linux.seccomp-errno's (errnoRet is a 1.1.0 field): here, that the rule applied.
    assert status != "0", f"{what}: the call succeeded ({out!r})"


#: A rule no other check's profile has, added to the two profiles below so that each is unlike any
#: profile an earlier check gave the runtime: crun caches compiled filters in its --root and its cache
#: does not tell two profiles apart by errnoRet, so without it this verdict depended on test order.
#: (acct is a syscall the probe never makes.)
UNIQUE_RULE = {"names": ["acct"], "action": "SCMP_ACT_ERRNO"}


def errno_with_wrong_action(config):
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": errno.EXDEV,
                                  "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_ERRNO"}, UNIQUE_RULE]}
    return "defaultErrnoRet with defaultAction SCMP_ACT_ALLOW"


def errno_ret_with_kill(config):
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_KILL", "errnoRet": errno.EXDEV},
                                               UNIQUE_RULE]}
    return "errnoRet on an SCMP_ACT_KILL rule"


@requirement("linux.seccomp-errno-unsupported-error")
@pytest.mark.parametrize("edit", [errno_with_wrong_action, errno_ret_with_kill], ids=["defaultErrnoRet", "errnoRet"])
def test_an_errno_on_an_action_without_one_is_an_error(new_container, new_bundle, edit):
    bundle = new_bundle()
    what = edit(bundle.config)
    container = new_container(probe.sh(probe.say("ran", "yes")), bundle=bundle)
    call = container.attempt()
    assert not call.ok, f"{what}: the runtime did not fail ({call.describe()})"
    assert (call.stderr or "").strip() or (call.stdout or "").strip(), \
        f"{what}: the runtime failed without printing an error ({call.describe()})"


# -- seccomp notify: the container process state --------------------------------------------


class Agent:
    """A seccomp agent: a listening AF_UNIX stream socket that records every connection."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(timeout)
        #: one entry per connection: list of (bytes, [fds]) per recvmsg, and whether EOF came
        self.connections: list[dict] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve_one, daemon=True)
        self.thread.start()

    def _serve_one(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError as exc:
            self.error = exc
            return
        record = {"chunks": [], "eof": False, "family": conn.family, "type": conn.type}
        self.connections.append(record)
        with conn:
            conn.settimeout(self.sock.gettimeout())
            try:
                while True:
                    data, ancdata, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
                    fds = []
                    for level, kind, payload in ancdata:
                        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                            fds += array.array("i", payload[: len(payload) - len(payload) % 4]).tolist()
                    if not data and not fds:
                        record["eof"] = True
                        return
                    record["chunks"].append((data, fds))
            except OSError as exc:
                self.error = exc

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        """Wait for the connection to end, then close what the agent holds.

        When the check ended early (the runtime refused the config), the agent stops listening at
        once: shutting the socket down ends a pending accept.
        """
        if exc_type is not None:
            self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(self.sock.gettimeout())
        for record in self.connections:
            for _, fds in record["chunks"]:
                for fd in fds:
                    os.close(fd)  # the notify fd: closing it makes notified calls fail, never hang
        self.sock.close()


@requirement("linux.seccomp-listener-state")
def test_the_container_process_state_reaches_the_agent(new_container, new_bundle, schemas):
    bundle = new_bundle()
    path = str(bundle.path / "agent.sock")
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path, "listenerMetadata": "ocitest-metadata",
        "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_NOTIFY"}],
    }
    container = new_container(probe.sh(probe.say("ran", "yes")), bundle=bundle)
    # The spec does not say when the state is sent: during create (runc) or during start (crun) are
    # both compliant. So the agent listens across create and start, and is finished (its connection
    # read to the end, or its wait for one over) before what it recorded is judged. The program
    # makes no notified call, so it never waits for the agent.
    with Agent(path, container.timeouts.wait) as agent:
        container.create_unless_refused("SCMP_ACT_NOTIFY with a listenerPath")
        state = container.state()
        container.start()
        agent.thread.join(container.timeouts.wait)
        container.wait_exit()
    assert agent.connections, f"the runtime never connected to listenerPath ({agent.error})"
    record = agent.connections[0]
    assert record["eof"], f"the runtime did not close the connection after sending the state ({agent.error})"
    payload = b"".join(data for data, _ in record["chunks"])
    fds_at = [i for i, (_, fds) in enumerate(record["chunks"]) if fds]
    all_fds = [fd for _, fds in record["chunks"] for fd in fds]
    try:
        sent = json.loads(payload)
    except ValueError:
        raise AssertionError(f"the payload on listenerPath is not one JSON document: {payload[:400]!r}") from None
    assert isinstance(sent, dict), f"the container process state is not a JSON object: {sent!r}"
    assert isinstance(sent.get("ociVersion"), str), f"the container process state has no ociVersion: {sent}"
    assert sent.get("fds") == ["seccompFd"], f"fds should name the one seccomp fd: {sent.get('fds')!r}"
    assert len(all_fds) == 1, f"fds names one descriptor; SCM_RIGHTS carried {len(all_fds)}"
    assert fds_at == [0], f"the descriptors must come with the first message; they came with messages {fds_at}"
    assert sent.get("pid") == state.get("pid"), f"pid {sent.get('pid')!r}; the container process is {state.get('pid')}"
    assert sent.get("metadata") == "ocitest-metadata", f"metadata should be listenerMetadata: {sent.get('metadata')!r}"
    inner = sent.get("state")
    assert isinstance(inner, dict) and inner.get("id") == container.id, f"state should be the container's: {inner!r}"
    problems = schemas.state_errors(inner)
    assert not problems, f"the state inside the container process state breaks the state schema: {problems}"


@requirement("linux.seccomp-listener-error")
def test_an_unreachable_listener_is_an_error(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(bundle.path / "nobody-listens.sock"),
        "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_NOTIFY"}],
    }
    container = new_container(probe.sh(probe.say("ran", "yes")), bundle=bundle)
    call = container.attempt()
    assert not call.ok, (
        f"listenerPath names a socket nobody listens on, yet the runtime did not fail ({call.describe()})"
    )

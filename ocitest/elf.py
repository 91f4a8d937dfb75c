"""Programs of a few bytes, written out as x86_64 machine code, for what busybox cannot do.

``i386_mkdir_program`` makes one 32-bit x86 system call from a 64-bit process:

Seccomp filters are per architecture: a rule reaches the system calls of the architectures the
filter lists, and a call of any other architecture gets the filter's bad-architecture action
(libseccomp's default: the process is killed with SIGSYS). On x86_64 a 64-bit program can make
an i386 system call with ``int $0x80``; the kernel (and seccomp) see it as SCMP_ARCH_X86. So
whether ``linux.seccomp.architectures`` was applied shows in what one such call gets. The
container's rootfs is a static busybox with no 32-bit program in it, hence this one, written
out byte by byte: no compiler or 32-bit library is needed on the host or in the rootfs.

``NO_NEW_PRIVS_PROGRAM`` reads the no_new_privs bit, which a sandbox's /proc/self/status may not show
(gVisor's has no NoNewPrivs line). ``EUID_PROGRAM`` and ``AS_USER_PROGRAM`` show whether a set-user-ID
bit works on a mount (the effect of ``nosuid``/``suid``): the first, made set-user-ID root, exits with
its effective uid; the second, run as root, becomes an unprivileged user and executes its argument.
busybox cannot stand in for either: its set-user-ID handling drops the privilege by itself, and its
``setpriv`` cannot change the uid.
"""

from __future__ import annotations

import struct

#: i386 system call number of mkdir (arch/x86/entry/syscalls/syscall_32.tbl).
I386_MKDIR = 39
#: x86_64 system call number of exit.
X86_64_EXIT = 60
#: Where a static x86_64 executable is loaded, and the size of its headers (ELF + one program header).
_BASE, _HEADERS = 0x400000, 64 + 56


#: x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
X86_64_GETEUID, X86_64_SETRESUID, X86_64_SETRESGID, X86_64_SETGROUPS, X86_64_EXECVE = 107, 117, 119, 116, 59
X86_64_PRCTL = 157
#: prctl option (include/uapi/linux/prctl.h): returns the calling thread's no_new_privs bit.
PR_GET_NO_NEW_PRIVS = 39
#: The unprivileged user AS_USER_PROGRAM becomes (uid and gid); EUID_PROGRAM's status shows its low byte.
UNPRIVILEGED = 1000


def executable(code: bytes) -> bytes:
    """A static x86_64 ELF executable whose one loaded segment is ``code`` (entry at its first byte)."""
    size = _HEADERS + len(code)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)  # 64-bit, little-endian, ELF version 1, System V
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, _BASE + _HEADERS, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)  # PT_LOAD, read+execute
    return header + load + code


def _call(number: int, *args: int) -> bytes:
    """Load up to three 32-bit arguments (edi, esi, edx) and make x86_64 system call ``number``."""
    registers = (b"\xbf", b"\xbe", b"\xba")[:len(args)]  # mov edi / esi / edx, imm32
    code = b"".join(op + struct.pack("<I", a) for op, a in zip(registers, args, strict=True))
    return code + b"\xb8" + struct.pack("<I", number) + b"\x0f\x05"


def _exit_with(status: int | None = None) -> bytes:
    """exit(status), or exit(eax & 0xff) with None (the result of the call before)."""
    return (b"\x89\xc7" if status is None else b"\xbf" + struct.pack("<I", status)) + _call(X86_64_EXIT)


#: geteuid(); exit(euid): status 0 when it ran as root, UNPRIVILEGED & 0xff when the bit was ignored.
EUID_PROGRAM = executable(_call(X86_64_GETEUID) + _exit_with())


def _as_user_program() -> bytes:
    """setresgid(U, U, U); setgroups(0, NULL); setresuid(U, U, U); execve(argv[1], &argv[1], envp);
    status 127 when any of them fails (U = UNPRIVILEGED)."""
    fail = _exit_with(127)
    check = b"\x85\xc0\x75"  # test eax, eax; jnz rel8 (to the final exit, patched below)
    exec_code = (b"\x48\x8b\x7c\x24\x10"            # mov rdi, [rsp+16]: argv[1]
                 b"\x48\x8d\x74\x24\x10"            # lea rsi, [rsp+16]: &argv[1]
                 b"\x48\x8b\x0c\x24"                 # mov rcx, [rsp]: argc
                 b"\x48\x8d\x54\xcc\x10"            # lea rdx, [rsp+rcx*8+16]: envp
                 + _call(X86_64_EXECVE))
    steps = [_call(X86_64_SETRESGID, UNPRIVILEGED, UNPRIVILEGED, UNPRIVILEGED), _call(X86_64_SETGROUPS, 0, 0),
             _call(X86_64_SETRESUID, UNPRIVILEGED, UNPRIVILEGED, UNPRIVILEGED)]
    code = b""
    for index, step in enumerate(steps):
        rest = sum(len(s) + len(check) + 1 for s in steps[index + 1:]) + len(exec_code)
        code += step + check + bytes([rest])
    return executable(code + exec_code + fail)


#: Run as root with a program's path as argument: executes it as uid and gid UNPRIVILEGED, no groups.
AS_USER_PROGRAM = _as_user_program()

#: prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); exit(result): status 1 or 0, the no_new_privs bit (which
#: execve keeps and nothing clears, so the bit of whoever runs it). The unused arguments must be 0:
#: r10 and r8 are zeroed first (xor r10d, r10d; xor r8d, r8d).
NO_NEW_PRIVS_PROGRAM = executable(b"\x45\x31\xd2\x45\x31\xc0" + _call(X86_64_PRCTL, PR_GET_NO_NEW_PRIVS, 0, 0)
                                  + _exit_with())


def printf_octal(data: bytes) -> str:
    """``data`` as a busybox ``printf`` format of octal escapes (a program the container writes itself)."""
    return "".join(f"\\{byte:03o}" for byte in data)


def i386_mkdir_program(path: str, mode: int = 0o755) -> bytes:
    """An x86_64 ELF executable that calls i386 ``mkdir(path, mode)`` and exits with its errno (0: made).

    The code: eax = 39, ebx = path, ecx = mode, ``int $0x80``; then exit (64-bit ``syscall``) with
    the negated result as status. Killed by a seccomp filter, its parent sees SIGSYS instead.
    """
    code_size = 28
    where = _BASE + _HEADERS + code_size
    code = (b"\xb8" + struct.pack("<I", I386_MKDIR)      # mov eax, 39
            + b"\xbb" + struct.pack("<I", where)          # mov ebx, path
            + b"\xb9" + struct.pack("<I", mode)           # mov ecx, mode
            + b"\xcd\x80"                                 # int 0x80
            + b"\x89\xc7"                                 # mov edi, eax
            + b"\xf7\xdf"                                 # neg edi
            + b"\xb8" + struct.pack("<I", X86_64_EXIT)    # mov eax, 60
            + b"\x0f\x05")                                # syscall
    assert len(code) == code_size
    return executable(code + path.encode() + b"\0")

"""A program of a few bytes that makes one 32-bit x86 system call from a 64-bit process.

Seccomp filters are per architecture: a rule reaches the system calls of the architectures the
filter lists, and a call of any other architecture gets the filter's bad-architecture action
(libseccomp's default: the process is killed with SIGSYS). On x86_64 a 64-bit program can make
an i386 system call with ``int $0x80``; the kernel (and seccomp) see it as SCMP_ARCH_X86. So
whether ``linux.seccomp.architectures`` was applied shows in what one such call gets. The
container's rootfs is a static busybox with no 32-bit program in it, hence this one, written
out byte by byte: no compiler or 32-bit library is needed on the host or in the rootfs.
"""

from __future__ import annotations

import struct

#: i386 system call number of mkdir (arch/x86/entry/syscalls/syscall_32.tbl).
I386_MKDIR = 39
#: x86_64 system call number of exit.
X86_64_EXIT = 60
#: Where a static x86_64 executable is loaded, and the size of its headers (ELF + one program header).
_BASE, _HEADERS = 0x400000, 64 + 56


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
    body = code + path.encode() + b"\0"
    size = _HEADERS + len(body)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)  # 64-bit, little-endian, ELF version 1, System V
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, _BASE + _HEADERS, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)  # PT_LOAD, read+execute
    return header + load + body

"""Linux capability numbers, and what the kernel leaves of configured sets after execve.

The runtime sets the five sets before it executes the user program; execve then recomputes
permitted, effective and ambient (capabilities(7), "Transformation of capabilities during
execve()"). The busybox binary has no file capabilities and is not set-user-ID, so:

* ambient' = ambient (the kernel only keeps ambient capabilities that are both permitted and
  inheritable; it clears ambient only for files with capabilities or set-id bits);
* for uid 0 (no SECBIT_NOROOT): permitted' = (bounding | inheritable), limited to the permitted
  set held before execve when no_new_privs is set, then | ambient'; effective' = permitted';
* for any other uid: permitted' = effective' = ambient';
* bounding and inheritable are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Capability name -> its bit in the kernel's masks.
CAPABILITY_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
    "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}
#: config.json's capability sets and the /proc/PID/status fields that show them.
CAPABILITY_SETS = {"bounding": "CapBnd", "inheritable": "CapInh", "permitted": "CapPrm", "effective": "CapEff",
                   "ambient": "CapAmb"}


def capability_mask(names: Iterable[str]) -> int:
    return sum(1 << CAPABILITY_NUMBERS[n] for n in names)


def capability_names(value: int) -> list[str]:
    return sorted(n for n, bit in CAPABILITY_NUMBERS.items() if value >> bit & 1)


def capabilities_after_execve(config_caps: dict, uid: int, no_new_privs: bool) -> dict[str, int]:
    """The masks /proc/PID/status should show for the user program (see the module docstring)."""
    sets = {name: capability_mask(config_caps.get(name, [])) for name in CAPABILITY_SETS}
    ambient = sets["ambient"] & sets["permitted"] & sets["inheritable"]
    permitted = ambient
    if uid == 0:
        legacy = sets["bounding"] | sets["inheritable"]
        if no_new_privs:
            legacy &= sets["permitted"]
        permitted |= legacy
    return {"bounding": sets["bounding"], "inheritable": sets["inheritable"], "permitted": permitted,
            "effective": permitted, "ambient": ambient}

"""The cgroup driver a run asks of the runtime, and what it makes of ``linux.cgroupsPath``.

With its own cgroupfs code a runtime takes cgroupsPath as the spec says: a path in the cgroup
hierarchies. With the systemd driver (runc's and crun's ``--systemd-cgroup``, what containerd and
CRI-O users run on systemd hosts) the runtime asks systemd for a transient scope instead, and
cgroupsPath must be written ``slice:prefix:name``: the container lands in
``<slice>/<prefix>-<name>.scope``. The checks ask for a cgroup in the path form (``/ID``,
``ID/inner``); the driver turns that into what the runtime reads and says where it lands, so that
one suite serves both drivers. The checks of the path form itself need the cgroupfs driver (the
``cgroupfs_driver`` condition).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem
from .profile import Profile

DRIVERS = ("cgroupfs", "systemd")
#: Where the systemd driver's scopes go: the slice of system services, which exists on every
#: systemd host (a slice of our own would be one more unit to remove).
SYSTEMD_SLICE = "system.slice"
#: What exists when systemd is the init (sd_booted(3)).
SYSTEMD_RUNNING = Path("/run/systemd/system")
#: The scope's prefix; with the ID that follows it, the unit is ``ocitest-<rest of the path>.scope``.
SYSTEMD_PREFIX = "ocitest"


@dataclass(frozen=True)
class CgroupDriver:
    name: str = "cgroupfs"
    #: Where absolute paths start (cgroupfs): the hierarchy's root, or for a rootless run the
    #: cgroup delegated to it (host.delegated_cgroup), the only place it may make cgroups.
    base: str = ""

    @property
    def systemd(self) -> bool:
        return self.name == "systemd"

    def config_value(self, path: str) -> str:
        """What goes into ``linux.cgroupsPath`` for the cgroup the check asks for as ``path``."""
        if self.systemd:
            return f"{SYSTEMD_SLICE}:{SYSTEMD_PREFIX}:{self._scope_name(path)}"
        return self.base.rstrip("/") + path if path.startswith("/") else path

    def landing(self, path: str) -> str | None:
        """Where that cgroup is, from a hierarchy's root; None when the runtime decides (a relative
        path under cgroupfs: the spec lets the runtime choose where it starts)."""
        if self.systemd:
            return f"{SYSTEMD_SLICE}/{SYSTEMD_PREFIX}-{self._scope_name(path)}.scope"
        return self.config_value(path).strip("/") if path.startswith("/") else None

    def top(self, path: str) -> str:
        """What clean-up removes, with all below it, for the cgroup asked for as ``path``: the scope
        the systemd driver made, else the path's first level (below ``base`` when absolute)."""
        if self.systemd:
            return self.landing(path) or ""
        first = path.strip("/").split("/")[0]
        return "/".join(filter(None, (self.base.strip("/") if path.startswith("/") else "", first)))

    @staticmethod
    def _scope_name(path: str) -> str:
        # "/ocitest-12-3/inner" -> "12-3-inner": the unit ocitest-12-3-inner.scope.
        joined = "-".join(part for part in path.split("/") if part)
        return joined.removeprefix(SYSTEMD_PREFIX + "-")


def choose(requested: str | None, profile: Profile, args: list[str], *,
           rootless: bool = False) -> tuple[str, list[str]]:
    """The driver of the run and the runtime's global options with it.

    ``requested`` is ``--cgroup-driver``; without it, the driver is systemd when the user passed the
    profile's systemd option with ``--runtime-arg`` already, else cgroupfs.
    """
    given = bool(profile.systemd_cgroup) and any(a in args for a in profile.systemd_cgroup)
    if requested is None:
        requested = "systemd" if given else "cgroupfs"
    if requested == "cgroupfs":
        if given:
            raise EnvironmentProblem(f"--cgroup-driver cgroupfs, yet --runtime-arg gives "
                                     f"{' '.join(profile.systemd_cgroup)} (the systemd driver): choose one")
        return requested, args
    if not profile.systemd_cgroup:
        raise EnvironmentProblem(f"--cgroup-driver systemd: profile {profile.name} names no option that selects the "
                                 "systemd cgroup driver; pass the runtime's own with --runtime-arg and --profile")
    if rootless:
        raise EnvironmentProblem("--cgroup-driver systemd with --rootless is not supported: the scopes would go to "
                                 "the user's systemd manager, which ocitest does not clean up yet")
    if not SYSTEMD_RUNNING.is_dir():
        raise EnvironmentProblem("--cgroup-driver systemd: this host does not run systemd (no /run/systemd/system), "
                                 "so there is no systemd to manage the cgroups")
    return requested, args + [a for a in profile.systemd_cgroup if a not in args]

"""The host in a few words for a report (kernel, cgroup layout, machine): results from two
hosts differ for these reasons more often than for the runtime's."""

from __future__ import annotations

import platform

from .cgroups import cgroup_layout


def kernel() -> str:
    return platform.release()


def facts() -> dict[str, str]:
    return {"kernel": kernel(), "cgroup": cgroup_layout(), "machine": platform.machine()}

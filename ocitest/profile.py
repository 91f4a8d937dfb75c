"""Runtime profiles: how the harness talks to one runtime (data in ``ocitest/profiles/*.toml``).

A profile changes only the *dialect* of the conversation: global options the runtime needs on
this kind of host, how ``--console-socket`` and ``kill``'s signal are passed, and whether the
state pid is the program itself or a sandbox around it (gVisor, Kata). It never changes what
counts as a violation: the command-line-interface suite still judges each dialect difference
from runtime-tools' document as a failed requirement.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources

from .errors import EnvironmentProblem

CONSOLE_SOCKET_DIALECTS = ("path", "fd")
KILL_DIALECTS = ("positional", "option")
CONTAINER_PROCESS_KINDS = ("process", "sandbox")


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    binaries: tuple[str, ...] = ()
    version_pattern: str | None = None
    #: Prepended to the user's --runtime-arg options on every call.
    global_args: tuple[str, ...] = ()
    #: "path": --console-socket names a listening AF_UNIX socket (runc, crun);
    #: "fd": it is the number of an inherited, connected socket (the CLI document).
    console_socket: str = "path"
    #: "positional": ``kill ID SIGNAL`` (runc); "option": ``kill --signal SIGNAL ID`` (the document).
    kill_signal: str = "positional"
    #: "process": the state pid is the container process, as seen by the host.
    #: "sandbox": it is a sandbox/VM process around the program: exit status still comes from
    #: it, but host-side /proc views of it are not the program's.
    container_process: str = "process"
    #: The global options that switch the runtime to the systemd cgroup driver (``--cgroup-driver
    #: systemd``); empty when the profile knows of none.
    systemd_cgroup: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    guessed: bool = field(default=False, compare=False)

    @property
    def sandboxed(self) -> bool:
        return self.container_process == "sandbox"

    def runtime_args(self, user_args: list[str]) -> list[str]:
        """The profile's global options, then the user's (a user's copy is not repeated)."""
        return [a for a in self.global_args if a not in user_args] + list(user_args)

    def to_json(self) -> dict:
        return {"name": self.name, "guessed": self.guessed, "console_socket": self.console_socket,
                "kill_signal": self.kill_signal, "container_process": self.container_process,
                "global_args": list(self.global_args), "systemd_cgroup": list(self.systemd_cgroup)}


def _parse(name: str, text: str) -> Profile:
    data = tomllib.loads(text)
    problems = []
    for key, allowed in (("console_socket", CONSOLE_SOCKET_DIALECTS), ("kill_signal", KILL_DIALECTS),
                         ("container_process", CONTAINER_PROCESS_KINDS)):
        if data.get(key, allowed[0]) not in allowed:
            problems.append(f"{key} must be one of {', '.join(allowed)}")
    unknown = set(data) - {f for f in Profile.__dataclass_fields__ if f != "guessed"}
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    if data.get("name") != name:
        problems.append(f"name {data.get('name')!r} differs from the file name")
    if problems:
        raise ValueError(f"profile {name}: " + "; ".join(problems))
    for key in ("binaries", "global_args", "systemd_cgroup", "needs", "notes"):
        if key in data:
            data[key] = tuple(data[key])
    return Profile(**data)


def available() -> list[str]:
    folder = resources.files("ocitest") / "profiles"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name: str) -> Profile:
    """The named profile; an unknown name is an environment problem listing the known ones."""
    if name not in available():
        raise EnvironmentProblem(f"unknown profile {name!r}: choose one of {', '.join(available())}")
    return _parse(name, (resources.files("ocitest") / "profiles" / f"{name}.toml").read_text())


def guess_profile(runtime_path: str, version_line: str) -> Profile:
    """By the binary's name, else by the first line of ``--version``; else the generic profile."""
    base = os.path.basename(runtime_path)
    profiles = [load_profile(n) for n in available()]
    for profile in profiles:
        if base in profile.binaries:
            return _mark_guessed(profile)
    for profile in profiles:
        if profile.version_pattern and re.search(profile.version_pattern, version_line):
            return _mark_guessed(profile)
    return _mark_guessed(load_profile("generic"))


def _mark_guessed(profile: Profile) -> Profile:
    return replace(profile, guessed=True)

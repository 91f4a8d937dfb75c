"""The plugin's command-line options, declared once.

pytest parses them (``pytest_addoption`` adds this table to its parser); ``ocitest run`` hands
its arguments to pytest unparsed and shows this same table in ``ocitest run --help``, and
``ocitest doctor`` takes the few it shares with a run from here, so an option's name, default
and help text cannot drift between the two ways in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from .cgroupdriver import DRIVERS
from .specversion import NEWEST, RELEASES

#: The option group's name and title, in pytest's ``--help`` and in ``ocitest run --help``.
GROUP = ("ocitest", "OCI runtime compliance (ocitest)")


@dataclass(frozen=True)
class Option:
    """One option: its flags and argparse keywords (pytest's parser takes argparse's)."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: An environment variable giving the default, read when the option is declared (not at import).
    env: str | None = None

    @property
    def flag(self) -> str:
        return self.flags[0]


class AddOption(Protocol):
    """``addoption`` of a pytest option group, or ``add_argument`` of an argparse parser."""

    def __call__(self, *flags: str, **kwargs: Any) -> Any: ...


OPTIONS: tuple[Option, ...] = (
    Option(("--runtime",), dict(
        help="runtime binary to test: a path or a command on PATH (default: $OCITEST_RUNTIME)"),
        env="OCITEST_RUNTIME"),
    Option(("--runtime-arg",), dict(
        action="append", default=[], metavar="ARG",
        help="global option passed to every runtime call, before the command; repeatable "
             "(write --runtime-arg=--flag for values that start with '-')")),
    Option(("--profile",), dict(
        dest="ocitest_profile", metavar="NAME",
        help="how to talk to the runtime (ocitest/profiles: runc, crun, runsc, youki, kata-runtime, "
             "generic, document); default: guessed from the binary's name and --version")),
    Option(("--rootless",), dict(
        dest="ocitest_rootless", action="store_true",
        help="run as an unprivileged user against the runtime's rootless mode: configs get a user "
             "namespace mapping root to the caller; checks that need privilege are skipped")),
    Option(("--cgroup-driver",), dict(
        dest="ocitest_cgroup_driver", choices=DRIVERS,
        help="how the runtime manages cgroups: cgroupfs (its own code) or systemd (the profile's option, e.g. "
             "runc's --systemd-cgroup; cgroupsPath is then written slice:prefix:name); default: systemd when "
             "--runtime-arg gives that option, else cgroupfs")),
    Option(("--json",), dict(dest="ocitest_json", metavar="FILE",
                             help="write the JSON report (ocitest-report/1) here")),
    Option(("--html",), dict(dest="ocitest_html", metavar="FILE",
                             help="write the HTML report (one self-contained file) here")),
    Option(("--tap",), dict(dest="ocitest_tap", metavar="FILE",
                            help="write a TAP 13 report here: one line per requirement with a YAML block")),
    Option(("--keep-failed",), dict(
        dest="ocitest_keep_failed", metavar="DIR",
        help="for each failed test, keep its bundle and a reproduce.sh of the runtime calls in DIR")),
    Option(("--schema-dir",), dict(
        metavar="DIR",
        help="runtime-spec JSON Schema folder (default: $OCITEST_SCHEMA_DIR, else the Debian package's)")),
    Option(("--busybox",), dict(metavar="PATH",
                                help="static busybox for the container rootfs (default: /bin/busybox)")),
    Option(("--runtime-timeout",), dict(
        type=float, default=None, metavar="S",
        help="time limit of one runtime call, seconds (default: 10 times the slowest call of the preflight, "
             "10 to 30)")),
    Option(("--wait-timeout",), dict(
        type=float, default=None, metavar="S",
        help="time limit for a container's output or exit, seconds (default: 10 times the slowest wait of the "
             "preflight, 10 to 30)")),
    Option(("--test-timeout",), dict(
        type=float, default=None, metavar="S",
        help="hard limit of each phase (setup, call, teardown) of one test, seconds; 0 turns it off "
             "(default: ten times the larger of the two timeouts above, at least 120)")),
    Option(("--spec-version",), dict(
        dest="ocitest_spec_version", choices=RELEASES, metavar="V",
        help=f"judge against runtime-spec release V ({', '.join(RELEASES)}); default: the version the runtime "
             f"declares (features' ociVersionMax, else the spec: line of --version), else {NEWEST}")),
    Option(("--judge-cli",), dict(
        dest="ocitest_judge_cli", action="store_true",
        help="count runtime-tools' command-line-interface document in the verdict and the exit status too (for a "
             "runtime that claims to follow it); without it, its verdict is shown apart")),
    Option(("--judge-runc-compat",), dict(
        dest="ocitest_judge_runc_compat", action="store_true",
        help="count the runc-compatibility verdict (the runc command line container engines call: exec, pause, "
             "update, ps, ...) in the verdict and the exit status too; without it, its verdict is shown apart")),
    Option(("--strict-verdict",), dict(action="store_true", help="exit 1 on a yellow verdict too")),
    Option(("--skip-preflight",), dict(
        action="store_true", help="do not check first that the runtime can create the simplest container")),
)

#: What ``ocitest doctor`` shares with a run: how to reach the runtime and what its bundles need.
RUNTIME_OPTIONS = ("--runtime", "--runtime-arg", "--profile", "--rootless", "--cgroup-driver", "--schema-dir",
                   "--busybox", "--spec-version")


def add_options(add: AddOption, flags: tuple[str, ...] | None = None) -> None:
    """Declare the options (all, or those of ``flags``) through ``add``."""
    for option in OPTIONS:
        if flags is None or option.flag in flags:
            kwargs = dict(option.kwargs)
            if option.env:
                kwargs["default"] = os.environ.get(option.env)
            add(*option.flags, **kwargs)

"""What happened in a test, recorded as it happened, so that a reproducer can replay it in order.

A test's record is one list of events: the runtime calls (``runtime.Call``, each with the
``Operation`` the harness meant) and the harness's own steps between them (``Step``: the start
token written, a wait for output or for the exit, stdin closed). The reproducer turns each event
into script lines; it does not have to re-read argv to know the operation, nor guess from a
call's output where the harness had waited.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    """A runtime call as the harness meant it, for the replay (the report keeps argv only)."""

    #: create, start, state, kill or delete; "" for a call a test made with arguments of its own.
    name: str = ""
    container: str | None = None
    #: The folder the call ran in, when the harness chose one (a relative --bundle, or none).
    cwd: str | None = None
    #: create: the bundle folder the runtime was pointed at, absolute (also without --bundle).
    bundle: str | None = None
    #: What the call got as stdin: "null" (/dev/null), "container" (the container's stdin pipe,
    #: held open by the harness; stdout and stderr were the container's pipes too), or "test"
    #: (a descriptor the test made).
    stdin: str = "null"
    #: create --console-socket: "path" (a socket the harness listened on) or "fd" (an inherited one).
    console: str = ""
    #: Descriptors the call inherited at their numbers (LISTEN_FDS, a console socket).
    inherited: tuple[int, ...] = ()
    #: The caller's oom_score_adj and execution domain, when the harness set them for the call.
    oom_score_adj: int | None = None
    personality: str | None = None


class StepKind(enum.Enum):
    """The harness's acts between runtime calls that a runtime's behaviour can depend on."""

    #: The harness created a file (``Step.detail``) that programs look for: start was invoked.
    START_TOKEN = "start-token"
    #: The harness closed the container's stdin (ends a program that reads until EOF).
    CLOSE_STDIN = "close-stdin"
    #: The harness waited until the container printed ``Step.detail`` on stdout.
    WAIT_OUTPUT = "wait-output"
    #: The harness waited for the container process's exit.
    WAIT_EXIT = "wait-exit"
    #: The harness waited until the container's stdout and stderr were closed.
    WAIT_EOF = "wait-eof"


@dataclass(frozen=True)
class Step:
    """One act of the harness, recorded when it happened, with the container it was about."""

    kind: StepKind
    container: str
    #: The container's bundle folder: where its stdio and exchange folder are.
    bundle: str
    detail: str = ""

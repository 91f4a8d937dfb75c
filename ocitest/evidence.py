"""What a failed test leaves for the reader of its report: each container's config and output.

A red is only as convincing as its evidence. For every test that did not pass, the report keeps,
per container: the config.json the runtime was given (and how it differs from ocitest's default
config, which is usually the point of the test), what the program printed on stdout and stderr,
and how it ended. The runtime calls themselves are recorded separately (``tests[].calls``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

#: Output kept per stream and container, from the start (the end is rarely the interesting part).
KEEP_OUTPUT = 16384


def config_changes(default: Any, used: Any, path: str = "") -> list[dict]:
    """How ``used`` differs from ``default``, as JSON-Pointer paths (RFC 6901) with add/remove/replace.

    Lists of equal length are compared item by item; lists of different length are replaced as
    a whole, which keeps the output short and still exact.
    """
    if isinstance(default, dict) and isinstance(used, dict):
        changes: list[dict] = []
        for key in default:
            pointer = f"{path}/{_escape(key)}"
            if key not in used:
                changes.append({"op": "remove", "path": pointer, "old": default[key]})
            else:
                changes += config_changes(default[key], used[key], pointer)
        for key in used:
            if key not in default:
                changes.append({"op": "add", "path": f"{path}/{_escape(key)}", "value": used[key]})
        return changes
    if isinstance(default, list) and isinstance(used, list) and len(default) == len(used):
        changes = []
        for index, (a, b) in enumerate(zip(default, used, strict=True)):
            changes += config_changes(a, b, f"{path}/{index}")
        return changes
    if default == used and type(default) is type(used):
        return []
    return [{"op": "replace", "path": path or "/", "old": default, "value": used}]


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


@dataclass
class ContainerEvidence:
    """One container of a test, as the report shows it."""

    id: str
    bundle: str
    config: dict | None
    config_changes: list[dict]
    stdout: str
    stderr: str
    exit: str | None

    def to_json(self) -> dict:
        return asdict(self)


def of_container(container) -> ContainerEvidence:
    """Evidence of a ``Container`` after its test: the config as written (what the runtime read)."""
    bundle = container.bundle
    try:
        config = json.loads(bundle.config_path.read_text())
    except (OSError, ValueError):
        config = bundle.config
    stdio = container.stdio
    if stdio.stdout_fd >= 0:
        stdio.take()  # what the program printed that the test did not read
    status = container.watch.status if container.watch is not None else None
    return ContainerEvidence(
        id=container.id,
        bundle=str(bundle.path),
        config=config,
        config_changes=config_changes(bundle.default, config) if bundle.default else [],
        stdout=bytes(stdio.out[:KEEP_OUTPUT]).decode("utf-8", "replace"),
        stderr=bytes(stdio.err[:KEEP_OUTPUT]).decode("utf-8", "replace"),
        exit=None if status is None else str(status),
    )

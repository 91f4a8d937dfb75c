"""TAP 13 (``--tap FILE``): one line per requirement with a YAML block. (Being written.)"""

from __future__ import annotations

import os


def render(report: dict) -> str:
    raise NotImplementedError


def write(report: dict, path: str | os.PathLike) -> None:
    raise NotImplementedError

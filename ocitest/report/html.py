"""The HTML report (``--html FILE``): one self-contained file for a certifier. (Being written.)"""

from __future__ import annotations

import os


def render(report: dict) -> str:
    raise NotImplementedError


def write(report: dict, path: str | os.PathLike) -> None:
    raise NotImplementedError

"""Reproducers of failed tests (``--keep-failed DIR``): bundle plus reproduce.sh. (Being written.)"""

from __future__ import annotations

from pathlib import Path


def keep(root: Path, nodeid: str, containers: list, calls: list, rootfs_template: Path) -> Path:
    raise NotImplementedError

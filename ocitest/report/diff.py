"""``ocitest diff OLD NEW``: regressions, fixes, new skips, new requirements. (Being written.)"""

from __future__ import annotations


def compare(old: dict, new: dict):
    raise NotImplementedError


def render_text(result) -> str:
    raise NotImplementedError


def render_json(result) -> str:
    raise NotImplementedError

"""``ocitest matrix A.json B.json ...``: requirements x runtimes. (Being written.)"""

from __future__ import annotations


def render_text(reports: list[dict]) -> str:
    raise NotImplementedError


def render_html(reports: list[dict]) -> str:
    raise NotImplementedError

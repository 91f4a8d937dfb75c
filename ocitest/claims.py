"""Checks of optional fields run only where the runtime says (in ``features``) that it supports them."""

from __future__ import annotations

import pytest

from .runtime import RuntimeInfo


def skip_unless_claimed(runtime_info: RuntimeInfo, key: str) -> None:
    """Skip the calling test, with the reason, unless the runtime's features mention ``key``."""
    claim = runtime_info.claims(key)
    if claim is None:
        pytest.skip(f"the runtime has no `features` command, so it does not claim `{key}`")
    if not claim:
        pytest.skip(f"the runtime's features do not claim `{key}`")

"""Checks of optional fields run only where the runtime says (in ``features``) that it supports them.

Prefer the marker ``@needs("claims", key)`` (conditions.py), which ``ocitest doctor`` sees before a
run; this inline form remains for a check that learns the key only while it runs.
"""

from __future__ import annotations

import pytest

from .conditions import CONDITIONS, Context
from .runtime import RuntimeInfo


def skip_unless_claimed(runtime_info: RuntimeInfo, key: str) -> None:
    """Skip the calling test, with the reason, unless the runtime's features mention ``key``."""
    reason = CONDITIONS["claims"].check(Context(runtime_info), key)
    if reason is not None:
        pytest.skip(reason)

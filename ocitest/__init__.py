"""ocitest: an OCI runtime compliance harness.

Data flow of one check: bundle (config.json + rootfs) -> runtime (the command-line API) ->
caller (stdio, exit code, console) -> verdict (per requirement) -> report.

The suite-facing API: a file under suites/ imports only from ``ocitest`` (the names in
``__all__`` below), ``ocitest.host`` (facts about the host: mounts, cgroups, processes,
capabilities, what the host supports), ``ocitest.probe`` (the program a container runs) and
``ocitest.provisions`` (what a check makes on the host for a container; its bundle holds it).
Everything else may move without a suite noticing; tests/test_suite_api.py holds the suites
to this.
"""

from __future__ import annotations

import pytest

from .bundle import Bundle
from .caller import PidfdSocket, pidfd_target, reap_strays

# needs: declare what the check needs from the host, the runtime's self-description or the run:
# ``@needs("cgroup_controller", "memory")`` (names and reasons in ocitest/conditions.py). Unmet,
# the test is skipped with the reason, and ``ocitest doctor`` lists that skip before any run.
from .conditions import needs, no_features_command
from .config import EXCHANGE_DIR
from .container import START_TOKEN, new_container_id
from .errors import HarnessError, RuntimeTimeout, Violation
from .requirements import load_catalog
from .runstate import runtime_self_description
from .runtime import Call, Runtime, RuntimeInfo, Wiring
from .schema import FEATURES_SCHEMA, Schemas
from .view import ProgramView, unseen
from .waits import read_available, readable, set_nonblocking

__version__ = "0.1.0"

SPEC_VERSION = "1.3.0"

#: Tie a test to the catalog requirement(s) it checks: ``@requirement("runtime.state-schema")``.
requirement = pytest.mark.requirement

#: Date a test or a parametrized case newer than its requirement: ``pytest.param("time", marks=since("1.1.0"))``
#: (the ``time`` namespace type came in 1.1.0). Judged at an older release, its outcome counts for nothing.
since = pytest.mark.since


__all__ = [
    # marking a check
    "requirement", "needs", "since", "SPEC_VERSION",
    # what went wrong
    "Violation", "RuntimeTimeout", "HarnessError",
    # the bundle and the container
    "Bundle", "EXCHANGE_DIR", "START_TOKEN", "new_container_id", "reap_strays",
    # the caller's end of a --pidfd-socket
    "PidfdSocket", "pidfd_target",
    # the runtime and what it says of itself
    "Call", "Runtime", "RuntimeInfo", "Wiring", "runtime_self_description", "no_features_command",
    # the catalog and the schemas
    "load_catalog", "FEATURES_SCHEMA", "Schemas",
    # the program as a check sees it (container.view), and the skip for what it cannot show
    "ProgramView", "unseen",
    # reading a container's output without blocking
    "read_available", "readable", "set_nonblocking",
]

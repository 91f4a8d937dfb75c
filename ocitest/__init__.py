"""ocitest: an OCI runtime compliance harness.

Data flow of one check: bundle (config.json + rootfs) -> runtime (the command-line API) ->
caller (stdio, exit code, console) -> verdict (per requirement) -> report.
"""

import pytest

__version__ = "0.1.0"

#: Tie a test to the catalog requirement(s) it checks: ``@requirement("runtime.state-schema")``.
requirement = pytest.mark.requirement

#: Declare what the check needs from the host, the runtime's self-description or the run:
#: ``@needs("cgroup_controller", "memory")`` (names and reasons in ocitest/conditions.py). Unmet,
#: the test is skipped with the reason, and ``ocitest doctor`` lists that skip before any run.
from .conditions import needs  # noqa: E402,F401  (re-exported; after requirement)

SPEC_VERSION = "1.3.0"

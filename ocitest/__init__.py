"""ocitest: an OCI runtime compliance harness.

Data flow of one check: bundle (config.json + rootfs) -> runtime (the command-line API) ->
caller (stdio, exit code, console) -> verdict (per requirement) -> report.
"""

import pytest

__version__ = "0.1.0"

#: Tie a test to the catalog requirement(s) it checks: ``@requirement("runtime.state-schema")``.
requirement = pytest.mark.requirement

SPEC_VERSION = "1.3.0"

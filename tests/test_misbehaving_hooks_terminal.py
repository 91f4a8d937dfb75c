"""The config.md hook and terminal checks can fail: each wrapper around runc in tests/bad_runtimes/
(hooks_*, terminal_*) breaks one of those requirements, and ocitest must turn exactly it red.

"Exactly" is measured against runc on the same selection: the tests that fail with the wrapper
but pass with runc must all belong to the expected requirement, and that requirement must be red.
"""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

#: The config.md hook and terminal tests only (the runtime.md hook tests are test_misbehaving.py's).
SELECTION = ["-k", "config and (hook or terminal)", "--wait-timeout", "5"]

CASES = {
    "hooks_reverse_order": {"config.hook-order"},
    "hooks_drop_env": {"config.hook-env"},
    # aborted 6 s after it began: within the 10 s the check once allowed, not within its short margin
    "hooks_stretch_timeout": {"config.hook-timeout"},
    "terminal_drops_console_size": {"config.console-size"},
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_misbehaving_runtime_is_red_on_exactly_its_requirement(wrapper, runc_on, tmp_path):
    expected = CASES[wrapper]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), *SELECTION)
    assert_red_on_exactly(run, runc_on(*SELECTION), expected, wrapper)

"""The command-line-interface checks can fail: each wrapper around runc in tests/bad_runtimes/ named
below breaks one thing the CLI document asks for, and ocitest must turn exactly that red.

"Exactly" is measured against runc on the cli suite: the tests that fail with the wrapper but pass
with runc must all belong to the expected requirements, and each of those must be red.
"""

import pytest

from .conftest import BAD_RUNTIMES, assert_red_on_exactly, needs_root_and, run_ocitest

SELECTION = ["--suite", "cli", "--wait-timeout", "10"]

CASES = {
    "create_skips_pid_file": {"cli.create-pid-file"},
    "unknown_command_succeeds": {"cli.unknown-command-fails"},
    "create_reads_stdin": {"cli.create-stdin-passthrough", "cli.create-terminal-stdin-unread"},
    "create_writes_stderr": {"cli.create-stderr-passthrough"},
    "create_drops_listen_fds": {"cli.create-listen-fds"},
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(CASES))
def test_misbehaving_runtime_is_red_on_exactly_its_cli_requirement(wrapper, runc_on, tmp_path):
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), *SELECTION)
    assert_red_on_exactly(run, runc_on(*SELECTION), CASES[wrapper], wrapper)

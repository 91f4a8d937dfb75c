"""The watchdog turns a wait that nobody bounded into a harness error naming the phase, and the run goes on."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_blocked_test_ends_as_an_error_and_the_next_one_runs(tmp_path):
    (tmp_path / "test_blocked.py").write_text(textwrap.dedent("""
        import os

        def test_blocks_forever():
            r, w = os.pipe()
            os.read(r, 1)  # nothing will ever be written

        def test_after_it():
            pass
    """))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ocitest.plugin", "-p", "no:cacheprovider", "--test-timeout", "1",
         "-q", str(tmp_path / "test_blocked.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert "TestHung" in out and "the call of" in out and "ran past the hard limit of 1 s" in out, out
    assert "1 failed, 1 passed" in out, out

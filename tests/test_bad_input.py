"""Every kind of bad input gets one line saying what is wrong and what to do, exit status 2, no traceback,
and no run: nothing is created, nothing is left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, needs_root_and

SITE = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"), None) if (ROOT / ".venv").is_dir() else None


def ocitest(*args: str, env: dict | None = None, prefix: tuple[str, ...] = (), python: str = sys.executable):
    return subprocess.run([*prefix, python, "-m", "ocitest.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd="/tmp", env=env)


def assert_one_clear_line(out, *words: str) -> None:
    text = out.stderr + out.stdout
    assert out.returncode == 2, f"exit {out.returncode}: {text[-2000:]}"
    assert "Traceback" not in text, text[-3000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ocitest: error: "), text[-2000:]
    for word in words:
        assert word in lines[0], lines[0]


def test_a_runtime_that_does_not_exist(tmp_path):
    assert_one_clear_line(ocitest("run", "--runtime", str(tmp_path / "no-such-runtime")), "was not found", "install it")


def test_a_runtime_that_is_not_executable(tmp_path):
    plain = tmp_path / "runtime"
    plain.write_text("#!/bin/sh\nexit 0\n")
    assert_one_clear_line(ocitest("run", "--runtime", str(plain)), "is not executable", "chmod +x")


def test_a_runtime_that_is_a_directory(tmp_path):
    assert_one_clear_line(ocitest("run", "--runtime", str(tmp_path)), "is a directory")


@needs_root_and("runc")
@pytest.mark.parametrize("binary, words", [
    ("/bin/true", ("did not report the container", "an OCI runtime?")),
    ("/bin/false", ("cannot create the simplest container", "exited 1")),
])
def test_a_binary_that_is_not_an_oci_runtime(binary, words):
    assert_one_clear_line(ocitest("run", "--runtime", binary), *words)


@needs_root_and("runc")
@pytest.mark.parametrize("option", ["--json", "--html", "--tap", "--junit"])
def test_a_report_file_that_cannot_be_written_is_refused_before_the_run(option):
    assert_one_clear_line(ocitest("run", "--runtime", "runc", option, "/proc/ocitest/report"), option,
                          "cannot create folder /proc/ocitest")
    assert_one_clear_line(ocitest("run", "--runtime", "runc", option, "/proc/version"), option, "cannot be written")


@needs_root_and("runc")
def test_a_reproducer_folder_that_cannot_be_made():
    assert_one_clear_line(ocitest("run", "--runtime", "runc", "--keep-failed", "/proc/ocitest-keep"), "--keep-failed")


@needs_root_and("runc")
def test_an_unknown_profile_lists_the_known_ones():
    assert_one_clear_line(ocitest("run", "--runtime", "runc", "--profile", "no-such-profile"),
                          "unknown profile", "runc", "crun", "generic")


@needs_root_and("runc")
def test_no_busybox_says_what_to_install(tmp_path):
    assert_one_clear_line(ocitest("run", "--runtime", "runc", "--busybox", str(tmp_path / "busybox")),
                          "apt-get install busybox-static")
    assert_one_clear_line(ocitest("run", "--runtime", "runc", "--busybox", "/bin/ls"),
                          "dynamically linked", "busybox-static")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to drop to nobody) and setpriv")
@pytest.mark.skipif(SITE is None or not Path("/usr/bin/python3").exists(),
                    reason="needs the .venv and /usr/bin/python3")
def test_not_root_without_rootless_says_to_use_root_or_rootless():
    # As nobody, with Debian's python (the venv's interpreter may live under /root) and the venv's packages.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": f"{ROOT}:{SITE}"}
    out = ocitest("run", "--runtime", "runc", env=env, python="/usr/bin/python3",
                  prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
    assert_one_clear_line(out, "must run as root", "--rootless")

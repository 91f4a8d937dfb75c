"""Bad input gets one clear line and exit status 2; the catalog and doctor commands work."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT, needs_root_and, run_ocitest


def ocitest(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "ocitest.cli", *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("args, words", [
    (["run", "--runtime", "/nonexistent/runtime"], "was not found"),
    (["run"], "no runtime given"),
    (["doctor", "--runtime", "no-such-runtime-binary"], "was not found"),
])
def test_usage_and_environment_errors_are_one_line_and_exit_2(args, words):
    env_without = {k: v for k, v in os.environ.items() if k != "OCITEST_RUNTIME"}
    out = subprocess.run([sys.executable, "-m", "ocitest.cli", *args], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, env=env_without)
    assert out.returncode == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) == 1


@needs_root_and("runc")
def test_a_schema_dir_without_schemas_says_what_to_install(tmp_path):
    out = ocitest("run", "--runtime", "runc", "--schema-dir", str(tmp_path))
    assert out.returncode == 2 and "golang-github-opencontainers-specs-dev" in out.stderr


@needs_root_and("runc")
def test_plain_pytest_on_the_suites_without_a_runtime_stops_with_exit_2():
    env = {k: v for k, v in os.environ.items() if k != "OCITEST_RUNTIME"}
    out = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 2 and "no runtime given" in out.stdout + out.stderr


def test_requirements_lists_the_catalog_as_json():
    out = ocitest("requirements", "--json")
    catalog = json.loads(out.stdout)
    assert out.returncode == 0 and len(catalog) >= 45
    assert {"id", "level", "reference", "summary"} <= set(catalog[0])


@needs_root_and("runc")
def test_doctor_reports_runtime_and_host():
    out = ocitest("doctor", "--runtime", "runc")
    assert out.returncode == 0, out.stderr
    assert "runc version" in out.stdout and "cgroup:" in out.stdout


@needs_root_and("runc")
@pytest.mark.parametrize("binary, words", [
    ("/bin/false", "cannot create the simplest container"),
    ("/bin/true", "is /usr/bin/true an OCI runtime?"),
])
def test_a_binary_that_is_not_a_runtime_stops_the_run_in_the_preflight(binary, words, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the preflight's folder goes here, and must go away
    out = subprocess.run([sys.executable, "-m", "ocitest.cli", "run", "--runtime", binary],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert not list(tmp_path.iterdir()), f"the preflight left {list(tmp_path.iterdir())}"


@needs_root_and("runc")
def test_plain_pytest_runs_the_preflight_too():
    out = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
                          "--runtime", "/bin/false"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2 and "cannot create the simplest container" in out.stdout + out.stderr


@needs_root_and("runc")
def test_doctor_says_whether_the_runtime_can_run_anything():
    assert "preflight: yes" in ocitest("doctor", "--runtime", "runc").stdout
    out = ocitest("doctor", "--runtime", "/bin/false")
    assert out.returncode == 2 and "preflight: NO" in out.stdout


def test_run_help_shows_the_plugins_options_beside_its_own():
    out = ocitest("run", "--help")
    assert out.returncode == 0, out.stderr
    for option in ("--suite", "--junit", "--strict", "--runtime", "--profile", "--keep-failed", "--runtime-timeout",
                   "--strict-verdict", "Every other argument goes to pytest"):
        assert option in out.stdout, option


@needs_root_and("runc")
def test_a_run_shows_the_failing_requirements_not_tracebacks_and_the_verdict_once_at_the_end(tmp_path):
    """A runtime author reads: progress, each failing requirement in the runtime's words with its spec
    link, where the reports are, the verdict last. pytest's tracebacks come on request (--tb, -v)."""
    selection = ("--runtime", "runc", "--suite", "cli", "-k", "console_socket")
    run = run_ocitest(tmp_path, *selection)
    assert run.exit == 1 and run.report is not None, run.output[-3000:]
    lines = run.output.strip().splitlines()
    verdict = next(line for line in lines if line.startswith("ocitest: RED"))
    assert lines[-1] == verdict and lines.count(verdict) == 1, run.output[-3000:]
    failing = next(r for r in run.report["requirements"] if r["outcome"] == "fail")
    assert f"{failing['level']:<6} {failing['id']}:" in run.output and failing["reference"] in run.output
    assert f"JSON report: {tmp_path / 'report.json'}" in run.output
    for noise in ("Traceback", "= FAILURES =", "short test summary info", "AssertionError"):
        assert noise not in run.output, noise
    # The profile was not given, so the report says it was guessed.
    assert run.report["runtime"]["profile_details"]["guessed"] is True
    (tmp_path / "tb").mkdir()
    with_tracebacks = run_ocitest(tmp_path / "tb", *selection, "--tb=short")
    assert "= FAILURES =" in with_tracebacks.output and with_tracebacks.exit == 1

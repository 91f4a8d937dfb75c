"""A whole compliance run against real runc, read the way a user and a CI system read it."""

import os
import re
import stat
import subprocess
from pathlib import Path

import psutil

from ocitest.requirements import load_catalog

from .conftest import needs_root_and, run_ocitest

pytestmark = needs_root_and("runc")

REPORT_KEYS = {"format", "runtime", "spec_version", "host", "verdict", "counts", "requirements", "tests"}
COUNT_KEYS = {"must_failed", "should_failed", "may_failed", "passed", "skipped", "errors", "not_applicable",
              "not_run"}


def test_the_run_ends_with_a_verdict_line_and_the_matching_exit_status(runc_run):
    *before, last = runc_run.output.strip().splitlines()
    assert re.fullmatch(r"ocitest: (RED|YELLOW|GREEN) against runtime-spec 1\.3\.0 \(--spec-version\) and "
                        r"command-line-interface 1\.0\.1 and runc compatibility 1\.5\.1 — "
                        r"\d+ MUST failed, \d+ SHOULD failed, \d+ MAY failed, "
                        r"\d+ requirements? skipped, \d+ errors, 0 not applicable", last), last
    assert before[-3].startswith("runtime-spec 1.3.0 (newest): ")
    assert before[-2].startswith("command-line-interface 1.0.1: ") and before[-2].endswith("(counted: --judge-cli)")
    assert before[-1].startswith("runc compatibility 1.5.1: ") and before[-1].endswith("(counted: --judge-runc-compat)")
    verdict = runc_run.report["verdict"]
    assert last.startswith(f"ocitest: {verdict.upper()}")
    assert runc_run.exit == {"red": 1, "yellow": 0, "green": 0}[verdict]


def test_runc_gets_a_verdict_with_no_harness_errors(runc_run):
    assert runc_run.report["counts"]["errors"] == 0, runc_run.errors()
    assert not runc_run.errors()


def test_every_runtime_md_requirement_was_checked(runc_run):
    outcomes = runc_run.outcomes()
    runtime_md = [req.id for req in load_catalog() if req.document == "runtime.md"]
    not_run = [rid for rid in runtime_md if outcomes.get(rid) == "not-run"]
    assert not not_run, f"requirements without a test: {not_run}"


def test_the_json_report_follows_the_contract(runc_run):
    report = runc_run.report
    assert REPORT_KEYS <= set(report)
    assert report["format"] == "ocitest-report/1"
    assert report["spec_version"] == "1.3.0"
    assert set(report["counts"]) == COUNT_KEYS
    assert report["runtime"]["path"].endswith("runc") and report["runtime"]["version"].startswith("runc version")
    assert report["host"]["cgroup"] in ("v1", "v2", "hybrid") and report["host"]["kernel"]
    for req in report["requirements"]:
        assert req["level"] in ("MUST", "SHOULD", "MAY")
        assert req["outcome"] in ("pass", "fail", "skip", "error")  # not-run: none at all; not-applicable: at 1.3.0
        assert re.fullmatch(r"https://github\.com/opencontainers/(runtime-spec/blob/v1\.3\.0|runtime-tools/blob/v0\.9\.0/docs|runc/blob/v1\.(5\.1|1\.5)/man)"
                            r"/[\w.-]+\.md#[\w-]+", req["reference"]), req["reference"]
    for test in report["tests"]:
        assert test["outcome"] in ("pass", "fail", "skip", "error") and test["requirements"]
        for call in test["calls"]:
            assert {"argv", "exit", "stderr", "duration"} <= set(call)
    counted = report["counts"]
    outcomes = [r["outcome"] for r in report["requirements"]]
    assert counted["passed"] == outcomes.count("pass") and counted["skipped"] == outcomes.count("skip")
    assert report["verdicts"]["runtime-spec"]["counts"] == report["verdicts"]["runtime-spec-newest"]["counts"]
    spec_only = [r for r in report["requirements"] if r["scope"] == "runtime-spec"]
    assert report["verdicts"]["runtime-spec"]["counts"]["passed"] == sum(r["outcome"] == "pass" for r in spec_only)


#: A small selection with config.domainname's test: runc 1.1.5 ignores domainname (new in 1.1.0).
DOMAINNAME = ("--suite", "config", "-k", "domainname or hostname", "--wait-timeout", "10")


def test_runc_is_judged_at_the_release_it_declares_and_a_newer_requirement_is_not_applicable(tmp_path):
    run = run_ocitest(tmp_path, "--runtime", "runc", *DOMAINNAME, judge_all=False)
    report = run.report
    assert report is not None, run.output[-3000:]
    assert report["spec_version"] == "1.0.2" and report["verdicts"]["runtime-spec"]["basis"] == "declared"
    assert report["verdicts"]["runtime-spec"]["declared"] == "1.0.2-dev"
    domainname = next(r for r in report["requirements"] if r["id"] == "config.domainname")
    assert (domainname["outcome"], domainname["observed"], domainname["since"]) == ("not-applicable", "fail", "1.1.0")
    assert report["counts"]["must_failed"] == 0 and report["counts"]["not_applicable"] >= 1
    assert report["verdicts"]["runtime-spec-newest"]["counts"]["must_failed"] >= 1
    cli = report["verdicts"]["command-line-interface"]
    assert cli["counted"] is False and cli["counts"]["not_run"] > 0
    assert run.output.strip().splitlines()[-1].startswith(
        f"ocitest: {report['verdict'].upper()} against runtime-spec 1.0.2 (declared) — ")
    assert run.exit == (1 if report["verdict"] == "red" else 0)
    assert "judged against runtime-spec 1.0.2, declared: features ociVersionMax says 1.0.2-dev" in run.output

    (tmp_path / "newest").mkdir()
    newest = run_ocitest(tmp_path / "newest", "--runtime", "runc", *DOMAINNAME, "--spec-version", "1.3.0",
                         judge_all=False)
    assert newest.report is not None, newest.output[-3000:]
    assert newest.report["spec_version"] == "1.3.0" and newest.report["verdict"] == "red" and newest.exit == 1
    assert newest.outcomes()["config.domainname"] == "fail"


def test_a_spec_version_that_is_no_release_is_a_usage_error(tmp_path):
    run = run_ocitest(tmp_path, "--runtime", "runc", "--spec-version", "1.0.3", judge_all=False)
    assert run.exit == 2 and run.report is None
    assert "1.0.3" in run.output and "1.0.2" in run.output


def test_failing_requirements_name_the_runtime_call_that_showed_it(runc_run):
    for req in runc_run.report["requirements"]:
        if req["outcome"] == "fail":
            assert req["message"] and req["tests"], req


def test_nothing_is_left_behind_after_the_run(runc_run):
    ids, workdirs = set(), set()
    for test in runc_run.report["tests"]:
        for call in test["calls"]:
            argv = call["argv"]
            ids.update(a for a in argv if a.startswith("ocitest-"))
            workdirs.update(re.findall(r"(/\S*?/ocitest-[^/ ]+)/bundles/", " ".join(argv)))
    assert ids and workdirs
    known = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, timeout=30).stdout.split()
    assert not ids & set(known), f"runc still knows {sorted(ids & set(known))}"
    assert not [d for d in workdirs if os.path.exists(d)], "temporary folders were left"
    cgroups = [str(p) for root in Path("/sys/fs/cgroup").glob("*") for p in root.glob("ocitest-*") if p.name in ids]
    assert not cgroups, f"cgroups were left: {cgroups}"
    survivors = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if any(d in cmdline for d in workdirs):
            survivors.append(cmdline)
    assert not survivors, f"processes were left: {survivors}"
    namespaces = [p.name for p in Path("/run/netns").glob("ocitest-*")]
    assert not [n for n in namespaces if any(n.startswith(i + "-") or n == i for i in ids)], namespaces


def test_the_hosts_device_nodes_are_untouched_after_the_run(runc_run):
    """Runtimes bind-mount host device nodes in some setups; a mode applied through such a mount
    would change the host's own node. ocitest must never leave the host's devices altered."""
    for name, numbers in {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}.items():
        st = os.stat(f"/dev/{name}")
        assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == numbers
        assert stat.S_IMODE(st.st_mode) == 0o666, f"/dev/{name} has mode {stat.S_IMODE(st.st_mode):04o} after the run"

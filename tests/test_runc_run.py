"""A whole compliance run against real runc, read the way a user and a CI system read it."""

import os
import re
import stat
import subprocess
from pathlib import Path

import psutil

from ocitest.requirements import load_catalog

from .conftest import needs_root_and

pytestmark = needs_root_and("runc")

REPORT_KEYS = {"format", "runtime", "spec_version", "host", "verdict", "counts", "requirements", "tests"}
COUNT_KEYS = {"must_failed", "should_failed", "passed", "skipped", "errors"}


def test_the_run_ends_with_a_verdict_line_and_the_matching_exit_status(runc_run):
    last = runc_run.output.strip().splitlines()[-1]
    assert re.fullmatch(r"ocitest: (RED|YELLOW|GREEN) — \d+ MUST failed, \d+ SHOULD failed, \d+ skipped, "
                        r"\d+ errors", last), last
    verdict = runc_run.report["verdict"]
    assert last.startswith(f"ocitest: {verdict.upper()}")
    assert runc_run.exit == {"red": 1, "yellow": 0, "green": 0}[verdict]


def test_runc_gets_a_verdict_with_no_harness_errors(runc_run):
    assert runc_run.report["counts"]["errors"] == 0, runc_run.errors()
    assert not runc_run.errors()


def test_every_runtime_md_requirement_was_checked(runc_run):
    outcomes = runc_run.outcomes()
    runtime_md = [req.id for req in load_catalog() if req.document == "runtime.md"]
    not_run = [rid for rid in runtime_md if outcomes.get(rid) == "skip" and "no test" in next(
        r["message"] for r in runc_run.report["requirements"] if r["id"] == rid)]
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
        assert req["outcome"] in ("pass", "fail", "skip", "error")
        assert re.fullmatch(r"https://github\.com/opencontainers/(runtime-spec/blob/v1\.3\.0|runtime-tools/blob/v0\.9\.0/docs)"
                            r"/[\w-]+\.md#[\w-]+", req["reference"]), req["reference"]
    for test in report["tests"]:
        assert test["outcome"] in ("pass", "fail", "skip", "error") and test["requirements"]
        for call in test["calls"]:
            assert {"argv", "exit", "stderr", "duration"} <= set(call)
    counted = report["counts"]
    outcomes = [r["outcome"] for r in report["requirements"]]
    assert counted["passed"] == outcomes.count("pass") and counted["skipped"] == outcomes.count("skip")


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

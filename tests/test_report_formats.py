"""The report formats besides the JSON one, read back with other people's parsers.

One real runc run of the cli suite (and the same with ``-n 2``, because requirement properties
travel from xdist workers to the controller) writes JSON, TAP 13 and JUnit XML. The JSON must
validate against ocitest's own schema, the TAP must parse with tap.py (YAML blocks included) and
agree with the JSON, the JUnit XML must parse with junitparser and carry requirement properties.
``ocitest diff`` is checked against a wrapper around runc that breaks one requirement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from junitparser import JUnitXml, Properties
from tap.parser import Parser

from ocitest.report import diff, report_schema, tap
from ocitest.report.junit import properties
from ocitest.requirements import load_catalog

from .conftest import BAD_RUNTIMES, Run, needs_root_and, run_ocitest

SELECTION = ["--suite", "cli", "--wait-timeout", "10"]
#: The wrapper the diff is checked with, and the one requirement it breaks (tests/test_misbehaving_cli.py).
WRAPPER, BROKEN = "create_skips_pid_file", "cli.create-pid-file"

real_runc = needs_root_and("runc")


@dataclass
class Outputs:
    run: Run
    json: Path
    tap: Path
    junit: Path


def _run_with_reports(folder: Path, runtime: str, *extra: str) -> Outputs:
    tap_path, junit_path = folder / "out" / "report.tap", folder / "out" / "junit.xml"
    run = run_ocitest(folder, "--runtime", runtime, *SELECTION, "--tap", str(tap_path), "--junit", str(junit_path),
                      *extra)
    assert run.report is not None, run.output[-3000:]
    return Outputs(run, folder / "report.json", tap_path, junit_path)


@pytest.fixture(scope="module")
def outputs_of(tmp_path_factory):
    """Runs made on first use and shared by the module: "serial", "xdist" (runc) and "broken" (the wrapper)."""
    made: dict[str, Outputs] = {}

    def get(mode: str) -> Outputs:
        if mode not in made:
            folder = tmp_path_factory.mktemp(mode)
            if mode == "broken":
                made[mode] = _run_with_reports(folder, str(BAD_RUNTIMES / WRAPPER))
            else:
                made[mode] = _run_with_reports(folder, "runc", *(["-n", "2"] if mode == "xdist" else []))
        return made[mode]

    return get


@pytest.fixture(scope="module", params=["serial", "xdist"])
def outputs(request, outputs_of) -> Outputs:
    made = outputs_of(request.param)
    if request.param == "xdist":
        assert "2 workers [" in made.run.output, "the run did not use xdist"
    return made


def _ocitest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocitest.cli", *args], capture_output=True, text=True, timeout=60)


# -- JSON schema ---------------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(report_schema.schema())


def test_the_schema_names_what_is_wrong():
    report = {"format": "ocitest-report/1", "verdict": "blue"}
    problems = report_schema.validate(report)
    assert "/verdict: 'blue' is not one of ['red', 'yellow', 'green']" in problems
    assert any("'requirements' is a required property" in p for p in problems)


@real_runc
def test_json_report_validates_against_the_schema(outputs):
    assert report_schema.validate(outputs.run.report) == []
    failed = [t for t in outputs.run.report["tests"] if t["outcome"] == "fail"]
    assert failed and all(t["containers"] or not t["calls"] for t in failed), "the evidence part is not exercised"


# -- TAP 13 ----------------------------------------------------------------------------------------


@real_runc
def test_tap_parses_and_agrees_with_the_json_report(outputs):
    report = outputs.run.report
    lines = list(Parser().parse_text(outputs.tap.read_text()))
    assert lines[0].category == "version" and lines[0].version == 13
    plans = [line for line in lines if line.category == "plan"]
    points = [line for line in lines if line.category == "test"]
    assert [p.expected_tests for p in plans] == [len(report["requirements"])]
    assert not [line for line in lines if line.category == "unknown"]
    assert [p.number for p in points] == list(range(1, len(report["requirements"]) + 1))
    # The numbers were just checked to be 1..len(requirements): one point per requirement.
    for point, req in zip(points, report["requirements"], strict=True):
        assert point.description == f"- {req['id']}: {req['summary']}"
        assert point.skip == (req["outcome"] == "skip")
        assert point.ok == (req["outcome"] in ("pass", "skip"))
        block = point.yaml_block
        assert block is not None, point.description
        assert {k: block[k] for k in ("reference", "level", "section", "outcome", "message", "tests")} == \
            {k: req[k] for k in ("reference", "level", "section", "outcome", "message", "tests")}
    counts = report["counts"]
    outcomes = Counter(r["outcome"] for r in report["requirements"])
    assert sum(p.skip for p in points) == counts["skipped"]
    assert sum(p.ok and not p.skip for p in points) == counts["passed"]
    assert sum(not p.ok for p in points) == outcomes["fail"] + outcomes["error"] >= counts["must_failed"] > 0
    failing = next(p for p in points if not p.ok)
    assert failing.yaml_block["reference"].startswith("https://")


def test_tap_yaml_blocks_survive_awkward_messages():
    message = 'line one\nline two: "quoted" \\ # not a directive\x85\u2028 \x7f\x01 \U0001F600 - [a] {b}'
    report = {"requirements": [
        {"id": "x.fail", "level": "SHOULD", "reference": "https://example.org/#a", "section": "a.md#a",
         "summary": "a # in a summary", "since": "1.2.0", "outcome": "fail", "tests": ["t.py::a"], "message": message},
        {"id": "x.skip", "level": "MUST", "reference": "https://example.org/#b", "section": "a.md#b",
         "summary": "skipped", "since": None, "outcome": "skip", "tests": [], "message": "why\nnot"},
    ], "runtime": {"path": "/bin/rt"}, "verdict": "yellow", "counts": {}}
    fail, skip = [line for line in Parser().parse_text(tap.render(report)) if line.category == "test"]
    assert not fail.ok and fail.yaml_block["message"] == message and fail.yaml_block["level"] == "SHOULD"
    assert fail.yaml_block["since"] == "1.2.0"
    assert skip.ok and skip.skip and skip.directive.reason == "why not" and skip.yaml_block["tests"] == []


def test_tap_write_makes_parent_folders_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a" / "b" / "r.tap"
    tap.write({"requirements": []}, target)
    assert target.read_text().startswith("TAP version 13\n1..0\n")
    assert [p.name for p in target.parent.iterdir()] == ["r.tap"]


# -- JUnit XML -------------------------------------------------------------------------------------


def _properties(case) -> list[tuple[str, str]]:
    found = case.child(Properties)
    return [] if found is None else [(p.name, p.value) for p in found]


@real_runc
def test_junit_test_cases_carry_requirement_level_and_reference(outputs):
    xml = JUnitXml.fromfile(str(outputs.junit))
    cases = [case for suite in xml for case in suite]
    by_test = {t["nodeid"].rpartition("::")[2]: t for t in outputs.run.report["tests"]}
    assert len(cases) == len(outputs.run.report["tests"])
    failing = [case for case in cases if case.is_failure]
    assert len(failing) == sum(t["outcome"] == "fail" for t in outputs.run.report["tests"]) > 0
    catalog = load_catalog()
    for case in cases:
        props = _properties(case)
        assert all(isinstance(v, str) and not v.startswith("{") for _, v in props), props
        assert props == properties(by_test[case.name]["requirements"], catalog), case.name
    names = {name for name, _ in _properties(failing[0])}
    assert {"requirement", "level", "reference"} <= names


def test_junit_properties_are_per_requirement_in_order():
    catalog = load_catalog()
    first, second = list(catalog)[:2]
    assert properties([first.id, second.id, "no.such-id"], catalog) == [
        ("requirement", first.id), ("level", first.level), ("reference", first.reference),
        ("requirement", second.id), ("level", second.level), ("reference", second.reference),
        ("requirement", "no.such-id")]


# -- ocitest diff ----------------------------------------------------------------------------------


@real_runc
def test_diff_names_exactly_the_broken_requirement_and_exits_1(outputs_of):
    good, bad = outputs_of("serial"), outputs_of("broken")
    proc = _ocitest("diff", str(good.json), str(bad.json), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert [(c["id"], c["old"], c["new"]) for c in result["regressions"]] == [(BROKEN, "pass", "fail")]
    assert result["fixes"] == [] and result["added"] == [] and result["removed"] == []
    text = _ocitest("diff", str(good.json), str(bad.json))
    assert text.returncode == 1
    assert f"{BROKEN}:" in text.stdout and "regressions 1," in text.stdout.splitlines()[-1]
    back = _ocitest("diff", str(bad.json), str(good.json), "--json")
    assert back.returncode == 0 and [c["id"] for c in json.loads(back.stdout)["fixes"]] == [BROKEN]


@real_runc
def test_diff_of_a_report_with_itself_exits_0(outputs_of):
    path = str(outputs_of("serial").json)
    proc = _ocitest("diff", path, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("ocitest diff: regressions 0,")


def test_diff_of_an_unreadable_report_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "ocitest-report/1", "requirements": []}))
    proc = _ocitest("diff", str(bad), str(other))
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "bad.json" in proc.stderr


def _report(verdict: str, **outcomes: str) -> dict:
    return {"format": "ocitest-report/1", "verdict": verdict, "runtime": {"path": "/rt", "version": "rt 1"},
            "requirements": [{"id": rid, "level": "MUST", "summary": f"summary of {rid}", "reference": "https://x/#a",
                              "outcome": outcome, "message": f"why {rid}" if outcome != "pass" else "", "tests": []}
                             for rid, outcome in outcomes.items()]}


def test_compare_sorts_every_transition_into_one_group():
    outcomes = ("pass", "fail", "error", "skip")
    pairs = {f"{a}_{b}": (a, b) for a in outcomes for b in outcomes}
    old = _report("red", **{k: a for k, (a, _) in pairs.items()}, gone="pass")
    new = _report("yellow", **{k: b for k, (_, b) in pairs.items()}, fresh="fail")
    result = diff.compare(old, new)
    groups = {name: sorted(c.id for c in getattr(result, name)) for name in
              ("regressions", "fixes", "newly_skipped", "no_longer_skipped", "changed", "added", "removed")}
    assert groups == {
        "regressions": ["error_fail", "pass_error", "pass_fail", "skip_error", "skip_fail"],
        "fixes": ["error_pass", "fail_pass"],
        "newly_skipped": ["error_skip", "fail_skip", "pass_skip"],
        "no_longer_skipped": ["skip_pass"],
        "changed": ["fail_error"],
        "added": ["fresh"],
        "removed": ["gone"],
    }
    assert result.verdict_changed and (result.old_verdict, result.new_verdict) == ("red", "yellow")
    regression = next(c for c in result.regressions if c.id == "pass_fail")
    assert regression.message == "why pass_fail" and regression.level == "MUST"
    text = diff.render_text(result)
    assert "regressions (5):" in text and "why pass_fail" in text
    assert text.splitlines()[-1].startswith("ocitest diff: regressions 5, fixes 2,")
    assert text.splitlines()[-1].endswith("verdict red -> yellow")
    assert json.loads(diff.render_json(result))["removed"][0]["old"] == "pass"


def test_compare_of_equal_reports_finds_nothing():
    report = _report("green", a="pass", b="skip")
    result = diff.compare(report, report)
    assert not any((result.regressions, result.fixes, result.newly_skipped, result.no_longer_skipped,
                    result.changed, result.added, result.removed))
    assert diff.render_text(result).splitlines()[-1].endswith("verdict unchanged (green)")

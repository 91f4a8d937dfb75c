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

from ocitest.report import diff, html, json_report, matrix, report_schema, tap, terminal
from ocitest.report.junit import properties
from ocitest.requirements import CLI, Catalog, Requirement, load_catalog
from ocitest.specversion import JudgedVersion
from ocitest.verdict import RequirementResult, TestResult, judge

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
        assert point.skip == (req["outcome"] in tap.SKIPS)
        assert point.ok == (req["outcome"] in ("pass", *tap.SKIPS))
        block = point.yaml_block
        assert block is not None, point.description
        assert {k: block[k] for k in ("reference", "level", "section", "outcome", "message", "tests")} == \
            {k: req[k] for k in ("reference", "level", "section", "outcome", "message", "tests")}
    counts = report["counts"]
    outcomes = Counter(r["outcome"] for r in report["requirements"])
    assert sum(p.skip for p in points) == counts["skipped"] + counts["not_applicable"] + counts["not_run"]
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
    first, second = req_of("config.x", since="1.1.0", basis=("runtime.md#runtimeCreate",)), req_of("config.y")
    catalog = Catalog({first.id: first, second.id: second})
    assert properties([first.id, second.id, "no.such-id"], catalog, "1.0.2") == [
        ("requirement", first.id), ("level", first.level), ("reference", first.reference),
        ("basis", "https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeCreate"),
        ("since", "1.1.0"), ("not_applicable_at", "1.0.2"),
        ("requirement", second.id), ("level", second.level), ("reference", second.reference),
        ("requirement", "no.such-id")]
    assert ("not_applicable_at", "1.3.0") not in properties([first.id], catalog, "1.3.0")
    cli = load_catalog()["cli.create-pid-file"]
    assert ("scope", "command-line-interface") in properties([cli.id], load_catalog(), "1.0.2")


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


def test_compare_sets_applicability_and_not_run_apart_from_regressions():
    old = _report("red", a="fail", b="not-applicable", c="pass", d="not-run", e="skip")
    new = _report("green", a="not-applicable", b="fail", c="not-run", d="fail", e="not-run")
    old["requirements"][0]["observed"] = "fail"
    new["requirements"][0]["observed"] = "fail"
    old["spec_version"], new["spec_version"] = "1.3.0", "1.0.2"
    result = diff.compare(old, new)
    assert not result.regressions and not result.fixes
    assert [(c.id, c.old_observed, c.new_observed) for c in result.applicability] == [("a", "fail", "fail"),
                                                                                      ("b", "not-applicable", "fail")]
    assert [c.id for c in result.not_run] == ["c", "e"] and [c.id for c in result.now_run] == ["d"]
    text = diff.render_text(result)
    assert "at runtime-spec 1.3.0" in text and "judged different releases" in text
    assert "observed: fail -> fail" in text and "applicability changed 2" in text.splitlines()[-1]


# -- the verdict scopes in every format ----------------------------------------------------------------

def req_of(rid: str, level: str = "MUST", **kw) -> Requirement:
    document = "command-line-interface.md" if kw.get("scope") == CLI else "config.md"
    return Requirement(rid, level, document, "configDomainname",
                       f"https://github.com/opencontainers/runtime-spec/blob/v1.3.0/{document}#configDomainname",
                       f"summary of {rid}", **kw)


@pytest.fixture(scope="module")
def judged_report() -> dict:
    """A report judged at 1.0.2 (declared 1.0.2-dev): one old pass, one newer fail, one CLI fail, one not run."""
    reqs = [req_of("config.old", since="1.0.0", basis=("runtime.md#runtimeCreate",)),
            req_of("config.new", since="1.1.0"), req_of("config.unselected"),
            req_of("cli.x", scope=CLI, since="1.0.1", basis=("command-line-interface.md#global-usage",))]
    catalog = Catalog({r.id: r for r in reqs}, {"runtime-spec": "1.3.0", CLI: "1.0.1"})
    tests = [TestResult("t::old", "pass", requirements=["config.old"]),
             TestResult("t::new", "fail", requirements=["config.new"], message="the program saw (none)"),
             TestResult("t::cli", "fail", requirements=["cli.x"], message="no pid file")]
    version = JudgedVersion("1.0.2", "declared", "1.0.2-dev", "features ociVersionMax", "1.0.2-dev read as 1.0.2")
    run = json_report.RunSummary(runtime={"path": "/usr/sbin/runc", "version": "runc version 1.1.5"},
                                 host={"kernel": "6", "cgroup": "v1", "machine": "x86_64"},
                                 judgement=judge(catalog, tests, version), judged=version,
                                 tests=tests)
    return json_report.build(run)


def test_the_json_report_carries_every_scope(judged_report):
    report = judged_report
    assert report["spec_version"] == "1.0.2" and report["verdict"] == "green"
    assert set(report["verdicts"]) == {"runtime-spec", "runtime-spec-newest", "command-line-interface"}
    spec = report["verdicts"]["runtime-spec"]
    assert (spec["basis"], spec["declared"], spec["declared_by"]) == ("declared", "1.0.2-dev", "features ociVersionMax")
    assert report["counts"] == spec["counts"] and report["counts"]["not_applicable"] == 1
    assert report["counts"]["not_run"] == 1 and report["counts"]["must_failed"] == 0
    assert report["verdicts"]["runtime-spec-newest"]["verdict"] == "red"
    assert report["verdicts"]["command-line-interface"] == {
        "verdict": "red", "counts": {"must_failed": 1, "should_failed": 0, "may_failed": 0, "passed": 0, "skipped": 0,
                                     "errors": 0, "not_applicable": 0, "not_run": 0},
        "spec_version": "1.0.1", "basis": "document", "counted": False, "note": ""}
    new = next(r for r in report["requirements"] if r["id"] == "config.new")
    assert (new["outcome"], new["observed"], new["since"]) == ("not-applicable", "fail", "1.1.0")
    old = next(r for r in report["requirements"] if r["id"] == "config.old")
    assert old["basis"] == ["https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeCreate"]
    assert report_schema.validate({**report, "schema_dir": None, "duration": None,
                                   "runtime": {**_RUNTIME, **report["runtime"]}}) == []


_RUNTIME = {"args": [], "spec_version": "1.0.2-dev", "features": True, "features_problem": "", "profile": "runc",
            "profile_details": {"name": "runc", "guessed": True, "console_socket": "path", "kill_signal": "positional",
                                "container_process": "process", "global_args": []}, "rootless": False}


def test_tap_shows_not_applicable_as_a_skip_with_its_since_and_each_scope(judged_report):
    text = tap.render(judged_report)
    points = {line.description.split(":")[0][2:]: line for line in Parser().parse_text(text) if line.category == "test"}
    new = points["config.new"]
    assert new.ok and new.skip and new.directive.reason == "not applicable at 1.0.2 (since 1.1.0)"
    assert new.yaml_block["observed"] == "fail"
    assert points["config.unselected"].skip and points["config.unselected"].directive.reason == "not run"
    assert not points["cli.x"].ok and points["cli.x"].yaml_block["scope"] == "command-line-interface"
    assert points["config.old"].yaml_block["basis"] == [
        "https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#runtimeCreate"]
    assert "# verdict of runtime-spec-newest 1.3.0 (newest; not counted): RED" in text
    assert "# verdict of command-line-interface 1.0.1 (document; not counted): RED" in text
    assert text.rstrip().splitlines()[-1].startswith("# verdict: GREEN (0 must failed")


def test_html_shows_every_scope_at_the_top_and_lists_what_is_not_applicable(judged_report):
    page = html.render(judged_report)
    top = page[:page.index('id="failed"')]
    assert 'data-scope="runtime-spec"' in top and 'data-scope="runtime-spec-newest"' in top
    assert 'data-scope="command-line-interface"' in top and "against runtime-spec 1.0.2 (declared)" in top
    section = page[page.index('id="not-applicable"'):page.index("</section>", page.index('id="not-applicable"'))]
    assert "config.new" in section and "1.1.0" in section and "config.old" not in section
    assert "rests on runtime.md#runtimeCreate" in page


def test_the_terminal_lists_newer_failures_apart_and_the_basis(judged_report):
    lines: list[str] = []
    judgement_results = judge_results(judged_report)
    terminal.summarize(judgement_results, lambda text="", **_: lines.append(text))
    text = "\n".join(lines)
    assert "1 fail" in text and "1 not applicable" in text and "1 not run" in text
    assert "cli.x" in text and "[command-line-interface: not in the runtime-spec verdict]" in text
    assert "config.new (since 1.1.0)" in text.split("not applicable at the judged release")[1]
    rests_on = "rests on: https://github.com/opencontainers/runtime-spec/blob/v1.3.0/command-line-interface.md#global-usage"
    assert rests_on in text


def judge_results(report: dict) -> list:
    """The report's requirements back as results, for the terminal summary (which reads objects)."""
    out = []
    for entry in report["requirements"]:
        scope = entry["scope"]
        basis = tuple(url.rsplit("/", 1)[-1] for url in entry["basis"])
        out.append(RequirementResult(req_of(entry["id"], entry["level"], since=entry["since"], basis=basis,
                                            **({"scope": scope} if scope == CLI else {})),
                                     entry["outcome"], entry["tests"], entry["message"],
                                     entry["observed"] if entry["observed"] != entry["outcome"] else None))
    return out


def test_matrix_shows_the_release_each_report_judged(judged_report):
    text = matrix.render_text([judged_report, judged_report])
    assert "judged at 1.0.2;" in text
    assert any(line.startswith("  config.new") and "n/a" in line for line in text.splitlines())

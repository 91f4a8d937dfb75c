"""Folding test outcomes into requirement outcomes and the red/yellow/green verdict."""

from ocitest.requirements import Requirement
from ocitest.verdict import TestResult, exit_status, fold_all, fold_requirement, overall, severity


def req(rid="r", level="MUST", **kw) -> Requirement:
    return Requirement(rid, level, "runtime.md", "runtimeState", "https://x/runtime.md#runtimeState", "s", **kw)


def outcome_of(outcome, rid="r", message=""):
    return TestResult(f"t-{outcome}", outcome, requirements=[rid], message=message)


def test_a_failed_test_makes_its_requirement_fail_whatever_else_passed():
    outcomes = [outcome_of("pass"), outcome_of("fail", message="boom"), outcome_of("error")]
    assert fold_requirement(req(), outcomes).outcome == "fail"


def test_an_error_without_failures_is_an_error_not_a_pass():
    assert fold_requirement(req(), [outcome_of("pass"), outcome_of("error")]).outcome == "error"


def test_skips_never_count_as_passes():
    result = fold_requirement(req(), [outcome_of("skip", message="no cgroup v2")])
    assert result.outcome == "skip" and "no cgroup v2" in result.message


def test_a_requirement_with_no_test_is_skipped_with_the_reason():
    result = fold_requirement(req(), [])
    assert result.outcome == "skip" and "no test" in result.message


def test_a_requirement_left_out_on_purpose_says_why():
    result = fold_requirement(req(covered=False, why="not observable from outside"), [outcome_of("pass")])
    assert result.outcome == "skip" and "not observable" in result.message


def test_colors():
    must, should, may = req("m", "MUST"), req("s", "SHOULD"), req("y", "MAY")
    catalog = [must, should, may]

    def color(outcomes):
        results = [outcome_of(o, rid) for rid, o in outcomes.items()]
        return overall(fold_all(catalog, results)).color

    assert color({"m": "fail", "s": "pass", "y": "pass"}) == "red"
    assert color({"m": "pass", "s": "fail", "y": "pass"}) == "yellow"
    assert color({"m": "pass", "s": "pass", "y": "fail"}) == "green"
    assert color({"m": "pass", "s": "pass", "y": "pass"}) == "green"
    assert color({"m": "error", "s": "pass", "y": "pass"}) == "yellow"
    assert color({"m": "skip", "s": "skip", "y": "skip"}) == "green"


def test_exit_status_follows_the_contract():
    catalog = [req("m", "MUST"), req("s", "SHOULD")]

    def verdict(outcomes):
        return overall(fold_all(catalog, [outcome_of(o, rid) for rid, o in outcomes.items()]))

    assert exit_status(verdict({"m": "fail", "s": "pass"})) == 1
    assert exit_status(verdict({"m": "pass", "s": "fail"})) == 0
    assert exit_status(verdict({"m": "pass", "s": "fail"}), strict=True) == 1
    assert exit_status(verdict({"m": "error", "s": "pass"})) == 3
    assert exit_status(verdict({"m": "fail", "s": "error"})) == 1
    assert exit_status(verdict({"m": "pass", "s": "pass"})) == 0


def test_the_verdict_line():
    line = overall(fold_all([req("m")], [outcome_of("fail", "m")])).line()
    assert line == "ocitest: RED — 1 MUST failed, 0 SHOULD failed, 0 skipped, 0 errors"


def test_reports_list_what_failed_most_severe_first():
    seen = [("pass", "MUST"), ("error", "MUST"), ("fail", "MAY"), ("fail", "SHOULD"), ("skip", "MUST"),
            ("fail", "MUST")]
    assert sorted(seen, key=lambda s: severity(*s))[:4] == [("fail", "MUST"), ("fail", "SHOULD"), ("fail", "MAY"),
                                                            ("error", "MUST")]

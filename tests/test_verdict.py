"""Folding test outcomes into requirement outcomes, judging them at a spec release, and the verdict per scope."""

import pytest

from ocitest.requirements import CLI, Catalog, Change, Requirement, parse_document
from ocitest.specversion import NEWEST, RELEASES, JudgedVersion, applies, judged_version, read_declared
from ocitest.verdict import (
    NOT_APPLICABLE,
    NOT_RUN,
    TestResult,
    at_versions,
    exit_status,
    fold_all,
    fold_requirement,
    judge,
    overall,
    severity,
)


def req(rid="r", level="MUST", **kw) -> Requirement:
    return Requirement(rid, level, "runtime.md", "runtimeState", "https://x/v1.3.0/runtime.md#runtimeState", "s", **kw)


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


def test_a_requirement_none_of_whose_tests_ran_is_not_run_not_skipped():
    result = fold_requirement(req(), [])
    assert result.outcome == NOT_RUN and "no test" in result.message and "not selected" in result.message


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


def test_the_verdict_line_names_what_it_counts():
    line = overall(fold_all([req("m")], [outcome_of("fail", "m")]), "runtime-spec 1.0.2 (declared)").line()
    assert line == ("ocitest: RED against runtime-spec 1.0.2 (declared) — 1 MUST failed, 0 SHOULD failed, "
                    "0 MAY failed, 0 requirements skipped, 0 errors, 0 not applicable")
    interrupted = overall(fold_all([req("m")], [outcome_of("skip", "m")])).line(interrupted=True)
    assert interrupted.startswith("ocitest: INTERRUPTED (partial: GREEN) — ")
    assert "1 requirement skipped" in interrupted


# -- judged at a release -----------------------------------------------------------------------------

def catalog_of(*reqs: Requirement, cli_version: str = "1.0.1") -> Catalog:
    return Catalog({r.id: r for r in reqs}, {"runtime-spec": NEWEST, CLI: cli_version})


def cli_req(rid="cli.x", level="MUST", **kw) -> Requirement:
    return Requirement(rid, level, "command-line-interface.md", "create", "https://x/cli.md#create", "s", scope=CLI,
                       **kw)


DECLARED_102 = JudgedVersion("1.0.2", "declared", "1.0.2-dev", "features ociVersionMax", "1.0.2-dev read as 1.0.2")


def test_a_requirement_newer_than_the_judged_release_is_not_applicable_and_keeps_what_was_observed():
    old, new = req("old", since="1.0.0"), req("new", since="1.1.0")
    tests = [outcome_of("pass", "old"), outcome_of("fail", "new", "ignored")]
    judged = {r.requirement.id: r for r in at_versions([old, new], tests, {"runtime-spec": "1.0.2"})}
    assert judged["old"].outcome == "pass" and judged["old"].seen == "pass"
    assert judged["new"].outcome == NOT_APPLICABLE and judged["new"].observed == "fail"
    assert "since 1.1.0" in judged["new"].message and "ignored" in judged["new"].message
    assert judged["new"].to_json()["observed"] == "fail" and judged["new"].to_json()["outcome"] == NOT_APPLICABLE
    at_newest = {r.requirement.id: r.outcome for r in at_versions([old, new], tests, {"runtime-spec": "1.3.0"})}
    assert at_newest == {"old": "pass", "new": "fail"}


def test_not_applicable_is_never_counted_as_failed_or_skipped():
    reqs = [req("m", since="1.2.0"), req("s", "SHOULD", since="1.1.0"), req("k", since="1.3.0"),
            req("u", covered=False, why="x", since="1.1.0"), req("p")]
    tests = [outcome_of("fail", "m"), outcome_of("fail", "s"), outcome_of("skip", "k"), outcome_of("pass", "p")]
    verdict = overall(at_versions(reqs, tests, {"runtime-spec": "1.0.2"}))
    assert verdict.color == "green"
    assert verdict.counts() == {"must_failed": 0, "should_failed": 0, "may_failed": 0, "passed": 1, "skipped": 0,
                                "errors": 0, "not_applicable": 4, "not_run": 0}
    newest = overall(at_versions(reqs, tests, {"runtime-spec": "1.3.0"}))
    assert (newest.color, newest.must_failed, newest.should_failed, newest.skipped) == ("red", 1, 1, 2)


def test_a_case_newer_than_the_judged_release_is_set_aside():
    """The ``time`` case of a requirement on every namespace type came in 1.1.0: at 1.0.2 it counts for nothing."""
    types = req("types")
    tests = [TestResult("t[pid]", "pass", requirements=["types"]),
             TestResult("t[time]", "fail", requirements=["types"], message="refused", since="1.1.0")]
    (at_102,) = at_versions([types], tests, {"runtime-spec": "1.0.2"})
    assert (at_102.outcome, at_102.observed) == ("pass", "fail")
    assert "set aside, newer than 1.0.2: t[time] (since 1.1.0) fail" in at_102.message
    assert at_102.to_json()["observed"] == "fail"
    (at_110,) = at_versions([types], tests, {"runtime-spec": "1.1.0"})
    assert (at_110.outcome, at_110.observed) == ("fail", None) and "refused" in at_110.message
    (only_new,) = at_versions([types], tests[1:], {"runtime-spec": "1.0.2"})
    assert (only_new.outcome, only_new.observed) == (NOT_APPLICABLE, "fail")
    assert "every case is newer (since 1.1.0)" in only_new.message
    assert tests[1].to_json()["since"] == "1.1.0"


def test_a_requirement_without_since_applies_at_every_release():
    assert all(applies(None, v) for v in RELEASES)
    assert applies("1.0.2", "1.0.2") and not applies("1.2.1", "1.2.0") and applies("1.2.0", "1.2.1")


def test_a_failed_may_is_counted_but_never_a_color():
    verdict = overall(fold_all([req("y", "MAY")], [outcome_of("fail", "y")]))
    assert verdict.color == "green" and verdict.may_failed == 1 and "1 MAY failed" in verdict.line()


def test_the_command_line_document_is_judged_apart_and_counted_only_when_asked():
    catalog = catalog_of(req("m"), req("n", since="1.1.0"), cli_req("cli.a"), cli_req("cli.b", "SHOULD"))
    observed = [outcome_of("pass", "m"), outcome_of("fail", "n"), outcome_of("fail", "cli.a"),
                outcome_of("pass", "cli.b")]
    apart = judge(catalog, observed, DECLARED_102)
    assert apart.top.color == "green" and apart.top.counts()["must_failed"] == 0
    assert exit_status(apart.top) == 0
    scopes = apart.to_json()
    assert list(scopes) == ["runtime-spec", "runtime-spec-newest", "command-line-interface"]
    assert scopes["runtime-spec"] == {"verdict": "green", "counts": apart.top.counts(), "spec_version": "1.0.2",
                                      "basis": "declared", "counted": True, "note": "1.0.2-dev read as 1.0.2"}
    assert scopes["runtime-spec"]["counts"]["passed"] == 1 and scopes["runtime-spec"]["counts"]["not_applicable"] == 1
    assert (scopes["runtime-spec-newest"]["verdict"], scopes["runtime-spec-newest"]["spec_version"]) == ("red", NEWEST)
    assert scopes["runtime-spec-newest"]["counts"]["must_failed"] == 1
    cli = scopes["command-line-interface"]
    assert (cli["verdict"], cli["spec_version"], cli["counted"], cli["counts"]["must_failed"]) == ("red", "1.0.1",
                                                                                                   False, 1)
    lines = apart.lines()
    assert lines[0].startswith("runtime-spec 1.3.0 (newest): RED — 1 MUST failed")
    assert lines[1].startswith("command-line-interface 1.0.1: RED — 1 MUST failed")
    assert lines[1].endswith("(not counted; --judge-cli to count it)")
    assert lines[2].startswith("ocitest: GREEN against runtime-spec 1.0.2 (declared) — 0 MUST failed")
    assert lines[2].endswith("0 errors, 1 not applicable")

    counted = judge(catalog, observed, DECLARED_102, judge_cli=True)
    assert counted.top.color == "red" and exit_status(counted.top) == 1
    assert counted.top.must_failed == 1 and counted.top.passed == 2 and counted.top.not_applicable == 1
    assert counted.to_json()["command-line-interface"]["counted"] is True
    assert counted.lines()[-1].startswith(
        "ocitest: RED against runtime-spec 1.0.2 (declared) and command-line-interface 1.0.1 — 1 MUST failed")
    assert counted.lines()[1].endswith("(counted: --judge-cli)")


def test_at_the_newest_release_both_runtime_spec_scopes_agree():
    catalog = catalog_of(req("m", since="1.3.0"), req("p"))
    observed = [outcome_of("fail", "m"), outcome_of("pass", "p")]
    judged = judge(catalog, observed, JudgedVersion(NEWEST, "option"))
    scopes = judged.to_json()
    assert scopes["runtime-spec"]["counts"] == scopes["runtime-spec-newest"]["counts"]
    assert scopes["runtime-spec"]["basis"] == "option" and judged.top.label == "runtime-spec 1.3.0 (--spec-version)"
    assert "command-line-interface" not in scopes  # a catalog without the CLI document has no such scope


def test_requirements_not_run_are_counted_apart():
    catalog = catalog_of(req("ran"), req("other"))
    judged = judge(catalog, [outcome_of("pass", "ran")], DECLARED_102)
    assert judged.top.not_run == 1 and judged.top.skipped == 0 and judged.top.color == "green"
    assert judged.lines()[-1].endswith(", 1 not run")


# -- the declared version ------------------------------------------------------------------------------

@pytest.mark.parametrize(("declared", "release", "note"), [
    ("1.0.2-dev", "1.0.2", "1.0.2-dev read as 1.0.2"),
    ("1.1.0+dev", "1.1.0", "1.1.0+dev read as 1.1.0"),
    ("1.0.0", "1.0.0", ""),
    ("1.2.1", "1.2.1", ""),
    ("1.0.0-rc5", "1.0.0", "1.0.0-rc5 read as 1.0.0"),
    ("1.0.3", "1.0.2", "not a runtime-spec release; judged at 1.0.2"),
    ("1.4.0", "1.3.0", "not a runtime-spec release; judged at 1.3.0"),
    ("0.9.0", "1.0.0", "older than every release"),
    ("garbage", None, "'garbage' is not a version"),
    ("", None, ""),
    (None, None, ""),
])
def test_a_declared_version_is_read_as_the_release_it_names(declared, release, note):
    reading = read_declared(declared)
    assert reading.release == release
    assert note in reading.note if note else reading.note == ""


def test_the_judged_version_prefers_the_option_then_features_then_the_version_line():
    assert judged_version(option=None, features_max="1.0.2-dev", version_spec="1.0.0").version == "1.0.2"
    from_line = judged_version(option=None, features_max=None, version_spec="1.0.0")
    assert (from_line.version, from_line.basis, from_line.declared_by) == ("1.0.0", "declared", "--version spec line")
    chosen = judged_version(option="1.3.0", features_max="1.0.2-dev", version_spec=None)
    assert (chosen.version, chosen.basis, chosen.declared) == ("1.3.0", "option", "1.0.2-dev")
    assert "--spec-version" in chosen.explain() and "1.0.2-dev" in chosen.explain()
    nothing = judged_version(option=None, features_max=None, version_spec=None)
    assert (nothing.version, nothing.basis) == (NEWEST, "not declared")
    assert "declares no version" in nothing.explain()
    unreadable = judged_version(option=None, features_max=None, version_spec="v-next")
    assert unreadable.basis == "not declared" and "'v-next' is not a version" in unreadable.note
    with pytest.raises(ValueError, match="not a runtime-spec release"):
        judged_version(option="1.0.3", features_max=None, version_spec=None)


# -- the catalog's fields ------------------------------------------------------------------------------

DOCUMENT = """
[document]
name = "config.md"
base = "https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md"

[[requirement]]
id = "config.x"
level = "MUST"
since = "1.1.0"
changes = [{ version = "1.2.0", note = "now also on bind mounts" }]
anchor = "configDomainname"
basis = ["runtime.md#runtimeCreate"]
summary = "s"
"""


def test_the_catalog_reads_since_changes_basis_and_scope():
    (entry,) = parse_document(DOCUMENT)
    assert entry.since == "1.1.0" and entry.changes == (Change("1.2.0", "now also on bind mounts"),)
    assert entry.basis_references == ("https://github.com/opencontainers/runtime-spec/blob/v1.3.0/"
                                      "runtime.md#runtimeCreate",)
    assert entry.scope == "runtime-spec"
    cli = parse_document(DOCUMENT.replace('name = "config.md"', 'name = "command-line-interface.md"'))[0]
    assert cli.scope == CLI
    data = entry.to_json()
    assert data["changes"] == [{"version": "1.2.0", "note": "now also on bind mounts"}]
    assert data["basis_references"] == list(entry.basis_references)


def test_reports_list_what_failed_most_severe_first():
    seen = [("pass", "MUST"), ("error", "MUST"), ("fail", "MAY"), ("fail", "SHOULD"), ("skip", "MUST"),
            ("fail", "MUST")]
    assert sorted(seen, key=lambda s: severity(*s))[:4] == [("fail", "MUST"), ("fail", "SHOULD"), ("fail", "MAY"),
                                                            ("error", "MUST")]

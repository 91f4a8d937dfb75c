"""The HTML report and the matrix, read in a real headless browser (Debian's chromium through selenium).

Each real run happens once per module: runc and crun on the `cli` suite (about 10 s each). The
pages are checked the way a certifier uses them: they load without script errors, filters and
sorting change what is shown, and the evidence of a red names the runtime call behind it.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ocitest.report import html as html_report

from .conftest import Run, needs_root_and, run_ocitest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    needs_root_and("runc"),
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"),
]

#: What the page's own script says: every visible requirement row, in page order.
VISIBLE_IDS = """
return Array.prototype.filter.call(document.querySelectorAll("tr.req"), function (row) {
  return row.offsetParent !== null;
}).map(function (row) { return row.getAttribute("data-id"); });
"""


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[test]')")
    # selenium is optional (importorskip above), so this import cannot be at the top of the module.
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def load(driver, path: Path) -> None:
    """Open a page and fail on any script error or failed resource load it logged."""
    driver.get(path.as_uri())
    severe = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    assert not severe, f"{path.name} logged errors in the browser: {severe}"


def click(driver, element_id: str) -> None:
    driver.find_element("id", element_id).click()


@pytest.fixture(scope="module")
def runc_cli(tmp_path_factory) -> tuple[Run, Path]:
    folder = tmp_path_factory.mktemp("runc-html")
    page = folder / "report.html"
    run = run_ocitest(folder, "--runtime", "runc", "--suite", "cli", "--html", str(page))
    assert run.report is not None, run.output[-3000:]
    assert page.exists(), run.output[-3000:]
    return run, page


@pytest.fixture(scope="module")
def crun_cli(tmp_path_factory) -> Run:
    if shutil.which("crun") is None:
        pytest.skip("needs crun")
    run = run_ocitest(tmp_path_factory.mktemp("crun-html"), "--runtime", "crun", "--suite", "cli")
    if run.report is None and run.exit == 2:
        pytest.skip(f"crun cannot run containers on this host: {run.output.strip().splitlines()[-1:]}")
    assert run.report is not None, run.output[-3000:]
    return run


def test_the_report_page_loads_and_shows_the_red_verdict(browser, runc_cli):
    run, page = runc_cli
    assert run.report["verdict"] == "red"
    load(browser, page)
    badge = browser.find_element("id", "verdict")
    assert badge.text == "RED" and "red" in badge.get_attribute("class").split()
    red, green, blue = (int(float(v)) for v in badge.value_of_css_property("background-color")
                        .split("(")[1].rstrip(")").split(",")[:3])
    assert red > 150 and green < 100 and blue < 100, badge.value_of_css_property("background-color")
    facts = browser.find_element("id", "facts").text
    for fact in (run.report["runtime"]["path"], run.report["runtime"]["version"], run.report["host"]["kernel"]):
        assert fact in facts


def test_the_page_opens_on_what_failed_most_severe_first(browser, runc_cli):
    run, page = runc_cli
    load(browser, page)
    failed = browser.find_element("id", "failed")
    assert failed.location["y"] < browser.find_element("id", "requirements").location["y"]
    assert failed.location["y"] < browser.execute_script("return window.innerHeight;"), "not on the first screen"
    rank = {"fail": 0, "error": 1}
    failing = [r for r in run.report["requirements"] if r["outcome"] in rank]
    expected = [r["id"] for r in sorted(failing, key=lambda r: (r["scope"] != "runtime-spec", rank[r["outcome"]],
                                                                 ("MUST", "SHOULD", "MAY").index(r["level"])))]
    shown = [row.get_attribute("data-id") for row in failed.find_elements("css selector", "tbody tr")]
    assert shown == expected
    articles = [a.get_attribute("id") for a in browser.find_elements("css selector", "article.evidence")]
    assert articles == [f"ev-{rid}" for rid in expected]


def test_the_table_has_one_row_per_requirement_grouped_by_section(browser, runc_cli):
    run, page = runc_cli
    load(browser, page)
    assert browser.execute_script(VISIBLE_IDS) == [r["id"] for r in sorted(
        run.report["requirements"], key=lambda r: _section_order(run.report).index(r["section"]))]
    sections = browser.execute_script(
        'return Array.prototype.map.call(document.querySelectorAll("#requirements tbody.group"), '
        'function (g) { return g.getAttribute("data-section"); });')
    assert sections == _section_order(run.report)


def _section_order(report: dict) -> list[str]:
    return list(dict.fromkeys(r["section"] for r in report["requirements"]))


def test_the_outcome_filter_leaves_exactly_the_failing_requirements(browser, runc_cli):
    run, page = runc_cli
    load(browser, page)
    for outcome in ("pass", "skip", "error", "not-applicable", "not-run"):
        click(browser, f"filter-outcome-{outcome}")
    failing = {rid for rid, outcome in run.outcomes().items() if outcome == "fail"}
    assert failing and set(browser.execute_script(VISIBLE_IDS)) == failing
    total = len(run.report["requirements"])
    assert browser.find_element("id", "shown-count").text == f"showing {len(failing)} of {total}"
    visible = browser.find_element("id", f"req-{sorted(failing)[0]}")
    assert visible.is_displayed()
    click(browser, "filter-outcome-pass")
    passing = {rid for rid, o in run.outcomes().items() if o == "pass"}
    assert set(browser.execute_script(VISIBLE_IDS)) == failing | passing


def test_the_level_filter(browser, runc_cli):
    run, page = runc_cli
    load(browser, page)
    click(browser, "filter-level-MUST")
    assert set(browser.execute_script(VISIBLE_IDS)) == {rid for rid, level in run.levels().items() if level != "MUST"}
    click(browser, "filter-level-MUST")
    click(browser, "filter-level-SHOULD")
    click(browser, "filter-level-MAY")
    assert set(browser.execute_script(VISIBLE_IDS)) == {rid for rid, level in run.levels().items() if level == "MUST"}


def test_clicking_a_column_header_sorts_within_each_section(browser, runc_cli):
    run, page = runc_cli
    load(browser, page)
    per_section = ('return Array.prototype.map.call('
                   'document.querySelectorAll("#requirements tbody.group"), function (g) {'
                   '  return Array.prototype.map.call(g.querySelectorAll("tr.req"), function (r) {'
                   '    return [r.getAttribute("data-id"), r.getAttribute("data-outcome")]; }); });')
    header = browser.find_element("css selector", '#requirements th[data-sort-key="id"] button')
    header.click()
    groups = browser.execute_script(per_section)
    assert [[rid for rid, _ in g] for g in groups] == [sorted(rid for rid, _ in g) for g in groups]
    header.click()
    groups = browser.execute_script(per_section)
    assert [[rid for rid, _ in g] for g in groups] == [sorted((rid for rid, _ in g), reverse=True) for g in groups]
    browser.find_element("css selector", '#requirements th[data-sort-key="outcome"] button').click()
    rank = {"fail": 0, "error": 1, "pass": 2, "skip": 3, "not-applicable": 4, "not-run": 5}
    for group in browser.execute_script(per_section):
        ranks = [rank[outcome] for _, outcome in group]
        assert ranks == sorted(ranks), group
    assert sum(len(g) for g in groups) == len(run.report["requirements"])


def test_a_failing_requirement_links_to_evidence_naming_the_runtime_call(browser, runc_cli):
    run, page = runc_cli
    load(browser, page)
    req = next(r for r in run.report["requirements"] if r["outcome"] == "fail")
    test = next(t for t in run.report["tests"] if t["nodeid"] in req["tests"] and t["outcome"] == "fail")
    assert test["calls"], test
    browser.find_element("css selector", f'tr[data-id="{req["id"]}"] a.evidence-link').click()
    evidence = browser.find_element("id", f"ev-{req['id']}")
    assert evidence.is_displayed()
    commands = [element.text for element in evidence.find_elements("css selector", ".call .cmd")]
    assert f"$ {shlex.join(test['calls'][0]['argv'])}" in commands
    text = evidence.text
    assert test["nodeid"] in text and test["calls"][0]["stderr"].strip().splitlines()[0] in text
    if test["containers"]:
        change = test["containers"][0]["config_changes"][0]
        assert change["path"] in evidence.find_element("css selector", "table.changes").text


def test_runtime_output_is_shown_as_text_never_run_as_markup(browser, runc_cli, tmp_path):
    """Runtime output is untrusted: a stderr that holds markup must appear literally. Also an
    interrupted run's page says partial instead of the color it did not earn."""
    run, _ = runc_cli
    report = copy.deepcopy(run.report)
    hostile = '</pre><script>window.pwned = 1</script><img id="pwned" src="x" onerror="window.pwned = 2">'
    failing = next(t for t in report["tests"] if t["outcome"] == "fail" and t["calls"])
    failing["calls"][0]["stderr"] = hostile
    failing["message"] = hostile
    report["runtime"]["version"] = hostile
    report["interrupted"] = True
    page = html_report.write(report, tmp_path / "deep" / "hostile.html")
    load(browser, page)
    assert browser.execute_script("return window.pwned === undefined && !document.getElementById('pwned');")
    assert hostile in browser.find_element("css selector", ".call pre.stderr").text
    badge = browser.find_element("id", "verdict")
    assert badge.text == "PARTIAL" and "partial" in badge.get_attribute("class").split()
    assert not list(tmp_path.joinpath("deep").glob("*.tmp"))


def _pretend_other_runtime(report: dict) -> tuple[dict, str]:
    """A third report for the matrix, made from runc's instead of run: runsc, the only other runtime
    here, takes minutes even on one suite, and this test is about the matrix, not a runtime. It
    differs from runc's in its name, its version and one outcome, so the matrix has a row to show."""
    other = copy.deepcopy(report)
    other["runtime"]["path"] = "/opt/pretend/otherc"
    other["runtime"]["version"] = "otherc version 0.1"
    flipped = next(r for r in other["requirements"] if r["outcome"] == "pass" and r["level"] == "MUST")
    flipped["outcome"] = "fail"
    flipped["message"] = "a made-up failure: this report is a copy of runc's"
    other["counts"]["passed"] -= 1
    other["counts"]["must_failed"] += 1
    other["verdict"] = "red"
    return other, flipped["id"]


#: Set to 1 for the manual run with a real runsc report as the third column (about 3 minutes more).
WITH_RUNSC = os.environ.get("OCITEST_MATRIX_RUNSC") == "1"


@pytest.fixture(scope="module")
def matrix_inputs(runc_cli, crun_cli, tmp_path_factory) -> tuple[list[Path], list[dict], str, str]:
    """runc, crun and a third report; the third is runsc's own with OCITEST_MATRIX_RUNSC=1, else a stand-in.

    Returns the paths, the reports, a requirement on which the third differs from runc (PASS, then FAIL)
    and the third column's label.
    """
    folder = tmp_path_factory.mktemp("matrix")
    if WITH_RUNSC:
        if shutil.which("runsc") is None:
            pytest.skip("OCITEST_MATRIX_RUNSC=1 but runsc is not installed")
        run = run_ocitest(folder, "--runtime", "runsc", "--suite", "cli", "--wait-timeout", "10")
        assert run.report is not None and not run.errors(), run.output[-3000:]
        other, name = run.report, "runsc"
        runc_outcomes = {r["id"]: r["outcome"] for r in runc_cli[0].report["requirements"]}
        flipped = next(r["id"] for r in other["requirements"]
                       if r["outcome"] == "fail" and runc_outcomes.get(r["id"]) == "pass")
        label = f"runsc {other['runtime']['version'].split()[-1]}"
    else:
        (other, flipped), name, label = _pretend_other_runtime(runc_cli[0].report), "otherc", "otherc 0.1"
    reports = [runc_cli[0].report, crun_cli.report, other]
    paths = []
    for stem, report in zip(("runc", "crun", name), reports, strict=True):
        paths.append(folder / f"{stem}.json")
        paths[-1].write_text(json.dumps(report))
    return paths, reports, flipped, label


def test_the_text_matrix(matrix_inputs, tmp_path):
    paths, reports, flipped, label = matrix_inputs
    out = subprocess.run([sys.executable, "-m", "ocitest.cli", "matrix", *map(str, paths)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert all(len(line) <= 120 for line in lines), max(lines, key=len)
    header = next(line for line in lines if line.startswith("  requirement"))
    runc_version = reports[0]["runtime"]["version"].split()[-1]
    for name in (f"runc {runc_version}", "crun ", label):
        assert name[:16] in header  # a long version is cut short in its column (runsc 0.0~20221219.0)
    row = next(line for line in lines if line[2:].startswith(flipped + " "))
    assert row.startswith("* ") and row.split()[3:6] == ["PASS", "PASS", "FAIL"], row
    assert lines[-1].split() == ["verdict", "RED", "RED", "RED"]
    ids = {r["id"] for report in reports for r in report["requirements"]}
    shown = {line[2:].split()[0] for line in lines[lines.index(header) + 1:-1] if line[2:3].strip()}
    assert shown == ids


def test_the_html_matrix_and_its_differs_filter(browser, matrix_inputs, tmp_path):
    paths, reports, flipped, label = matrix_inputs
    page = tmp_path / "matrix.html"
    out = subprocess.run([sys.executable, "-m", "ocitest.cli", "matrix", *map(str, paths), "--html", str(page)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    load(browser, page)
    outcomes = [{r["id"]: r["outcome"] for r in report["requirements"]} for report in reports]
    ids = list(dict.fromkeys(rid for o in outcomes for rid in o))
    assert browser.execute_script(VISIBLE_IDS) == ids
    headers = [th.text for th in browser.find_elements("css selector", "#matrix thead th")]
    assert len(headers) == 2 + len(reports) + 1 and headers[4].startswith(label)
    cell = browser.find_element("css selector", f'#matrix tr[data-id="{flipped}"] td.cell.fail')
    assert cell.text == "FAIL" and (WITH_RUNSC or "made-up" in cell.get_attribute("title"))
    click(browser, "filter-differs")
    differ = {rid for rid in ids if len({o.get(rid) for o in outcomes}) > 1}
    assert flipped in differ and set(browser.execute_script(VISIBLE_IDS)) == differ
    click(browser, "filter-differs")
    click(browser, "filter-level-MUST")
    assert set(browser.execute_script(VISIBLE_IDS)) == {
        r["id"] for r in reports[0]["requirements"] if r["level"] != "MUST"}
    verdicts = [b.text for b in browser.find_elements("css selector", "#matrix tfoot .badge")]
    assert verdicts == ["RED", "RED", "RED"]

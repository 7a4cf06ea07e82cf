"""One gate result rendered in every output format: each figure reads the same everywhere, and a
check name in free text (spaces, quotes, slashes, ``|``, ``<``, non-ASCII) comes back intact from
each format's own parser."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from promgate import CheckResult, GateResult, RunWindow, SeriesResult, Verdict
from promgate.config.loader import parse_config
from promgate.core.judging.format import (
    KEY_LINES_LABEL,
    conditions_text,
    format_labels,
    format_value,
    key_lines,
)
from promgate.core.judging.judge import judge_check
from promgate.prometheus.types import Sample
from promgate.report.analysis import analysis_document
from promgate.report.github import github_annotations
from promgate.report.html.data import report_data
from promgate.report.html.page import render_html
from promgate.report.junit import render_junit
from promgate.report.markdown import render_markdown
from promgate.report.push import results_registry
from promgate.report.text import render_table

WINDOW = RunWindow("run/1 ü", "locust", 1000.0, 1060.0, 1061.0, 1.0, 1062.0, 63)
WEIRD = 'p95 "checkout" / Ünïcödé | <b> 延迟'


def _check(
    name: str, unit: str, value: float | None, verdict: Verdict, **kw: object
) -> CheckResult:
    base: dict[str, object] = {
        "description": "",
        "preset": None,
        "query": "q",
        "reduce": "max",
        "no_data": "fail",
        "baseline_missing": "fail",
        "warning": [],
        "critical": [],
        "baseline": None,
        "reason": f"reason of {name}",
    }
    base.update(kw)
    return CheckResult(name=name, unit=unit, value=value, verdict=verdict, **base)  # type: ignore[arg-type]


def _result() -> GateResult:
    series = [
        SeriesResult({"method": "GET", "name": '/a "x"'}, 0.25, None, Verdict.FAIL, "critical"),
        SeriesResult({"method": "POST", "name": "/b"}, 0.05, None, Verdict.PASS, "ok"),
    ]
    checks = [
        _check(WEIRD, "ms", 1234.5, Verdict.FAIL, critical=["> 1s"], baseline=1000.0),
        _check("error rate", "percent", 6.2567, Verdict.WARN, warning=["> 5%"]),
        _check("throughput", "rps", 53.2712, Verdict.PASS, critical=["< 10"]),
        _check("requests", "count", 12345.0, Verdict.PASS),
        _check("per endpoint", "seconds", 0.25, Verdict.FAIL, reduce="each", series=series),
        _check("host cpu", "percent", None, Verdict.SKIP, no_data="skip", reason="no data"),
        _check("median", "seconds", 0.019, Verdict.WARN, warning=["> +20%"], baseline=0.015),
    ]
    summary: dict[str, float | None] = {
        "requests": 12345.0,
        "failures": 772.0,
        "error_rate_percent": 6.2567,
        "rps": 53.2712,
        "p50": 0.0451,
        "p95": 1.2345,
        "p99": None,
        "avg_response_time": 0.1,
        "cpu_usage_avg": None,
        "memory_usage_avg": None,
    }
    return GateResult("0.1.0", 2000.0, "http://prom", WINDOW, checks, summary, notes=["n <1>"])


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    result = _result()
    data = report_data(result)
    return {
        "text": render_table(result),
        "junit": render_junit(result),
        "markdown": render_markdown(result),
        "github": "\n".join(github_annotations(result)),
        "html": render_html(data),
        "json": json.dumps(result.to_dict(), ensure_ascii=False),
        "push": generate_latest(results_registry(result)).decode(),
    }


def test_every_value_reads_the_same_in_text_junit_markdown_and_html(
    outputs: dict[str, str],
) -> None:
    result = _result()
    junit_out = " ".join(e.text or "" for e in ET.fromstring(outputs["junit"]).iter("system-out"))
    for check in result.checks:
        shown = format_value(check.value, check.unit)
        assert shown in outputs["text"], (check.name, shown)
        assert shown in outputs["markdown"], (check.name, shown)
        assert html.escape(shown) in outputs["html"], (check.name, shown)
        if check.reduce != "each":
            assert f"value: {shown}" in junit_out, (check.name, shown)
    for s in result.checks[4].series:
        assert f"value: {format_value(s.value, 'seconds')}" in junit_out
        assert format_labels(s.labels) in outputs["text"]
    assert "1.234s" in outputs["text"] and "6.26%" in outputs["text"]  # the canonical forms
    assert "no data" in outputs["text"] and "no data" in outputs["markdown"]


def test_key_lines_match_across_markdown_and_html(outputs: dict[str, str]) -> None:
    p95_line, err_line = key_lines(1.2345, 6.2567)
    assert (p95_line, err_line) == ("95th percentile: 1.234s", "Error rate: 6.26%")
    for name in ("markdown", "html"):
        assert p95_line in outputs[name] and err_line in outputs[name], name
        assert len(re.findall(r"95th percentile: (\d+\.?\d*)s", outputs[name])) == 1, name


def test_verdict_words_are_one_vocabulary(outputs: dict[str, str]) -> None:
    assert "promgate: FAIL" in outputs["text"] and "promgate: FAIL" in outputs["markdown"]
    assert '<p class="vtext">FAIL</p>' in outputs["html"]
    assert "promgate_verdict{} 2.0" in outputs["push"] or "promgate_verdict 2.0" in outputs["push"]


def test_machine_outputs_carry_the_exact_numbers(outputs: dict[str, str]) -> None:
    result = _result()
    doc = json.loads(outputs["json"])
    assert GateResult.from_dict(doc).to_dict() == result.to_dict()
    assert analysis_document(result) == {
        "response_time_p95": 1.2345,
        "error_rate": 6.2567,
        "requests_per_second": 53.2712,
    }
    pushed = {
        s.labels["check"]: s.value
        for family in text_string_to_metric_families(outputs["push"])
        if family.name == "promgate_check_value"
        for s in family.samples
    }
    assert pushed[WEIRD] == 1234.5 and pushed["error rate"] == 6.2567
    assert pushed["host cpu"] != pushed["host cpu"]  # NaN: no data


def test_a_free_text_check_name_survives_every_format(outputs: dict[str, str]) -> None:
    assert WEIRD in outputs["text"]
    names = [c.get("name") for c in ET.fromstring(outputs["junit"]).iter("testcase")]
    assert WEIRD in names
    assert html.escape(WEIRD, quote=True) in outputs["html"] and WEIRD not in outputs["html"]
    assert json.loads(outputs["json"])["checks"][0]["name"] == WEIRD
    pushed = [
        s.labels["check"]
        for family in text_string_to_metric_families(outputs["push"])
        for s in family.samples
        if "check" in s.labels
    ]
    assert WEIRD in pushed
    # Markdown: the table row still has exactly 6 cells, and unescaping gives the name back.
    row = next(line for line in outputs["markdown"].splitlines() if "Ünïcödé" in line)
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 6
    assert re.sub(r"\\(.)", r"\1", cells[0].strip()) == WEIRD
    # GitHub: the title property decodes to the name (':' and ',' are delimiters there).
    line = next(x for x in outputs["github"].splitlines() if x.startswith("::error"))
    title = line.split("title=", 1)[1].split("::", 1)[0]
    decoded = title.replace("%3A", ":").replace("%2C", ",").replace("%0A", "\n")
    assert decoded.replace("%25", "%") == f"promgate {WEIRD}"


def test_an_error_rate_check_without_unit_reads_in_percent_everywhere() -> None:
    """README's check (``preset: error_rate``, ``critical: "> 0.5%"``, no ``unit:``) once read
    ``0.0374 > 0.5%``: the preset shows percent, converted from the query's ratio when judged."""
    config = parse_config(
        "checks:\n"
        "  - {name: error rate, preset: error_rate, critical: '> 0.5%'}\n"
        "  - {name: per endpoint, preset: endpoint_error_rate, warning: '> 2'}\n"
    )
    total, per_endpoint = config.checks
    assert (total.unit.name, total.query_unit.name) == ("percent", "ratio")
    checks = [
        judge_check(total, "q", [Sample({}, 0.0374)], None),
        judge_check(per_endpoint, "q", [Sample({"name": "/a"}, 0.03)], None),
    ]
    assert [c.value for c in checks] == [pytest.approx(3.74), pytest.approx(3.0)]
    assert [c.verdict for c in checks] == [Verdict.FAIL, Verdict.WARN]  # "> 2" is 2 %
    result = GateResult("0.1.0", 2000.0, "http://prom", WINDOW, checks, {})
    data = report_data(result)
    texts = {
        "text": render_table(result),
        "markdown": render_markdown(result),
        "junit": render_junit(result),
        "html": render_html(data),
    }
    for name, out in texts.items():
        assert "3.74%" in out and "3.00%" in out, name
        assert "0.0374" not in out and "0.0300" not in out, name
    doc = result.to_dict()["checks"][0]
    assert (doc["unit"], doc["value"]) == ("percent", pytest.approx(3.74))  # JSON: its unit's


def test_a_skipped_check_without_data_reads_no_data_in_every_format(
    outputs: dict[str, str],
) -> None:
    row = next(line for line in outputs["text"].splitlines() if line.startswith("host cpu"))
    assert row.endswith("no data") and "skip" not in row
    md_row = next(line for line in outputs["markdown"].splitlines() if "host cpu" in line)
    assert md_row.endswith("❔ no data |")
    html_row = outputs["html"][outputs["html"].index("<strong>host cpu</strong>") - 200 :]
    assert "? NO DATA</span>" in html_row.split("<strong>")[0]
    case = next(
        c for c in ET.fromstring(outputs["junit"]).iter("testcase") if c.get("name") == "host cpu"
    )
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message") == "no data"  # not "no data: no data"


def test_banner_tally_reads_in_severity_order(outputs: dict[str, str]) -> None:
    tally = re.search(r'<p class="vdetail">(\d+ checks: [^<]*)</p>', outputs["html"])
    assert tally is not None
    assert tally.group(1) == "7 checks: 2 fail, 2 warning, 1 no data, 2 pass"


def test_thresholds_read_the_same_in_text_markdown_and_html(outputs: dict[str, str]) -> None:
    result = _result()
    for check in result.checks:
        for texts in (check.warning, check.critical):
            if not texts:
                continue
            shown = conditions_text(texts, check.unit, check.baseline)
            assert shown in outputs["text"], shown
            assert shown.replace("<", "\\<") in outputs["markdown"], shown
            assert html.escape(shown) in outputs["html"], shown
    # Resolved, so a relative threshold shows the limit it became: 15 ms + 20 % = 18 ms.
    assert "> 18.0ms (> +20%)" in outputs["text"]
    assert "> 1.000s" in outputs["text"] and "< 10.00 rps" in outputs["text"]


def test_key_lines_are_labelled_for_ci_scripts(outputs: dict[str, str]) -> None:
    p95_line, err_line = key_lines(1.2345, 6.2567)
    md = outputs["markdown"]
    assert md.index(f"**{KEY_LINES_LABEL}**") < md.index(p95_line) < md.index(err_line)
    assert f"{KEY_LINES_LABEL} {html.escape(p95_line)}" in outputs["html"]

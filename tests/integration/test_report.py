"""The HTML report of a real finished Locust run: its numbers equal Locust's own summary.

``completed_run`` is one real local Locust run through the exporter with injected errors and
latency; the report is produced through the CLI exactly as CI would call it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import CompletedRun
from promgate.cli import run
from promgate.core.judging.format import format_value
from support import free_port
from unit.gate.report.html.report_support import CHROMIUM, png_stats, screenshot

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class Tables(HTMLParser):
    """Text of every table cell, per table (thead/tbody/tfoot rows alike)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[dict[str, str]]]:
    """Tables keyed by their section heading, rows as {header: cell}."""
    parser = Tables()
    parser.feed(html)
    headings = re.findall(r"<h2>([^<]+)</h2>(?:<p[^>]*>[^<]*</p>)?<table", html)
    out = {}
    for heading, table in zip(headings, parser.tables, strict=True):
        head, *rows = table
        out[heading] = [dict(zip(head, row, strict=True)) for row in rows]
    return out


def ms(entry: Any, q: float) -> str:
    return format_value(entry.get_response_time_percentile(q) / 1000, "seconds")


@pytest.fixture(scope="module")
def report(completed_run: CompletedRun, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    code = run(
        [
            "report",
            "--prometheus",
            completed_run.stack.prometheus_url,
            "--run-id",
            completed_run.run_id,
            "--html",
            str(out),
        ]
    )
    assert code == 0
    return out.read_text(encoding="utf-8")


def test_endpoint_table_equals_locust_summary(completed_run: CompletedRun, report: str) -> None:
    summary = completed_run.run.summary()
    rows = {(r["Method"], r["Name"]): r for r in tables(report)["Endpoints"]}
    assert set(rows) == set(summary), "endpoints differ from Locust's summary"
    for (method, name), entry in summary.items():
        row = rows[(method, name)]
        assert row["Requests"] == format_value(entry.num_requests, "count"), (method, name)
        assert row["Failures"] == format_value(entry.num_failures, "count"), (method, name)
        assert row["Fail %"] == format_value(entry.fail_ratio * 100, "percent"), (method, name)
        assert row["p50"] == ms(entry, 0.5), (method, name)
        assert row["p95"] == ms(entry, 0.95), (method, name)
        assert row["p99"] == ms(entry, 0.99), (method, name)
        avg_text = row["Avg"]
        avg = float(avg_text.rstrip("ms")) / (1000 if avg_text.endswith("ms") else 1)
        assert avg == pytest.approx(entry.avg_response_time / 1000, abs=0.0015), (method, name)
        rps = float(row["RPS"].removesuffix(" rps"))
        assert rps == pytest.approx(entry.total_rps, rel=0.02, abs=0.2), (method, name)
    total = summary[("", "Aggregated")]
    assert total.num_failures > 0, "the run was meant to have injected errors"


def test_key_lines_equal_locust_summary(completed_run: CompletedRun, report: str) -> None:
    total = completed_run.run.summary()[("", "Aggregated")]
    p95 = re.search(r"95th percentile: (\d+\.?\d*)s", report)
    err = re.search(r"Error rate: (\d+\.?\d*)%", report)
    assert p95 and float(p95.group(1)) == pytest.approx(
        total.get_response_time_percentile(0.95) / 1000, abs=0.0005
    )
    assert err and err.group(1) == f"{total.fail_ratio * 100:.2f}"


def test_errors_table_accounts_for_every_failure(completed_run: CompletedRun, report: str) -> None:
    summary = completed_run.run.summary()
    rows = tables(report)["Errors"]
    assert rows, "no errors table although the run had failures"
    by_endpoint: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["Method"], row["Name"])
        by_endpoint[key] = by_endpoint.get(key, 0) + int(row["Count"].replace(",", ""))
    for key, count in by_endpoint.items():
        assert count == summary[key].num_failures, key


def test_charts_hold_the_run(report: str) -> None:
    assert report.count('<svg class="chart"') == 5
    charts = report.split("<figure>")[1:]
    for title, chart in zip(("Users", "Requests per second"), charts, strict=False):
        assert title in chart
        assert "<polyline" in chart, f"{title}: no line drawn"
    assert "no data in this window" not in charts[0] + charts[1]


def test_check_html_and_report_from_result(completed_run: CompletedRun, tmp_path: Path) -> None:
    url = completed_run.stack.prometheus_url
    thresholds = ROOT / "examples" / "performance_thresholds.json"
    result, html = tmp_path / "result.json", tmp_path / "check.html"
    code = run(
        [
            "check",
            "--prometheus",
            url,
            "--run-id",
            completed_run.run_id,
            "--thresholds",
            str(thresholds),
            "--json",
            str(result),
            "--html",
            str(html),
            "--format",
            "table",
        ]
    )
    doc = json.loads(result.read_text())
    assert code == doc["exit_code"]
    check_html = html.read_text(encoding="utf-8")
    verdict = {"pass": "PASS", "warning": "WARNING", "fail": "FAIL"}[doc["verdict"]]
    assert f'<p class="vtext">{verdict}</p>' in check_html
    names = re.findall(r"<td><strong>(.*?)</strong>", check_html)
    assert names == [c["name"] for c in doc["checks"]]
    rows = tables(check_html)["Checks"]
    error_row = rows[names.index("error_rate")]
    assert error_row["Value"] == format_value(doc["summary"]["error_rate_percent"], "percent")
    assert error_row["Warning"] == "> 2.00%" and error_row["Critical"] == "> 5.00%"
    # Thresholds are drawn on the charts they belong to.
    assert "warning error_rate 2.00%" in check_html
    assert "warning requests_per_second 50.00 rps" in check_html

    # The result file holds what the report shows: rendered again with Prometheus out of
    # reach (a port nothing listens on), it is the same report, byte for byte.
    shown = {(r["Method"], r["Name"]) for r in tables(check_html)["Endpoints"]}
    assert shown == {(e["method"], e["name"]) for e in doc["report"]["endpoints"]} | {
        ("", "Aggregated")
    }
    assert {line["panel"] for line in doc["report"]["lines"]} >= {"users", "response_time"}
    nowhere = f"http://127.0.0.1:{free_port()}"
    again = tmp_path / "again" / "check.html"
    report = ["report", "--prometheus", nowhere, "--result", str(result), "--html", str(again)]
    assert run(report) == 0
    assert again.read_bytes() == html.read_bytes()
    assert (tmp_path / "again" / "check.css").read_bytes() == (tmp_path / "check.css").read_bytes()
    text = again.read_text(encoding="utf-8")
    assert f'<p class="vtext">{verdict}</p>' in text and "<polyline" in text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_real_report_renders(report: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report, encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path / "profile")
    colours, ink = png_stats(png)
    assert colours > 150 and 0.05 < ink < 0.8, (colours, ink)


def test_unknown_run_is_an_error(completed_run: CompletedRun, tmp_path: Path) -> None:
    out = tmp_path / "none.html"
    url = completed_run.stack.prometheus_url
    assert run(["report", "--prometheus", url, "--run-id", "no-such-run", "--html", str(out)]) == 1
    assert not out.exists()

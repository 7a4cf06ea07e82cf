"""The report's data: read from a stand-in Prometheus client into the result
(``core.runs.collect``), then shown from the result alone (``report.html.data``, no client)."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from promgate import queries
from promgate.cli.files import write_html
from promgate.cli.report import run_report
from promgate.core.model.result import GateResult
from promgate.core.runs.collect import fetch_report, observe_run, per_push_rates
from promgate.errors import PrometheusUnavailable, UsageError
from promgate.prometheus.templating import render
from promgate.prometheus.types import Sample, Series
from promgate.prometheus.window import RunWindow, run_selector
from promgate.report.html.data import report_data
from promgate.report.html.page import ReportData, render_html

WINDOW = RunWindow("r<1>", "locust", 1000.0, 1060.0, 1061.0, 1.0, 1062.0, 75)
VARS = {"job": "locust", "run_id": "r<1>", "window": "75s"}


class FakeClient:
    """Answers the canonical queries of one run; records the range queries asked."""

    shown_url = "http://prometheus"

    def __init__(self, fail_ranges: bool = False) -> None:
        self.instant: dict[str, list[Sample]] = {}
        self.ranges: list[tuple[str, dict[str, str]]] = []
        self.fail_ranges = fail_ranges
        self.at: list[float | None] = []

    def answer(self, template: str, *samples: Sample) -> None:
        self.instant[render(template, VARS)] = list(samples)

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        self.at.append(at)
        return self.instant.get(expr, [])

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        if self.fail_ranges:
            raise PrometheusUnavailable("Prometheus unreachable at http://x: refused")
        params = {"start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        self.ranges.append((expr, params))
        points = [(1000.0 + i * 10, float(i)) for i in range(7)] + [(1070.0, math.nan)]
        return [Series({}, points)]


def ep(method: str, name: str, value: float) -> Sample:
    return Sample({"method": method, "name": name}, value)


def fake() -> FakeClient:
    c = FakeClient()
    c.answer(queries.requests_total(), Sample({}, 300))
    c.answer(queries.failures_total(), Sample({}, 6))
    c.answer(queries.error_ratio(), Sample({}, 0.02))
    c.answer(queries.locust_quantile(0.95), Sample({}, 0.25))
    c.answer(queries.locust_quantile(0.5), Sample({}, math.nan))  # NaN is no data
    table = queries.endpoint_table()
    c.answer(table["requests"], ep("GET", "/a", 200), ep("POST", "<b>", 100))
    c.answer(table["failures"], ep("GET", "/a", 6), ep("POST", "<b>", 0))
    c.answer(table["p95"], ep("GET", "/a", 0.3))
    c.answer(
        queries.errors_by_error(),
        Sample({"method": "GET", "name": "/a", "error": "500 <oops>"}, 6),
        Sample({"method": "GET", "name": "/a", "error": "stale"}, 0),
    )
    return c


def result_doc(**check: Any) -> dict[str, Any]:
    base = {
        "name": "p95", "preset": "p95", "unit": "ms", "query": "q", "warning": ["> 200"],
        "critical": ["> +50%"], "value": 250.0, "baseline": 200.0, "verdict": "warning",
        "reason": "warning: 250ms > 200",
        "series": [{"labels": {}, "thresholds": {}, "verdict": "warning"}],
    }  # fmt: skip
    base.update(check)
    return {
        "verdict": "warning",
        "run": {**WINDOW.to_dict()},
        "baseline": {"source": "run", "run": {**WINDOW.to_dict(), "run_id": "base-1"}},
        "checks": [base],
        "notes": ["gate note"],
    }


def result(**check: Any) -> GateResult:
    return GateResult.from_dict(result_doc(**check))


def collect_report(
    client: FakeClient, window: RunWindow, res: GateResult | None = None
) -> ReportData:
    """What ``promgate report`` shows: of a run alone (not judged) or of a gate result, its
    report's data read from ``client`` into the result first."""
    if res is None:
        return report_data(observe_run(client, window), judged=False)  # type: ignore[arg-type]
    res.report = fetch_report(client, window)  # type: ignore[arg-type]
    return report_data(res)


def test_summary_tables_and_window() -> None:
    client = fake()
    data = collect_report(client, WINDOW)
    assert data.summary.requests == 300 and data.summary.p95 == 0.25
    assert data.summary.p50 is None
    assert set(client.at) == {WINDOW.eval_time}  # judged where the gate judges
    rows = {(r.method, r.name): r for r in data.endpoints}
    assert rows[("GET", "/a")].failures == 6 and rows[("GET", "/a")].p95 == 0.3
    assert rows[("POST", "<b>")].p95 is None
    assert [(e.error, e.count) for e in data.errors] == [("500 <oops>", 6)]
    assert data.verdict == "unknown" and not data.checks


def test_charts_use_the_run_window_and_a_rate_window_of_scrapes() -> None:
    client = fake()
    data = collect_report(client, WINDOW)
    assert [c.title for c in data.charts][:4] == [
        "Users", "Requests per second", "Failures per second", "Error rate"
    ]  # fmt: skip
    sel = run_selector(WINDOW.run_id, WINDOW.job)
    exprs = [e for e, _ in client.ranges]
    assert queries.users(sel) in exprs
    assert queries.requests_counter(sel) in exprs and queries.push_time(sel) in exprs
    assert queries.error_ratio_window(sel, "4s") in exprs  # 4 scrapes of 1 s
    assert all(p["start"] == "1000.000" and p["end"] == "1060.000" for _, p in client.ranges)
    error = data.charts[3].lines[0].points
    assert error[1] == (1010.0, 100.0)  # a ratio drawn as percent
    # The histogram's quantiles read up to one bucket high: the caption says so, because the
    # tiles above it show Locust's own (lower) percentiles.
    assert "up to one bucket above Locust's own percentiles" in data.charts[4].title


def test_per_push_rates_are_exact_between_pushes() -> None:
    # Scraped every 1 s, pushed every 2 s at 0.5, 2.5, 4.5: each push seen on two scrapes.
    pushed = {1.0: 0.5, 2.0: 0.5, 3.0: 2.5, 4.0: 2.5, 5.0: 4.5, 6.0: 4.5}
    counter = {1.0: 10.0, 2.0: 10.0, 3.0: 30.0, 4.0: 30.0, 5.0: 70.0, 6.0: 70.0}
    assert per_push_rates(counter, pushed, 100) == [(2.5, 10.0), (4.5, 20.0)]
    assert per_push_rates(counter, pushed, 1) == [(4.5, 15.0)]  # two pushes per point
    counter[6.0] = math.nan  # a NaN sample is skipped, not a rate
    counter[5.0] = 5.0  # a counter that went down starts over
    assert per_push_rates(counter, pushed, 100) == [(2.5, 10.0)]


def test_gate_result_checks_and_thresholds() -> None:
    data = collect_report(fake(), WINDOW, result())
    (check,) = data.checks
    assert check.value == pytest.approx(0.25) and check.unit == "seconds"
    assert check.warning == "> 200.0ms"
    assert check.critical == "> 300.0ms (> +50%)"  # relative: resolved against the baseline
    assert check.delta_pct == pytest.approx(25.0)
    latency = data.charts[-1]
    assert [(t.label, round(t.value, 3)) for t in latency.thresholds] == [
        ("warning p95", 0.2), ("critical p95", 0.3)
    ]  # fmt: skip
    assert data.baseline_run_id == "base-1" and data.verdict == "warning"
    assert data.notes[0] == "gate note"


def test_skipped_check_without_value_is_no_data() -> None:
    doc = result(verdict="skip", value=None, baseline=None, series=[])
    (check,) = collect_report(fake(), WINDOW, doc).checks
    assert check.verdict == "no_data" and check.critical == "> +50%"  # no baseline to resolve


def test_per_endpoint_checks_draw_no_line() -> None:
    doc = result(
        series=[
            {"labels": {"name": "/a"}, "verdict": "pass"},
            {"labels": {"name": "/b"}, "verdict": "pass"},
        ]
    )
    data = collect_report(fake(), WINDOW, doc)
    assert not data.charts[-1].thresholds


def test_chart_failures_become_notes_not_crashes() -> None:
    client = fake()
    client.fail_ranges = True
    data = collect_report(client, WINDOW)
    assert any("chart query failed: Prometheus unreachable" in n for n in data.notes)
    assert "chart query failed" in render_html(data)


def test_result_round_trips_and_rejects_other_documents() -> None:
    doc = result()
    assert doc.run == WINDOW
    assert GateResult.from_dict(doc.to_dict()).to_dict() == doc.to_dict()
    with pytest.raises(ValueError, match="run window has no 'job'"):
        GateResult.from_dict({"run": {"run_id": "x"}})


def args(tmp_path: Path, **kw: Any) -> argparse.Namespace:
    base = {"prometheus": "http://127.0.0.1:1", "run_id": None, "job": "locust",
            "result": None, "html": str(tmp_path / "out" / "r.html"), "lookback": "7d",
            "wait_timeout": 0.0}  # fmt: skip
    base.update(kw)
    return argparse.Namespace(**base)


def test_report_from_result_file_writes_html(tmp_path: Path) -> None:
    res = tmp_path / "result.json"
    res.write_text(json.dumps(result_doc()))
    assert run_report(args(tmp_path, result=str(res)), fake()) == 0  # type: ignore[arg-type]
    html = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert "WARNING" in html and "r&lt;1&gt;" in html
    # The report and its stylesheet beside it (for strict CSPs), no temporary file left.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r.css", "r.html"]


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("{nope", {}, "not JSON"),
        ("[]", {}, "no 'run' object"),
        (None, {}, "cannot read gate result"),
        ("RESULT", {"run_id": "other"}, "differs from the run"),
        ("FUTURE", {}, r"written by a newer promgate .* \(upgrade promgate\)"),
    ],
)
def test_report_usage_errors(
    tmp_path: Path, content: str | None, extra: dict[str, str], message: str
) -> None:
    res = tmp_path / "result.json"
    if content is not None:
        doc = {**result_doc(), "schema": "promgate.result/9"} if content == "FUTURE" else None
        res.write_text(
            json.dumps(doc or result_doc()) if content in ("RESULT", "FUTURE") else content
        )
    with pytest.raises(UsageError, match=message):
        run_report(args(tmp_path, result=str(res), **extra), fake())  # type: ignore[arg-type]


def test_report_needs_a_run(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no run given"):
        run_report(args(tmp_path), fake())  # type: ignore[arg-type]


class NoPrometheus:
    """A client that fails the test when the report asks it anything."""

    shown_url = "http://unused"

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        raise AssertionError(f"the report queried Prometheus: {expr}")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise AssertionError(f"the report queried Prometheus: {expr}")


def test_the_result_file_renders_the_same_report_without_prometheus(tmp_path: Path) -> None:
    # What check does: the report's data read into the result, the file, the HTML from it.
    res = result()
    res.report = fetch_report(fake(), WINDOW)  # type: ignore[arg-type]
    assert any(math.isnan(v) for line in res.report.lines for _, v in line.points)  # a gap
    doc = res.to_dict()
    assert doc["report"]["lines"][0]["points"][-1] == [1070.0, None]  # JSON has no NaN
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc, allow_nan=False), encoding="utf-8")
    first = tmp_path / "check" / "r.html"
    write_html(first, GateResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
    # Later, elsewhere: no --prometheus, and a client that fails on any query.
    again = args(tmp_path, prometheus=None, result=str(path))
    assert run_report(again, NoPrometheus()) == 0  # type: ignore[arg-type]
    second = tmp_path / "out" / "r.html"
    assert second.read_bytes() == first.read_bytes()
    assert (tmp_path / "out" / "r.css").read_bytes() == (tmp_path / "check" / "r.css").read_bytes()
    html = second.read_text(encoding="utf-8")
    assert html.count('<svg class="chart"') == 5 and "500 &lt;oops&gt;" in html
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(res.generated_at))
    assert f"<dt>Report generated</dt><dd>{generated}</dd>" in html  # the result's time


def test_report_data_round_trips_and_older_results_have_none() -> None:
    res = result()
    assert res.report is None and res.to_dict()["report"] is None
    res.report = fetch_report(fake(), WINDOW)  # type: ignore[arg-type]
    back = GateResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.report is not None
    assert [r.to_dict() for r in back.report.endpoints] == [
        r.to_dict() for r in res.report.endpoints
    ]
    assert back.to_dict() == res.to_dict()
    assert render_html(report_data(back)) == render_html(report_data(res))


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"lines": [{"panel": "pie", "label": "x", "points": []}]}, "not a valid Panel"),
        ({"lines": [{"panel": "users", "points": [[1.0]]}]}, r"not \[time, value\]"),
        ({"lines": [{"panel": "users", "points": [["x", 1.0]]}]}, "is not a number"),
        ({"endpoints": [{"name": "/a", "requests": "many"}]}, "is not a number"),
        ({"errors": [{"name": "/a", "count": 1}]}, "has no 'error'"),
        ({"errors": "none"}, "is not a list"),
        ({"lines": [{"panel": "users", "points": [[1.0, 10**400]]}]}, "too large"),
    ],
)
def test_a_malformed_report_in_a_result_file_is_a_usage_error(
    tmp_path: Path, report: dict[str, Any], message: str
) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({**result_doc(), "report": report}), encoding="utf-8")
    with pytest.raises(UsageError, match=f"bad gate result .*{message}"):
        run_report(args(tmp_path, result=str(path)), NoPrometheus())  # type: ignore[arg-type]


def test_lone_surrogates_in_a_result_file_show_as_escapes(tmp_path: Path) -> None:
    # A result file from elsewhere may hold "\ud800", which no UTF-8 file can: the report is
    # written with it as the escape it was (it was exit 4, UnicodeEncodeError).
    res = result(name="p95 \ud800")
    res.report = fetch_report(fake(), WINDOW)  # type: ignore[arg-type]
    doc = res.to_dict()
    doc["report"]["errors"][0]["error"] = "500 \udfff"
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc), encoding="utf-8")  # ensure_ascii: "\\ud800" in the file
    assert run_report(args(tmp_path, result=str(path)), NoPrometheus()) == 0  # type: ignore[arg-type]
    html = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert "p95 \\ud800" in html and "500 \\udfff" in html

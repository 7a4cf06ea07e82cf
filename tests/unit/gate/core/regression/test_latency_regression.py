"""latency_regression's rules on hand-made runs: a shift counts only when it crosses the condition,
is significant and exceeds the history's spread; too few requests never pass; the reports show it.
"""

from __future__ import annotations

import json
import math
import random
import xml.etree.ElementTree as ET

import pytest
from promgate import ConfigError, RunWindow, Sample, parse_config
from promgate.core.model.result import Baseline, GateResult, Verdict
from promgate.core.regression.baseline_history import History, history_samples
from promgate.core.regression.latency_regression import RunData, judge_regression
from promgate.report.html.regression_section import regression_section
from promgate.report.junit import render_junit
from promgate.report.markdown import render_markdown
from promgate.report.regression_rows import regression_rows
from promgate.report.text import render_table
from regression_support import BUSY, CONFIG, SPARSE, by_name, history, sample_run, spec


def test_a_significant_shift_beyond_the_spread_fails_only_that_endpoint() -> None:
    rng = random.Random(1)
    n = {BUSY: 4000, SPARSE: 600}
    run = sample_run("r", rng, n, {"/busy": 1.25})
    result = judge_regression(spec(), "q", run, history(rng, n), history=True, confidence=0.99)
    series = by_name(result)
    assert result.verdict is Verdict.FAIL
    assert series["/busy"].verdict is Verdict.FAIL
    assert series["/busy"].reason.startswith("critical: median")
    assert series["/sparse"].verdict is Verdict.PASS
    reg = series["/busy"].regression
    assert reg is not None and reg.baseline_runs == 4
    median = reg.to_dict()["median"]
    assert median["shift_percent"] > 15 and median["confidence"] > 0.999
    assert 0 < median["spread_percent"] < 10
    # The baseline value is the median of the history runs' medians, not of the pooled runs.
    assert series["/busy"].baseline == pytest.approx(reg.median.baseline)
    assert reg.bounds[-1] is None  # +Inf, JSON-safe
    assert sum(c or 0 for c in reg.run_counts) == 4000


def test_unchanged_runs_pass_with_the_detectable_shift_said() -> None:
    rng = random.Random(2)
    n = {BUSY: 4000, SPARSE: 600}
    for i in range(5):
        run = sample_run(f"r{i}", rng, n, {"/busy": 1.01, "/sparse": 0.99})
        result = judge_regression(spec(), "q", run, history(rng, n), history=True, confidence=0.99)
        assert result.verdict is Verdict.PASS, result.reason
        assert "would show at 99%" in by_name(result)["/busy"].reason


def test_a_shift_within_the_history_spread_does_not_count() -> None:
    rng = random.Random(3)
    n = {BUSY: 4000}
    wide = [sample_run(f"h{i}", rng, n, {"/busy": f}) for i, f in enumerate((0.85, 1.0, 1.05, 1.2))]
    run = sample_run("r", rng, n, {"/busy": 1.14})
    series = by_name(judge_regression(spec(), "q", run, wide, history=True, confidence=0.99))
    assert series["/busy"].verdict is Verdict.PASS
    assert "within the history's spread" in series["/busy"].reason


def test_a_large_shift_that_is_not_significant_does_not_count() -> None:
    rng = random.Random(4)
    n = {BUSY: 30}
    one = [sample_run("h", rng, n, {})]
    run = sample_run("r", rng, n, {"/busy": 1.12})
    result = judge_regression(
        spec(CONFIG + "    confidence: 0.9999\n"), "q", run, one, history=False, confidence=0.9999
    )
    busy = by_name(result)["/busy"]
    # 30 requests a side cannot show 10 %: said, and never a pass.
    assert busy.verdict is Verdict.WARN
    assert busy.reason.startswith("too few requests to judge")


def test_too_few_requests_is_said_and_follows_no_data() -> None:
    rng = random.Random(5)
    n = {BUSY: 4000, SPARSE: 25}
    run = sample_run("r", rng, n, {})
    text = CONFIG + "    no_data: skip\n"
    series = by_name(
        judge_regression(spec(text), "q", run, history(rng, n), history=True, confidence=0.99)
    )
    assert series["/sparse"].verdict is Verdict.SKIP
    assert series["/sparse"].reason.startswith("too few requests to judge")
    assert " requests) (no_data: skip)" in series["/sparse"].reason
    assert series["/sparse"].regression.judgeable is False  # type: ignore[union-attr]
    assert series["/busy"].verdict is Verdict.PASS


def test_a_big_shift_is_found_even_where_a_small_one_could_not_be() -> None:
    rng = random.Random(6)
    n = {BUSY: 4000, SPARSE: 60}
    run = sample_run("r", rng, n, {"/sparse": 1.6})
    series = by_name(
        judge_regression(spec(), "q", run, history(rng, n), history=True, confidence=0.99)
    )
    assert series["/sparse"].verdict is Verdict.FAIL, series["/sparse"].reason


def test_missing_baseline_and_missing_run_data_follow_their_policies() -> None:
    rng = random.Random(7)
    run = sample_run("r", rng, {BUSY: 500, SPARSE: 500}, {})
    base = [sample_run("h", rng, {BUSY: 500}, {})]
    series = by_name(judge_regression(spec(), "q", run, base, history=False, confidence=0.99))
    assert series["/sparse"].verdict is Verdict.WARN  # baseline_missing: warn (the default)
    assert "no baseline" in series["/sparse"].reason
    empty = RunData("r", {}, {})
    result = judge_regression(spec(), "q", empty, base, history=False, confidence=0.99)
    assert result.verdict is Verdict.WARN and "no data" in result.reason


def test_config_keys() -> None:
    config = parse_config(CONFIG, "t.yaml", env={})
    assert config.baseline_history == 4
    assert config.checks[0].confidence == 0.99
    bad = {
        "baseline: {history: 0}\n": "baseline.history",
        "baseline: {runs: 3}\n": "baseline.runs",
    }
    for text, key in bad.items():
        with pytest.raises(ConfigError) as err:
            parse_config(text + CONFIG.split("\n", 2)[2], "t.yaml", env={})
        assert key in str(err.value)
    with pytest.raises(ConfigError, match="absolute"):
        parse_config(CONFIG.replace("+10%", "2s"), "t.yaml", env={})
    with pytest.raises(ConfigError, match=r"between 0\.5 and 1"):
        parse_config(CONFIG + "    confidence: 1.5\n", "t.yaml", env={})
    with pytest.raises(ConfigError, match="only for preset latency_regression"):
        parse_config(
            "checks:\n  - {name: p, preset: p95, critical: '> 1s', confidence: 0.9}\n",
            "t.yaml",
            env={},
        )


def test_history_baseline_of_plain_checks_is_the_median_per_series() -> None:
    runs = [
        [Sample({"name": "/a", "run_id": "1"}, 1.0), Sample({"name": "/b", "run_id": "1"}, 5.0)],
        [
            Sample({"name": "/a", "run_id": "2"}, 3.0),
            Sample({"name": "/b", "run_id": "2"}, math.nan),
        ],
        [Sample({"name": "/a", "run_id": "3"}, 2.0)],
    ]
    got = {s.labels["name"]: s.value for s in history_samples(runs)}
    assert got == {"/a": 2.0, "/b": 5.0}


def test_history_describe_says_fewer_than_wanted() -> None:
    window = RunWindow("h1", "locust", 1.0, 2.0, 2.0, 1.0, 3.0, 10)
    assert "fewer than 5" in History(5, (window,), {"testplan": "t"}).describe()
    assert "testplan=t" in History(5, (window,), {"testplan": "t"}).describe()
    assert "no earlier passing run" in History(3, ()).describe()
    assert "same job checkout" in History(3, (), job="checkout").describe()


def test_every_output_shows_each_endpoint() -> None:
    rng = random.Random(8)
    n = {BUSY: 4000, SPARSE: 600}
    check = judge_regression(
        spec(),
        "q",
        sample_run("r", rng, n, {"/busy": 1.25}),
        history(rng, n),
        history=True,
        confidence=0.99,
    )
    window = RunWindow("r", "locust", 1.0, 2.0, 2.0, 1.0, 3.0, 10)
    result = GateResult(
        version="0",
        generated_at=0.0,
        prometheus="http://p",
        run=window,
        checks=[check],
        summary={},
        baseline=Baseline("history", run=window, history=["h3", "h2", "h1", "h0"], wanted=5),
    )
    # JSON round trip keeps the figures.
    again = GateResult.from_dict(json.loads(json.dumps(result.to_dict())))
    rows = regression_rows(again)
    assert [r.endpoint for r in rows] == ["GET /busy", "GET /sparse", "Aggregated"]
    assert rows[0].verdict == "fail" and rows[0].median.shift_percent is not None
    table = render_table(again)
    assert "GET /busy" in table and "baseline history of 4 of 5 wanted runs" in table
    assert "median base → run" in table
    md = render_markdown(again)
    assert "**Latency per endpoint** (baseline: history of 4 of 5 wanted runs)" in md
    assert "- latency GET /busy: critical: median" in md
    junit = ET.fromstring(render_junit(again))
    cases = {c.get("name"): c for c in junit.iter("testcase")}
    busy = cases['latency{method="GET", name="/busy"}']
    assert busy.find("failure") is not None
    assert "confidence: >99.99%" in (busy.findtext("system-out") or "")
    html = regression_section(rows, "history of 4 of 5 wanted runs")
    # A chart for each failing row only (here /busy and all requests), both distributions.
    failing = [r for r in rows if r.verdict in ("fail", "warning")]
    assert {r.endpoint for r in failing} == {"GET /busy", "Aggregated"}
    assert html.count("<svg") == len(failing)
    assert "GET /busy: response-time distribution" in html
    assert "GET /sparse: response-time distribution" not in html
    assert html.count("<rect") > 4


class _Client:
    """Answers the two history queries; records what was asked."""

    def __init__(self, info: dict[str, str], starts: dict[str, float]) -> None:
        self.info, self.starts, self.asked = info, starts, []  # type: ignore[var-annotated]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        self.asked.append(expr)
        if "locust_run_info" in expr and "promgate_verdict" not in expr:
            return [Sample(self.info, 1.0)]
        return [Sample({"run_id": r}, v) for r, v in self.starts.items()]


def test_find_history_newest_earlier_runs_same_labels() -> None:
    from promgate.core.regression.baseline_history import find_history

    judged = RunWindow("now", "shop", 100.0, 160.0, 161.0, 1.0, 162.0, 80)
    starts = {"a": 10.0, "b": 40.0, "c": 70.0, "now": 100.0, "later": 130.0, "d": 55.0}
    client = _Client({"testplan": "checkout", "environment": ""}, starts)

    def resolve(run_id: str) -> RunWindow:
        return RunWindow(run_id, "shop", starts[run_id], 0.0, 0.0, 1.0, 0.0, 10)

    got = find_history(client, judged, 3, "7d", resolve)  # type: ignore[arg-type]
    assert got.run_ids == ["c", "d", "b"]  # newest first; never the judged run or a later one
    assert got.matched == {"testplan": "checkout"}  # an empty label is not carried
    passing = client.asked[-1]
    assert 'job="shop"' in passing and 'testplan="checkout"' in passing
    assert "environment" not in passing and "<= 1" in passing
    assert find_history(client, judged, 9, "7d", resolve).run_ids == ["c", "d", "b", "a"]


def test_the_checks_unit_and_delta_conditions() -> None:
    rng = random.Random(9)
    n = {BUSY: 4000}
    text = CONFIG.replace('critical: "> +10%"', 'critical: "> +5ms"\n    unit: ms')
    run = sample_run("r", rng, n, {"/busy": 1.3})
    busy = by_name(
        judge_regression(spec(text), "q", run, history(rng, n), history=True, confidence=0.99)
    )["/busy"]
    assert busy.verdict is Verdict.FAIL, busy.reason
    # Values and thresholds in the check's unit (ms); the figures stay in seconds.
    assert 30 < busy.value < 50 and busy.baseline is not None and 25 < busy.baseline < 35
    assert busy.thresholds["critical"] == [pytest.approx(busy.baseline + 5)]
    assert (
        busy.regression is not None
        and busy.regression.median.run is not None
        and busy.regression.median.run < 1
    )
    calm = sample_run("c", rng, n, {"/busy": 1.05})
    again = by_name(
        judge_regression(spec(text), "q", calm, history(rng, n), history=True, confidence=0.99)
    )
    assert again["/busy"].verdict is Verdict.PASS, again["/busy"].reason


def test_the_figures_round_trip_a_result_file_to_the_same_json() -> None:
    """A result file's ``regression`` objects read into ``RegressionFigures`` and write back
    byte for byte, the ``requests_needed`` of a series too sparse to judge included."""
    rng = random.Random(5)
    n = {BUSY: 4000, SPARSE: 25}
    run = sample_run("r", rng, n, {})
    check = judge_regression(spec(), "q", run, history(rng, n), history=True, confidence=0.99)
    window = RunWindow("r", "locust", 1000.0, 1060.0, 1061.0, 1.0, 1062.0, 74)
    result = GateResult("0", 0.0, "http://p", window, [check], {})
    text = json.dumps(result.to_dict(), indent=2)
    assert '"requests_needed"' in text and '"judgeable": false' in text
    assert json.dumps(GateResult.from_dict(json.loads(text)).to_dict(), indent=2) == text
    # a hostile file's odd values read as absent, never as a crash
    doc = json.loads(text)
    doc["checks"][0]["series"][0]["regression"] = {"median": "x", "buckets": {"run": ["a", 2]}}
    odd = GateResult.from_dict(doc).checks[0].series[0].regression
    assert odd is not None and odd.median.run is None and odd.run_counts == (None, 2)
    assert regression_rows(GateResult.from_dict(doc))

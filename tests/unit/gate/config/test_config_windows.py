"""``window:`` and ``preset: apdex``: parsing, lint (one line each, exit 2), the windowed PromQL
of every preset, the window resolved on a run (fake Prometheus) and shown in every format."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_fakeprom import END, START, FakePrometheus, value, vector
from promgate import Gate, PrometheusClient, parse_config, queries
from promgate.cli import run
from promgate.config.presets import PRESETS
from promgate.config.query_lint import PLACEHOLDERS, parse_promql
from promgate.config.windows import EXACT_APDEX_T_MS, WindowKind
from promgate.core.model.result import CheckResult, GateResult
from promgate.prometheus.templating import render
from promgate.report.github import github_annotations
from promgate.report.html.data import report_data
from promgate.report.html.page import render_html
from promgate.report.junit import render_junit
from promgate.report.markdown import render_markdown
from promgate.report.text import render_table


def test_bounds_and_le_labels_are_the_exporters() -> None:
    from locust_prometheus.exposition import _LE
    from locust_prometheus.model import BUCKET_BOUNDS_MS

    assert queries.HISTOGRAM_BOUNDS_MS == BUCKET_BOUNDS_MS
    assert [queries.le_label(b) for b in BUCKET_BOUNDS_MS] == _LE
    # T and 4T both bounds: these T, and no others, give an exact Apdex.
    assert EXACT_APDEX_T_MS == (5, 50, 75, 500, 750, 7500, 15000)


def test_config_wide_window_per_check_override_and_regression_keeps_the_whole_run() -> None:
    config = parse_config(
        """
window: steady
checks:
  - {name: a, preset: p95, critical: "> 1s"}
  - {name: b, preset: p95, critical: "> 1s", window: whole}
  - {name: c, preset: rps, critical: "< 1", window: {last: 2m}}
  - {name: d, preset: latency_regression, critical: "> +10%"}
  - {name: e, query: 'sum(locust_users{run_id="$run_id"} @ $win_end)', critical: "> 1"}
"""
    )
    by = {c.name: c for c in config.checks}
    assert by["a"].window.kind is WindowKind.STEADY and "@ $win_end" in by["a"].query
    assert by["b"].window.kind is WindowKind.WHOLE and by["b"].query == PRESETS["p95"].query
    assert (by["c"].window.kind, by["c"].window.seconds) == (WindowKind.LAST, 120.0)
    assert by["c"].window.describe() == "last 2m"
    assert by["d"].window.kind is WindowKind.WHOLE
    assert by["d"].query == PRESETS["latency_regression"].query
    assert by["e"].query == 'sum(locust_users{run_id="$run_id"} @ $win_end)'


@pytest.mark.parametrize("preset", sorted(set(PRESETS) - {"latency_regression"}))
def test_every_preset_has_a_windowed_query_that_parses(preset: str) -> None:
    extra = "t: 50ms, " if "apdex" in preset else ""
    config = parse_config(
        f"checks:\n  - {{name: x, preset: {preset}, {extra}critical: '> 1', window: steady}}\n"
    )
    (check,) = config.checks
    assert "$win_end" in check.query and "increase(" not in check.query
    parse_promql(render(check.query, PLACEHOLDERS))


BAD = {
    "window: steadyy": "unknown window 'steadyy'",
    "window: {skip: 0s}": "must be more than 0",
    "window: {last: -2m}": "a duration like 30s or 2m",
    "window: {skip: 10s, last: 2m}": "expected one of whole, steady",
    "window: {first: 10s}": "unknown window 'first'",
    "window: [steady]": "unknown window",
    "window: {skip: 9000h}": "at most a year",
}


@pytest.mark.parametrize("bad", sorted(BAD))
def test_a_bad_window_is_one_lint_line_and_exit_2(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "gate.yaml"
    cfg.write_text(f"checks:\n  - {{name: x, preset: p95, critical: '> 1s', {bad}}}\n")
    assert run(["lint", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{cfg}:2: checks.x.window"), err
    assert BAD[bad] in err[0]


@pytest.mark.parametrize(
    ("check", "key", "message"),
    [
        ("preset: apdex, t: 20s", "checks.x.t", "4T must lie in the histogram: T up to 15s"),
        ("preset: apdex, t: 0.5ms", "checks.x.t", "whole number of milliseconds"),
        ("preset: apdex", "checks.x.t", "apdex needs t:"),
        ("preset: p95, t: 50ms", "checks.x.t", "only for preset apdex"),
        ("preset: latency_regression, window: steady", "checks.x.window", "takes no window"),
    ],
)
def test_apdex_t_and_window_refusals(
    check: str, key: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "gate.yaml"
    critical = "'> +10%'" if "regression" in check else "'< 0.5'"
    cfg.write_text(f"checks:\n  - {{name: x, {check}, critical: {critical}}}\n")
    assert run(["lint", str(cfg)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f":2: {key}: " in line and message in line, line


def test_apdex_query_counts_t_and_4t_buckets() -> None:
    (whole, steady) = parse_config(
        """
checks:
  - {name: a, preset: endpoint_apdex, t: 500ms, critical: "< 0.9"}
  - {name: b, preset: apdex, t: 75ms, critical: "< 0.9", window: {skip: 30s}}
"""
    ).checks
    # 4T = 2s: the Pushgateway re-exposes the exporter's le="2.0" as le="2", remote write keeps it
    assert 'le="0.5"' in whole.query and 'le=~"2|2[.]0"' in whole.query
    assert "by (method, name)" in whole.query and "$win_" not in whole.query
    assert 'le="0.075"' in steady.query and 'le="0.3"' in steady.query
    assert "min_over_time(" in steady.query and "@ $win_end" in steady.query


def test_apdex_between_bounds_interpolates_inside_the_bucket() -> None:
    """T = 300ms is a bound, 4T = 1.2s is not: N(<=1.2s) is read as 0.6 of the way from the
    1s bucket to the 1.5s one; below the first bound the share of the 1 ms bucket."""
    (check,) = parse_config(
        'checks:\n  - {name: a, preset: apdex, t: 300ms, critical: "< 0.9"}\n'
    ).checks
    assert 'le="0.3"' in check.query
    assert 'le=~"1|1[.]0"' in check.query and 'le="1.5"' in check.query and "* 0.6" in check.query
    assert queries.apdex_bracket(1200) == (1000, 1500)
    assert queries.apdex_bracket(300) == (300, 300)
    assert queries.apdex_bracket(0 + 1) == (1, 1)
    with pytest.raises(ValueError):
        queries.apdex_bracket(60001)


def test_window_start_falls_back_per_series_before_the_sum() -> None:
    """Remote write sends a series only when it changed: one with no sample inside the window
    starts from its last value before it (``or`` per series, inside ``sum``), never from 0."""
    q = queries.window_requests(by="method, name")
    first = (
        'min_over_time(locust_requests_total{job="$job", run_id="$run_id"}[$win_range] @ $win_end)'
    )
    before = (
        'last_over_time(locust_requests_total{job="$job", run_id="$run_id"}[$window] @ $win_start)'
    )
    assert f"sum by (method, name) ({first} or {before})" in q


WINDOWED = """
checks:
  - {name: p95 steady, preset: p95, critical: "> 1s", window: steady}
  - {name: rps skip, preset: rps, critical: "< 1", window: {skip: 90s}}
"""


def _gate(fake: FakePrometheus, text: str) -> GateResult:
    return Gate(parse_config(text), PrometheusClient(fake.url, retries=1)).evaluate("run-1")


def test_steady_window_renders_its_edges_into_the_query(fake_prom: FakePrometheus) -> None:
    fake_prom.on("locust_run_steady_timestamp_seconds", value(START + 10))
    fake_prom.on("histogram_quantile(0.95", value(0.012))
    fake_prom.on("locust_requests_total", value(5))
    result = _gate(fake_prom, WINDOWED.replace("{skip: 90s}", "{skip: 20s}"))
    p95, rps = result.checks
    assert p95.value == 0.012 and p95.span == "steady 0:10-1:00 (50s)"
    # Evaluated 2 s after the end (the fake's final scrape): the range is the window's 52 s.
    assert "[52000ms] @ 1700000062" in p95.query, p95.query
    assert rps.span == "skip 20s 0:20-1:00 (40s)"
    assert "[42000ms] @ 1700000062" in rps.query and rps.query.endswith(" / 40"), rps.query


def test_a_window_the_run_lacks_has_no_data_and_says_why(fake_prom: FakePrometheus) -> None:
    fake_prom.on("locust_run_steady_timestamp_seconds", vector())
    result = _gate(fake_prom, WINDOWED)
    p95, rps = result.checks
    assert p95.verdict.value == "fail" and p95.value is None
    assert "window steady: the run has no steady moment" in p95.reason
    assert "window skip 90s: the run lasted only 60s" in rps.reason
    # Neither query was sent: nothing to ask for seconds the run does not have.
    assert not any("histogram_quantile" in q for q in fake_prom.queries)
    assert END - START == 60


def test_the_window_is_shown_in_every_format_and_kept_in_json(fake_prom: FakePrometheus) -> None:
    fake_prom.on("locust_run_steady_timestamp_seconds", value(START + 10))
    fake_prom.on("histogram_quantile(0.95", value(0.012))
    fake_prom.on("locust_requests_total", value(100))
    result = _gate(fake_prom, WINDOWED.replace("{skip: 90s}", "{skip: 20s}"))
    shown = "p95 steady [steady 0:10-1:00 (50s)]"
    assert shown in render_table(result)
    assert r"p95 steady \[steady 0:10-1:00 (50s)\]" in render_markdown(result)  # escaped
    assert shown in render_junit(result)
    html = render_html(report_data(result))
    assert shown in html
    again = GateResult.from_dict(result.to_dict())
    assert [c.span for c in again.checks] == [c.span for c in result.checks]
    assert result.to_dict()["checks"][0]["window"] == "steady 0:10-1:00 (50s)"
    failing = CheckResult.from_dict({**result.to_dict()["checks"][0], "verdict": "fail"})
    result.checks = [failing]
    assert any(shown in line for line in github_annotations(result))


def test_live_abort_judges_the_window_only_once_the_run_reaches_it(
    fake_prom: FakePrometheus, tmp_path: Path
) -> None:
    from promgate.core.live.live_gate import LiveGate

    cfg = tmp_path / "gate.yaml"
    cfg.write_text(
        "checks:\n  - {name: errors, preset: error_rate, critical: '> 5%', abort: true,"
        " window: steady}\n"
    )
    now = [START + 20.0]
    gate = Gate(parse_config(cfg.read_text()), PrometheusClient(fake_prom.url, retries=1))
    live = LiveGate(gate, "run-1", clock=lambda: now[0])
    fake_prom.on("locust_request_failures_total", value(0.5))  # 50 % once asked
    fake_prom.on("locust_run_steady_timestamp_seconds", vector())  # still spawning
    tick = live.evaluate()
    assert tick.values[0].state == "no data" and live.abort(tick) is None
    assert not any("@ " in q and "failures" in q for q in fake_prom.queries)
    fake_prom.rules.pop(0)
    fake_prom.on("locust_run_steady_timestamp_seconds", value(START + 15))  # spawning done
    now[0] = START + 30.0
    tick = live.evaluate()
    assert live.abort(tick) is not None
    # The window from the steady moment to now: 15 s.
    assert any("[15000ms] @ 1700000030" in q for q in fake_prom.queries), fake_prom.queries


def test_a_windowed_preset_says_what_it_judges() -> None:
    p95, rps = parse_config(
        "window: {last: 2m}\n"
        "checks:\n  - {name: a, preset: p95, critical: '> 1s'}\n"
        "  - {name: b, preset: rps, critical: '< 1'}\n"
    ).checks
    # Not "Locust's own whole-run p95": over a window it is the window's buckets.
    assert p95.description.startswith("p95 of the requests in the window, from their bucket")
    assert rps.description.endswith("over the window")

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import time
from typing import Any

import pytest
from exporter_support import stats_env
from locust.env import Environment
from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW, PERCENTILES_TO_REPORT
from locust_prometheus import PrometheusExporter
from locust_prometheus.exposition import Health, encode, families
from locust_prometheus.model import LIVE_PERCENTILES, CardinalityGuard, build_model
from locust_prometheus.options import ExporterConfig
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

NASTY = ['a"b', "back\\slash", "new\nline", "/x/y", "ünï©ødé ☃", "", "{id}"]


def _env() -> Environment:
    env = stats_env(NASTY, (1, 7, 55, 99.6, 240, 1234, 20_000))
    env.runner.stats.log_request("POST", "/students", 12, 5)  # type: ignore[union-attr]
    return env


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _exporter(env: Environment) -> PrometheusExporter:
    exp = PrometheusExporter(
        ExporterConfig(run_id="r", labels={"team": "qa"}, testplan="tp"), handler=None
    )
    exp.environment = env  # also sets the run info labels
    return exp


def test_lean_encoder_equals_prometheus_client() -> None:
    env = _env()
    exp = _exporter(env)
    health = Health(pushes=3, failures=1, last_duration=0.25, last_bytes=1234)
    snap = exp.snapshot()
    lean = encode(build_model(snap, CardinalityGuard(1000)), exp.renderer.info, health).decode()
    model = build_model(snap, CardinalityGuard(1000))

    class C(Collector):
        def collect(self) -> Any:
            return families(model, exp.renderer.info, health)

    reference = generate_latest(C()).decode()
    assert _samples(lean) == _samples(reference)


def test_values_match_locust_stats() -> None:
    env = _env()
    exp = _exporter(env)
    got = _samples(exp.render().decode())
    stats = env.runner.stats  # type: ignore[union-attr]
    for name in NASTY:
        lab = (("method", "GET"), ("name", name))
        entry = stats.get(name, "GET")
        assert got[("locust_requests_total", lab)] == entry.num_requests
        assert got[("locust_request_failures_total", lab)] == 1
        assert got[("locust_response_bytes_total", lab)] == 700
        assert got[("locust_request_duration_seconds_count", lab)] == entry.num_requests
        assert got[("locust_request_duration_seconds_sum", lab)] == pytest.approx(
            entry.total_response_time / 1000
        )
        for q in PERCENTILES_TO_REPORT:
            key = ("locust_response_time_percentile_seconds", (*lab, ("percentile", str(float(q)))))
            assert got[key] == entry.get_response_time_percentile(q) / 1000
        assert got[("locust_response_time_max_seconds", lab)] == entry.max_response_time / 1000
    for q in PERCENTILES_TO_REPORT:
        key = ("locust_run_response_time_percentile_seconds", (("percentile", str(float(q))),))
        assert got[key] == stats.total.get_response_time_percentile(q) / 1000
    assert got[("locust_run_start_timestamp_seconds", ())] == stats.start_time
    assert got[("locust_run_last_request_timestamp_seconds", ())] == stats.last_request_timestamp
    assert got[("locust_users", (("user_class", "U"),))] == 0
    info = next(k for k in got if k[0] == "locust_run_info")
    assert dict(info[1])["team"] == "qa" and dict(info[1])["testplan"] == "tp"
    assert dict(info[1])["host"] == "http://sut"
    assert ("locust_run_end_timestamp_seconds", ()) not in got
    errs = [k for k in got if k[0] == "locust_errors_total"]
    assert len(errs) == len(NASTY) and all("<n>" in dict(k[1])["error"] for k in errs)


def _live_env() -> Environment:
    """Requests spread over Locust's live window: a cached copy of the response times from
    the window's start, then more requests, and per-second counts inside the RPS window."""
    env = _env()
    stats = env.runner.stats  # type: ignore[union-attr]
    stats.total.start_time -= 30  # a run that started before the RPS window
    start = int(time.time()) - CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
    for entry in [*stats.entries.values(), stats.total]:
        entry._cache_response_times(start)
    for i, name in enumerate(NASTY):
        for rt in range(40 + i, 400, 9):
            stats.log_request("GET", name, rt, 10)
    second = int(stats.last_request_timestamp) - 5
    for i, entry in enumerate([*stats.entries.values()]):
        entry.num_reqs_per_sec[second] += 30 + i
        entry.num_fail_per_sec[second] += i
        stats.total.num_reqs_per_sec[second] += 30 + i
        stats.total.num_fail_per_sec[second] += i
    return env


def test_live_gauges_are_locusts_current_figures() -> None:
    env = _live_env()
    exp = _exporter(env)
    got = _samples(exp.render().decode())
    stats = env.runner.stats  # type: ignore[union-attr]
    rps = fails = 0.0
    for entry in stats.entries.values():
        lab = (("method", entry.method), ("name", entry.name))
        assert got[("locust_current_requests_per_second", lab)] == entry.current_rps
        assert got[("locust_current_failures_per_second", lab)] == entry.current_fail_per_sec
        rps += got[("locust_current_requests_per_second", lab)]
        fails += got[("locust_current_failures_per_second", lab)]
        for q in LIVE_PERCENTILES:
            key = (*lab, ("percentile", str(q)))
            expected = entry.get_current_response_time_percentile(q)
            exported = got.get(("locust_current_response_time_percentile_seconds", key))
            if entry.name == "/students":  # nothing logged since the window's start
                assert expected == 0 and exported is None
            else:
                assert expected and exported == expected / 1000
    # Locust's Aggregated live figures are the sums of the endpoints' (the same window)
    assert rps == pytest.approx(stats.total.current_rps) and stats.total.current_rps > 0
    assert fails == pytest.approx(stats.total.current_fail_per_sec) and fails > 0
    for q in LIVE_PERCENTILES:
        key = ("locust_run_current_response_time_percentile_seconds", (("percentile", str(q)),))
        expected = stats.total.get_current_response_time_percentile(q)
        assert expected and got[key] == expected / 1000
        # the whole-run percentile includes the earlier, slower requests: a different figure
        whole = ("locust_run_response_time_percentile_seconds", (("percentile", str(q)),))
        assert got[whole] != got[key]


def test_no_live_percentiles_without_a_window() -> None:
    got = _samples(_exporter(_env()).render().decode())  # every request in this second
    assert not [k for k in got if "current_response_time" in k[0]]
    assert got[("locust_current_requests_per_second", (("method", "GET"), ("name", "/x/y")))] == 0


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_check_metrics_is_clean() -> None:
    """Prometheus's own linter on the payload: names, types, units and reserved labels."""
    exp = _exporter(_live_env())
    exp.end_time = time.time()
    for payload in (exp.render(), exp.render(final=True)):
        result = subprocess.run(
            ["promtool", "check", "metrics"], input=payload, capture_output=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert result.returncode == 0, (result.stdout + result.stderr).decode()


def test_final_render_has_end_time_and_zero_users() -> None:
    env = _env()
    exp = _exporter(env)
    exp.end_time = 1234.5
    got = _samples(exp.render(final=True).decode())
    assert got[("locust_run_end_timestamp_seconds", ())] == 1234.5
    assert got[("locust_users", (("user_class", "U"),))] == 0


def test_gzip_render_roundtrips() -> None:
    exp = _exporter(_env())
    assert gzip.decompress(exp.render(compress=True)) == exp.render()


def test_collector_for_a_registry() -> None:
    exp = _exporter(_env())
    text = generate_latest(exp.collector()).decode()
    assert _samples(text) == _samples(exp.render().decode())


def test_options_show_in_locust_parser() -> None:
    from locust.argument_parser import get_parser

    parser = get_parser()  # fires init_command_line_parser: importing the plugin registered it
    opts = parser.parse_args(["--prometheus-label", "a=b", "--prometheus-label", "c=d"])
    assert opts.prometheus_label == ["a=b", "c=d"]
    assert opts.prometheus_job == "locust" and opts.prometheus_push_interval == 5.0
    assert isinstance(opts, argparse.Namespace)
    secret = [a for a in parser._actions if a.dest == "prometheus_basic_auth_password"]
    assert secret and secret[0].is_secret and not secret[0].include_in_web_ui  # type: ignore[attr-defined]
    assert "--prometheus-pushgateway" in parser.format_help()


def test_rate_window_on_a_master_ends_a_second_earlier() -> None:
    """Locust's window locally; on a master one second earlier, so every worker has reported."""
    from types import SimpleNamespace

    from locust_prometheus.snapshot import _rate_seconds

    stats = SimpleNamespace(last_request_timestamp=1000.4, start_time=900.0)
    assert _rate_seconds(stats) == range(988, 998)  # Locust's current_rps: L-12 .. L-3
    assert _rate_seconds(stats, distributed=True) == range(987, 997)
    early = SimpleNamespace(last_request_timestamp=1000.4, start_time=995.2)
    assert _rate_seconds(early, distributed=True) == range(995, 997)
    assert _rate_seconds(SimpleNamespace(last_request_timestamp=None, start_time=1.0)) is None

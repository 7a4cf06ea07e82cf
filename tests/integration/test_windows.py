"""Windows and Apdex on a real run: a 10 s ramp-up whose server is slow for the first 7 s.

The whole-run p95 fails, the ``steady`` p95 passes and lies within one bucket of Locust's own
p95 of the same requests; ``last: 10s`` agrees with Locust's ``_stats_history.csv`` the same
way; the steady request count is the difference of the counter's scraped values at the edges;
Apdex equals the value from Locust's own (rounded) response times of every request.
"""

from __future__ import annotations

import bisect
import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack
from promgate import queries
from promgate.cli import run as promgate
from support import DemoApi, start_locust, wait_until

pytestmark = pytest.mark.integration

LOCUSTFILE = Path(__file__).with_name("windows_locustfile.py")
BOUNDS_S = [b / 1000 for b in queries.HISTOGRAM_BOUNDS_MS]
CONFIG = """
checks:
  - {name: p95 whole, preset: p95, critical: "> 150ms"}
  - {name: p95 steady, preset: p95, window: steady, critical: "> 150ms"}
  - {name: p95 last, preset: p95, window: {last: 10s}, critical: "> 150ms"}
  - {name: requests steady, preset: requests_total, window: steady, critical: "< 1"}
  - {name: rps steady, preset: rps, window: steady, critical: "< 0"}
  - {name: apdex, preset: apdex, t: 50ms, critical: "< 0.01"}
  - {name: apdex 100ms, preset: apdex, t: 100ms, critical: "< 0.01"}
  - {name: apdex 500ms, preset: apdex, t: 500ms, critical: "< 0.01"}
"""


def _locust_entry(times_ms: list[float]) -> Any:
    """Locust's own StatsEntry fed these response times: its rounding and percentiles."""
    from locust.stats import RequestStats, StatsEntry

    entry = StatsEntry(RequestStats(), "window", "GET")
    for rt in times_ms:
        entry.log(rt, 0)
    return entry


def _bucket(value_s: float) -> tuple[float, float]:
    """The histogram bucket (lower, upper] holding ``value_s``."""
    i = bisect.bisect_left(BOUNDS_S, value_s - 1e-12)
    return (BOUNDS_S[i - 1] if i else 0.0), BOUNDS_S[min(i, len(BOUNDS_S) - 1)]


def _within_bucket(gate_s: float, locust_s: float) -> bool:
    """The stated bound: the window's interpolated quantile is within the width of the bucket
    that holds Locust's percentile of the same requests."""
    lower, upper = _bucket(locust_s)
    return abs(gate_s - locust_s) <= upper - lower + 1e-9


def test_steady_window_and_apdex(stack: LocalStack, api: DemoApi, tmp_path: Path) -> None:
    api.configure(latency_ms=300, jitter_ms=0)
    record = tmp_path / "requests.json"
    run = start_locust(
        api.url,
        pushgateway=stack.pushgateway_url,
        locustfile=LOCUSTFILE,
        users=10,
        spawn_rate=1,  # a 10 s ramp-up
        run_time="20s",
        extra=["--csv-full-history"],
        env={"PROMGATE_TEST_REQUESTS": str(record)},
        workdir=tmp_path,
    )
    try:
        wait_until(lambda: sum(r["count"] for r in api.counts()), 60, "the run's first request")
        healed = time.time() + 7  # slow for the first 7 s of load, fast from then on
        wait_until(lambda: time.time() >= healed, 10, "7 s of slow responses")
        api.configure(latency_ms=2, jitter_ms=3)
    finally:
        run.wait()
    assert run.returncode == 0, run.output
    out = tmp_path / "result.json"
    config = tmp_path / "gate.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    argv = ["--config", str(config), "--json", str(out), "--wait-timeout", "60"]
    code = promgate(["check", "--prometheus", stack.prometheus_url, "--run-id", run.run_id, *argv])
    doc = json.loads(out.read_text())
    checks = {c["name"]: c for c in doc["checks"]}
    assert code == 1, doc
    assert checks["p95 whole"]["verdict"] == "fail", checks["p95 whole"]
    assert checks["p95 steady"]["verdict"] == "pass", checks["p95 steady"]
    assert checks["p95 steady"]["window"].startswith("steady 0:"), checks["p95 steady"]
    assert checks["p95 whole"]["window"] is None

    recorded = json.loads(record.read_text())
    requests_at = recorded["requests"]
    selector = f'job="locust", run_id="{run.run_id}"'
    (steady_sample,) = stack.query(
        f"last_over_time(locust_run_steady_timestamp_seconds{{{selector}}}[10m])"
    )
    steady = float(steady_sample["value"][1])
    # The exporter's moment is Locust's spawning_complete (the listener saw the same event).
    assert abs(steady - recorded["spawned"][0]) < 0.5, (steady, recorded["spawned"])

    # Percentile: Locust's own p95 of the requests completed in the steady seconds.
    end = doc["run"]["end"]
    in_window = [rt for t, rt in requests_at if steady < t <= end]
    locust_p95 = _locust_entry(in_window).get_response_time_percentile(0.95) / 1000
    gate_p95 = checks["p95 steady"]["value"]
    print(f"steady p95: gate {gate_p95 * 1000:.2f} ms, Locust {locust_p95 * 1000:.0f} ms")
    assert _within_bucket(gate_p95, locust_p95), (gate_p95, locust_p95)
    assert checks["p95 whole"]["value"] >= 0.15  # Locust's own whole-run p95: the slow start

    # ... and Locust's `_stats_history.csv`: with --csv-full-history its Aggregated row's
    # percentiles are over its last ~10 s, the seconds of `last: 10s`.
    with open(f"{run.csv_prefix}_stats_history.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["Name"] == "Aggregated"]
    # The last row while users ran (after the stop Locust's current window is empty: 0).
    last_row = [r for r in rows if int(r["User Count"]) > 0 and r["95%"] not in ("N/A", "0")][-1]
    history_p95 = float(last_row["95%"]) / 1000
    gate_last = checks["p95 last"]["value"]
    print(f"last 10s p95: gate {gate_last * 1000:.2f} ms, history {history_p95 * 1000:.0f} ms")
    assert _within_bucket(gate_last, history_p95), (gate_last, history_p95, last_row)

    # Counters: the scraped values at the window's edges (the first scrape after its start,
    # the last one), no extrapolation.
    (series,) = stack.query(f"locust_requests_total{{{selector}}}[10m]", at=doc["run"]["eval_time"])
    points = [(float(t), float(v)) for t, v in series["values"]]
    at_start = min(p for p in points if p[0] > steady)[1]
    final = points[-1][1]
    steady_requests = checks["requests steady"]["value"]
    assert steady_requests == final - at_start, (steady_requests, final, at_start)
    # That scrape carries the last push before it: what Locust completed after the moment,
    # give or take the requests of one push or one scrape interval (1 s each here).
    after = sum(1 for t, _ in requests_at if t > steady)
    slack = sum(1 for t, _ in requests_at if steady - 1.5 < t <= steady + 1.5)
    assert abs(steady_requests - after) <= slack, (steady_requests, after, slack)
    # RPS: the window's requests over its seconds (written to the millisecond in the query).
    rps = checks["rps steady"]["value"]
    assert abs(rps * (end - steady) - steady_requests) <= rps * 0.002, (rps, steady_requests)

    # Apdex (T = 50 ms, 4T = 200 ms, both bucket bounds): exact against Locust's own rounded
    # response times of every request of the run.
    rounded = _locust_entry([rt for _, rt in requests_at]).response_times
    total = sum(rounded.values())
    satisfied = sum(n for ms, n in rounded.items() if ms <= 50)
    within_4t = sum(n for ms, n in rounded.items() if ms <= 200)
    apdex = (satisfied + within_4t) / 2 / total
    print(f"apdex: gate {checks['apdex']['value']}, Locust's times {apdex} ({total} requests)")
    assert checks["apdex"]["value"] == pytest.approx(apdex, abs=1e-12)
    assert 0.5 < apdex < 0.99  # the slow start is frustrated, the rest satisfied

    # T = 100 ms is a bound, 4T = 400 ms is not: N(<=400ms) is interpolated inside (300, 500],
    # where the slow start's responses lie. The documented bound: half the share of requests in
    # the interpolated bucket(s).
    def exact(t: int) -> float:
        return sum(n for ms, n in rounded.items() if ms <= t) + sum(
            n for ms, n in rounded.items() if ms <= 4 * t
        )

    truth = exact(100) / 2 / total
    in_bucket = sum(n for ms, n in rounded.items() if 300 < ms <= 500)
    bound = in_bucket / 2 / total
    gate = checks["apdex 100ms"]["value"]
    print(f"apdex t=100ms: gate {gate}, Locust's times {truth}, bound {bound}")
    assert in_bucket > 0  # the interpolation is exercised
    assert abs(gate - truth) <= bound + 1e-12

    # T = 500 ms, 4T = 2 s: a whole-second bound, which the Pushgateway exposes as le="2" while
    # the exporter writes le="2.0"; exact either way.
    assert checks["apdex 500ms"]["value"] == pytest.approx(exact(500) / 2 / total, abs=1e-12)

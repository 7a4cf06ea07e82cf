"""The remote-write sink against real receivers: Prometheus's (``--web.enable-remote-write-
receiver``) and VictoriaMetrics, with real Locust runs, local and master + 2 workers.

Ground truth is the demo API's own request counts and Locust's own summary. Each test runs its
Locust runs side by side (one into each engine) and waits on conditions, never on sleeps.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack
from promgate.queries import live
from support import (
    ROOT,
    SYNTHETIC_LOCUSTFILE,
    DemoApi,
    LocustRun,
    new_run_id,
    start_locust,
    wait_until,
)
from victoria import VictoriaMetrics

pytestmark = pytest.mark.integration

INTERVAL = 1.0
Query = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="module")
def victoria(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with VictoriaMetrics(tmp_path_factory.mktemp("vm"), pushgateway=stack.pushgateway_url) as vm:
        yield vm


def scalar(query: Query, expr: str, at: float | None = None) -> float | None:
    rows = query(expr, at) if at is not None else query(expr)
    return float(rows[0]["value"][1]) if rows else None


def per_endpoint(query: Query, expr: str) -> dict[tuple[str, str], int]:
    rows = query(f"last_over_time({expr}[10m])")
    return {(r["metric"].get("method", ""), r["metric"]["name"]): int(float(r["value"][1]))
            for r in rows}  # fmt: skip


def live_queries(run_id: str) -> dict[str, str]:
    """Queries of the live dashboard's panels, variables filled in as Grafana would."""
    sel = f'job="locust", run_id="{run_id}"'
    return {
        "live rps": live.live_requests_per_second(sel),
        "live p95": live.live_percentile(0.95, sel),
        "users": live.users(sel),
        "rps over a window": live.requests_per_second(sel, rate_window="5s"),
        "p95 over a window": live.histogram_quantile_window(0.95, sel, rate_window="5s"),
    }


def wait_live_panels(query: Query, run: LocustRun, what: str) -> None:
    """Every live query returns data while the run is still running."""
    pending = dict(live_queries(run.run_id))

    def all_answered() -> bool:
        for name, expr in list(pending.items()):
            if query(expr):
                del pending[name]
        return not pending

    wait_until(all_answered, 40, f"the live panels' data in {what} ({sorted(pending)} left)")
    assert run.master.poll() is None, f"{what}: the run ended before its live panels had data"


def check_run(query: Query, run: LocustRun, truth: dict[tuple[str, str], tuple[int, int]],
              what: str) -> None:  # fmt: skip
    """Totals per endpoint == the demo API's count == Locust's summary; the series end within
    one interval of the run's end."""
    sel = f'{{job="locust", run_id="{run.run_id}"}}'
    expected = sum(r for r, _ in truth.values())
    total = f"sum(last_over_time(locust_requests_total{sel}[10m]))"
    try:  # the run has ended: only the store's ingestion delay (or a retried send) is left
        wait_until(lambda: scalar(query, total) == expected, 60, f"the final send in {what}")
    except TimeoutError as exc:  # seen once under load 10: say what arrived and what was sent
        raise AssertionError(
            f"{exc}: {scalar(query, total)} of {expected} requests; the run printed:\n"
            + run.output[-4000:]
        ) from None
    reqs = per_endpoint(query, f"locust_requests_total{sel}")
    fails = per_endpoint(query, f"locust_request_failures_total{sel}")
    assert reqs == {k: r for k, (r, _) in truth.items()}, what
    assert fails == {k: f for k, (_, f) in truth.items()}, what
    summary = run.summary()
    for key, (r, f) in truth.items():
        assert (summary[key].num_requests, summary[key].num_failures) == (r, f), (what, key)
    assert summary[("", "Aggregated")].num_requests == expected

    # VictoriaMetrics makes a new series (the end timestamp is one) searchable a few seconds
    # after it arrives: its ingestion delay.
    end = wait_until(
        lambda: scalar(query, f"max(last_over_time(locust_run_end_timestamp_seconds{sel}[10m]))"),
        30,
        f"{what}: the end timestamp",
    )
    assert isinstance(end, float), what
    # The steady moment (spawning_complete: the gate's `window: steady`) goes by remote write too.
    start = scalar(query, f"max(last_over_time(locust_run_start_timestamp_seconds{sel}[10m]))")
    steady = scalar(query, f"max(last_over_time(locust_run_steady_timestamp_seconds{sel}[10m]))")
    assert isinstance(start, float) and isinstance(steady, float), (what, start, steady)
    assert start <= steady < end, (what, start, steady, end)
    # The final sample is at the run's end or just after it (a master's final send follows its
    # workers' last reports); the staleness markers end every series within one interval of it.
    rows = query(f"locust_requests_total{sel}[10m]")
    final = max(float(point[0]) for row in rows for point in row["values"])
    assert end - 0.5 <= final <= end + 10, (what, final - end)
    # alive up to the end (VictoriaMetrics answers nothing at the very millisecond of the final)
    assert scalar(query, f"count(locust_requests_total{sel})", final - 0.05) == len(truth), what
    gone_at = wait_until(
        lambda: _first_absent(query, f"locust_requests_total{sel}", final), 20, f"{what}: the end"
    )
    # VictoriaMetrics 1.79 ends a series by its own rule (a gap of about the series' sample
    # interval) rather than at the marker's millisecond: 1.2 s measured at a 1 s interval.
    bound = INTERVAL if what.startswith("Prometheus") else 2 * INTERVAL
    assert float(gone_at) <= final + bound, (what, float(gone_at) - final)  # type: ignore[arg-type]


def _first_absent(query: Query, expr: str, end: float) -> float | None:
    """The first time (0.1 s steps after ``end``) at which ``expr`` has no sample."""
    for step in range(1, 101):
        at = end + step * 0.1
        if at > time.time():
            return None
        if not query(f"count({expr})", at):
            return at
    return end + 10.0


def run_pair(
    stack: LocalStack, victoria: Any, tmp_path: Path, prometheus_workers: int, **kwargs: Any
) -> None:
    """Two runs side by side: one into Prometheus's receiver (with ``prometheus_workers``),
    one into VictoriaMetrics (with the other mode)."""
    engines = [
        ("Prometheus", stack.query, stack.remote_write_url, prometheus_workers),
        ("VictoriaMetrics", victoria.query, victoria.write_url, 2 - prometheus_workers),
    ]
    apis = [DemoApi(latency_ms=2, jitter_ms=8, error_rate=0.08, seed=s) for s in (1, 2)]
    try:
        runs = [
            start_locust(
                api.url,
                pushgateway=None,
                remote_write=url,
                workers=workers,
                users=4,
                # long enough for a loaded machine: workers connect, the first send, the
                # store's ingestion delay, and every live panel asked before the run ends
                run_time="20s",
                run_id=new_run_id(f"rw-{what[:4].lower()}-{workers}"),
                push_interval=INTERVAL,
                workdir=tmp_path / what,
                **kwargs,
            )
            for api, (what, _, url, workers) in zip(apis, engines, strict=True)
        ]
        for run, (what, query, _, _) in zip(runs, engines, strict=True):
            wait_live_panels(query, run, what)
        for run in runs:
            run.wait(120)
            assert run.returncode == 1, run.output  # Locust's normal code when requests failed
            assert "Traceback" not in run.output and "remote write rejected" not in run.output
            assert f"ended the series of run_id={run.run_id}" in run.output
        truths = [api.totals() for api in apis]
    finally:
        for api in apis:
            api.stop()
    for run, truth, (what, query, _, _) in zip(runs, truths, engines, strict=True):
        check_run(query, run, truth, what)


def test_local_into_prometheus_distributed_into_victoria(
    stack: LocalStack, victoria: Any, tmp_path: Path
) -> None:
    run_pair(stack, victoria, tmp_path, prometheus_workers=0)


def test_distributed_into_prometheus_local_into_victoria(
    stack: LocalStack, victoria: Any, tmp_path: Path
) -> None:
    run_pair(stack, victoria, tmp_path, prometheus_workers=2)


def test_receiver_killed_mid_run_and_restarted(victoria: Any, api: DemoApi, tmp_path: Path) -> None:
    """Prometheus (the receiver) SIGKILLed mid-run and started again: totals exact after the
    restart, the load undisturbed (same exit code, request rate within noise of a run beside it
    whose receiver stayed up), the failure counter counts the outage."""
    control_api = DemoApi(latency_ms=2, jitter_ms=3, error_rate=0.0, seed=3)
    with LocalStack(tmp_path / "stack", rules_dir=None) as own:
        sel = {"run_id": new_run_id("rw-outage"), "control": new_run_id("rw-control")}
        runs = [
            start_locust(
                target.url,
                pushgateway=None,
                remote_write=url,
                users=4,
                run_time="18s",
                run_id=sel[key],
                push_interval=INTERVAL,
                workdir=tmp_path / key,
            )
            for key, target, url in (
                ("run_id", api, own.remote_write_url),
                ("control", control_api, victoria.write_url),
            )
        ]
        outage, control = runs
        counter = f'sum(locust_requests_total{{run_id="{outage.run_id}"}})'
        wait_until(lambda: own.query(counter), 40, "the first samples in Prometheus")
        own.stop_prometheus(kill=True)
        down_at = api.totals()
        # The load runs on while the receiver is down (the demo API counts requests).
        wait_until(
            lambda: (
                sum(r for r, _ in api.totals().values()) > sum(r for r, _ in down_at.values()) + 40
            ),
            30,
            "requests during the outage",
        )
        wait_until(lambda: "remote write failed" in outage.logs[0].read_text(), 30, "a failure")
        own.start_prometheus()
        try:
            for run in runs:
                run.wait(120)
            truth, control_truth = api.totals(), control_api.totals()
        finally:
            control_api.stop()
        for run in runs:
            assert run.returncode == 0, run.output
            assert "Traceback" not in run.output
        assert "remote write recovered" in outage.output, outage.output
        rps = [run.locust_figures()["total_rps"] for run in runs]
        assert abs(rps[0] - rps[1]) <= 0.25 * rps[1], rps
        check_run(own.query, outage, truth, "Prometheus restarted")
        check_run(victoria.query, control, control_truth, "VictoriaMetrics (control)")
        failures = scalar(
            own.query,
            f'max(last_over_time(locust_exporter_push_failures_total{{run_id="{outage.run_id}"}}'
            "[10m]))",
        )
        assert failures is not None and failures >= 1, failures


class Rejecting(http.server.BaseHTTPRequestHandler):
    """A receiver that rejects every write as Prometheus does out-of-order samples."""

    posts: list[float] = []  # noqa: RUF012 - one server per test

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Rejecting.posts.append(time.time())
        body = b"out of order sample"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_400_is_reported_once_and_not_retried(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Rejecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    locustfile = tmp_path / "synthetic.py"
    locustfile.write_text(SYNTHETIC_LOCUSTFILE)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
        run = start_locust(
            "http://unused", pushgateway=None, remote_write=url, locustfile=locustfile, users=2,
            run_time="5s", push_interval=0.5, workdir=tmp_path / "run",
        ).wait(60)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.output
    assert run.output.count("remote write rejected a batch") == 1, run.output
    assert "HTTP 400" in run.output and "out of order sample" in run.output
    assert "Traceback" not in run.output
    # One POST per batch: about 10 sends in 5 s at 0.5 s, the final one and the staleness
    # markers; a retry loop on a rejected batch would make hundreds.
    sends = 5 / 0.5 + 2
    assert 3 <= len(Rejecting.posts) <= sends + 3, len(Rejecting.posts)


def test_demo_through_prometheus_receiver(tmp_path: Path) -> None:
    """``make demo DEMO_ARGS="--sink remote-write"``, shortened: the same run and the same gate,
    the metrics carried by remote write into the local stack's Prometheus."""
    out = tmp_path / "demo"
    args = ["--duration", "8", "--users", "4", "--error-rate", "0", "--out", str(out),
            "--sink", "remote-write"]  # fmt: skip
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py"), *args],
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    assert proc.returncode == result["exit_code"] == 0, proc.stdout + proc.stderr
    assert re.search(r"remote write http://127\.0\.0\.1:\d+/api/v1/write", proc.stdout)
    log = (out / "locust-0.log").read_text()
    assert "remote write to http://127.0.0.1:" in log and "ended the series of run_id=" in log
    totals = re.findall(r"^\s+(GET|POST)\s+\S+\s+(\d+)\s+(\d+)", proc.stdout, flags=re.M)
    assert totals and sum(int(r) for _, r, _ in totals) == result["summary"]["requests"] > 0

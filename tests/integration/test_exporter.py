"""The exporter against real Locust, Pushgateway and Prometheus processes.

Ground truth is the demo API's own request counts and Locust's own summary/CSV. Runs are short
(1 s push interval, 1 s scrape) and the local and distributed runs share one wait.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import math
import re
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from localstack import LocalStack
from support import (
    EXAMPLES,
    SYNTHETIC_LOCUSTFILE,
    DemoApi,
    LocustRun,
    new_run_id,
    start_locust,
    wait_until,
)

pytestmark = pytest.mark.integration

LINGER = ["--prometheus-linger", "2"]
NASTY_NAMES = ['/q"uote', "/back\\slash", "/new\nline", "/a/b/c", "/ünï©ødé ☃", ""]


def mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def last(stack: LocalStack, expr: str) -> dict[tuple[str, ...], float]:
    """``last_over_time`` of a series set, keyed by (method, name) or percentile labels."""
    out: dict[tuple[str, ...], float] = {}
    for row in stack.query(f"last_over_time({expr}[5m])"):
        labels: dict[str, str] = row["metric"]  # type: ignore[assignment]
        key = tuple(labels.get(k, "") for k in ("method", "name", "percentile") if k in labels)
        out[key] = float(row["value"][1])  # type: ignore[index]
    return out


def groups(stack: LocalStack) -> list[dict[str, str]]:
    data = requests.get(f"{stack.pushgateway_url}/api/v1/metrics", timeout=5).json()["data"]
    return [g["labels"] for g in data]


def has_group(stack: LocalStack, run_id: str) -> bool:
    return any(g.get("run_id", "") == run_id for g in groups(stack))


def wait_final_scraped(stack: LocalStack, run_id: str, expected_total: int) -> None:
    """Poll until Prometheus holds the final push (its request total); the exact per-endpoint
    comparison afterwards reports any difference."""
    expr = f'sum(last_over_time(locust_requests_total{{run_id="{run_id}"}}[5m]))'

    def done() -> bool:
        rows = stack.query(expr)
        return bool(rows) and int(float(rows[0]["value"][1])) == expected_total  # type: ignore[index]

    with contextlib.suppress(TimeoutError):
        wait_until(done, 20, f"the final push of {run_id} in Prometheus")


def check_exact(
    stack: LocalStack, run: LocustRun, truth: dict[tuple[str, str], tuple[int, int]]
) -> None:
    sel = f'{{job="locust", run_id="{run.run_id}"}}'
    reqs = last(stack, f"locust_requests_total{sel}")
    fails = last(stack, f"locust_request_failures_total{sel}")
    assert truth and sum(fails.values()) > 0
    assert {k: int(v) for k, v in reqs.items()} == {k: r for k, (r, _) in truth.items()}
    assert {k: int(v) for k, v in fails.items()} == {k: f for k, (_, f) in truth.items()}

    summary = run.summary()
    csv_rows = {(r["Type"], r["Name"]): r for r in run.stats_rows()}
    quant = last(stack, f"locust_response_time_percentile_seconds{sel}")
    # Max response times: the exporter divides Locust's ms by 1000 and the text format, Prometheus
    # and its JSON API all round-trip float64 exactly, so equality is exact (no tolerance).
    maxes = last(stack, f"locust_response_time_max_seconds{sel}")
    run_max = last(stack, f"locust_run_response_time_max_seconds{sel}")
    from locust.stats import PERCENTILES_TO_REPORT, get_readable_percentiles

    assert set(maxes) == set(reqs)
    for (method, name), entry in summary.items():
        row = csv_rows[(method, name)]
        # Only the CSV's Aggregated row: Locust's --json-file (used by the support code) zeroes
        # the per-endpoint rows before the CSV's last rewrite.
        if name == "Aggregated":
            assert int(row["Request Count"]) == sum(reqs.values())
            assert entry.max_response_time > 0
            assert run_max == {(): entry.max_response_time / 1000.0}
            run_q = last(stack, f"locust_run_response_time_percentile_seconds{sel}")
            cols = get_readable_percentiles(PERCENTILES_TO_REPORT)
            for q, col in zip(PERCENTILES_TO_REPORT, cols, strict=True):
                exported = round(run_q[(str(float(q)),)] * 1000)
                assert exported == entry.get_response_time_percentile(q) == int(row[col]), q
            continue
        assert (entry.num_requests, entry.num_failures) == truth[(method, name)]
        assert maxes[(method, name)] == entry.max_response_time / 1000.0, name
        for q in PERCENTILES_TO_REPORT:
            exported = round(quant[(method, name, str(float(q)))] * 1000)
            assert exported == entry.get_response_time_percentile(q), (name, q)


def test_local_and_distributed_totals_exact(stack: LocalStack, tmp_path: Path) -> None:
    apis = [DemoApi(latency_ms=2, jitter_ms=8, error_rate=0.08, seed=s) for s in (1, 2)]
    try:
        local = start_locust(
            apis[0].url, pushgateway=stack.pushgateway_url, users=4, run_time="6s",
            run_id=new_run_id("local"), extra=LINGER, workdir=mk(tmp_path / "local"),
        )  # fmt: skip
        dist = start_locust(
            apis[1].url, pushgateway=stack.pushgateway_url, users=4, run_time="6s", workers=2,
            run_id=new_run_id("dist"), extra=[*LINGER, "--prometheus-keep"],
            workdir=mk(tmp_path / "dist"),
        )  # fmt: skip
        for run in (local, dist):
            run.wait(90)
            assert run.returncode == 1, run.output  # Locust's normal code when requests failed
            assert f"run id {run.run_id}" in run.output
            assert "Uncaught exception" not in run.output and "Traceback" not in run.output
        truths = [api.totals() for api in apis]
    finally:
        for api in apis:
            api.stop()
    for run, truth in ((local, truths[0]), (dist, truths[1])):
        wait_final_scraped(stack, run.run_id, sum(r for r, _ in truth.values()))
        check_exact(stack, run, truth)
        # The gate judges from the first scrape that shows the end timestamp: that scrape must
        # already hold every request, the workers' last ones included.
        ends = stack.query(f'locust_run_end_timestamp_seconds{{run_id="{run.run_id}"}}[5m]')
        first_end = float(ends[0]["values"][0][0])  # type: ignore[index]
        at_end = stack.query(f'sum(locust_requests_total{{run_id="{run.run_id}"}})', at=first_end)
        assert int(float(at_end[0]["value"][1])) == sum(r for r, _ in truth.values())  # type: ignore[index]
    workers = last(stack, f'locust_workers{{run_id="{dist.run_id}"}}')
    assert workers  # distributed mode exports worker states
    # The master records spawning_complete (every worker's users running): `window: steady`.
    for run in (local, dist):
        sel = f'{{run_id="{run.run_id}"}}'
        (start,) = last(stack, f"locust_run_start_timestamp_seconds{sel}").values()
        (steady,) = last(stack, f"locust_run_steady_timestamp_seconds{sel}").values()
        (end,) = last(stack, f"locust_run_end_timestamp_seconds{sel}").values()
        assert start <= steady < end, (run.run_id, start, steady, end)
    cpu = stack.query(f'last_over_time(locust_loadgen_cpu_percent{{run_id="{dist.run_id}"}}[5m])')
    procs = {row["metric"]["worker"] for row in cpu}  # type: ignore[index]
    assert "master" in procs and len(procs) == 3, procs  # the master and its 2 workers
    # the local run's group was deleted after the linger; --prometheus-keep kept the other
    assert not has_group(stack, local.run_id)
    assert has_group(stack, dist.run_id)
    users = last(stack, f'locust_users{{run_id="{local.run_id}"}}')
    assert users and all(v == 0 for v in users.values())


# The example locustfile with the exporter's per-push failure line (DEBUG) turned on, so the
# test can count failed pushes while the Pushgateway is down; the WARNING lines are rate-limited.
FAULTS_LOCUSTFILE = """
import logging
import sys

sys.path.insert(0, {examples!r})
logging.getLogger("locust_prometheus.pushing").setLevel(logging.DEBUG)
from locustfile import StudentUser  # noqa: E402,F401
"""
PUSH_FAILED = "locust_prometheus: push failure"  # DEBUG, one per failed push
WARNED = "push to the Pushgateway failed"  # WARNING, rate-limited
RECOVERED = re.compile(r"push to the Pushgateway recovered after (\d+) failed attempt")


def test_live_updates_and_pushgateway_faults(api: DemoApi, tmp_path: Path) -> None:
    """Pushgateway absent at start, crashed (SIGKILL) mid-run and restarted: Locust is
    undisturbed, pushes fail during each outage, Prometheus sees the counter rise live, and
    the final totals are exact."""
    locustfile = tmp_path / "faults_locustfile.py"
    locustfile.write_text(FAULTS_LOCUSTFILE.format(examples=str(EXAMPLES)))
    with LocalStack(tmp_path / "stack", scrape_interval="1s") as stack:
        stack.stop_pushgateway()
        run = start_locust(
            api.url, pushgateway=stack.pushgateway_url, locustfile=locustfile, users=3,
            run_time="22s", run_id=new_run_id("faults"), extra=LINGER,
            workdir=mk(tmp_path / "run"),
        )  # fmt: skip
        log = run.logs[0]

        def log_count(text: str) -> int:
            return log.read_text(errors="replace").count(text)

        def api_requests() -> int:
            return sum(r for r, _ in api.totals().values())

        def outage(what: str, failed_before: int, warned: int) -> None:
            """Wait until the load runs on and >= 2 pushes have failed since ``failed_before``,
            with only one (rate-limited) warning for them."""
            load_before = api_requests()
            wait_until(
                lambda: (
                    log_count(PUSH_FAILED) >= failed_before + 2 and api_requests() > load_before
                ),
                20,
                f"2 failed pushes while the load runs ({what})",
            )
            assert run.master.poll() is None, f"the run ended during the {what}"
            assert log_count(WARNED) == warned, f"warnings are rate-limited ({what})"

        # Outage 1: no Pushgateway at all when the run starts.
        outage("Pushgateway absent at start", 0, 1)
        stack.start_pushgateway()
        sel = f'sum(locust_requests_total{{run_id="{run.run_id}"}})'
        fails_sel = f'locust_exporter_push_failures_total{{run_id="{run.run_id}"}}'
        seen: list[float] = []

        def rising(n: int) -> bool:
            rows = stack.query(sel)
            if rows:
                value = float(rows[0]["value"][1])  # type: ignore[index]
                if not seen or value > seen[-1]:
                    seen.append(value)
            return len(seen) >= n

        def exported_failures() -> int | None:
            rows = stack.query(fails_sel)
            return int(float(rows[0]["value"][1])) if rows else None  # type: ignore[index]

        wait_until(lambda: rising(3), 15, "3 rising scrapes")
        assert run.master.poll() is None, "the live values must be seen before the run ends"
        # The exporter's own health after the restart: exactly the failed pushes of outage 1.
        wait_until(lambda: exported_failures() == log_count(PUSH_FAILED), 10, "failures metric")
        failures_1 = log_count(PUSH_FAILED)

        # Outage 2: the Pushgateway crashes mid-run (SIGKILL: no graceful shutdown).
        crashed = stack._pushgateway
        assert crashed is not None
        crashed.kill()
        crashed.wait(timeout=10)
        assert crashed.returncode == -signal.SIGKILL
        outage("Pushgateway crashed mid-run", failures_1, 2)
        stack.start_pushgateway()  # same port, empty: the next push restores the whole group
        wait_until(
            lambda: (
                (n := exported_failures()) is not None
                and n > failures_1
                and n == log_count(PUSH_FAILED)
            ),
            10,
            "locust_exporter_push_failures_total after the restart",
        )

        run.wait(90)
        assert run.returncode == 0, run.output
        total_failed = run.output.count(PUSH_FAILED)
        assert total_failed >= 4
        assert run.output.count(WARNED) == 2  # one per outage, not one per failed push
        recovered = [int(n) for n in RECOVERED.findall(run.output)]
        assert len(recovered) == 2 and sum(recovered) == total_failed, recovered
        truth = api.totals()
        wait_final_scraped(stack, run.run_id, sum(r for r, _ in truth.values()))
        reqs = last(stack, f'locust_requests_total{{run_id="{run.run_id}"}}')
        assert {k: int(v) for k, v in reqs.items()} == {k: r for k, (r, _) in truth.items()}
        assert last(stack, fails_sel) == {(): float(total_failed)}
        assert not has_group(stack, run.run_id)


BAD_LOCUSTFILE = """
import json, os, time
import locust_prometheus  # noqa: F401
from locust import User, constant, task

NAMES = json.loads(os.environ["BAD_NAMES"])

class Weird(User):
    wait_time = constant(0.05)

    @task
    def fire(self):
        for name in NAMES:
            self.environment.events.request.fire(
                request_type="GET", name=name, response_time=3, response_length=1,
                exception=None, context={}, start_time=time.time(), url=None, response=None,
            )
"""


def test_label_values_of_any_content_roundtrip(stack: LocalStack, tmp_path: Path) -> None:
    locustfile = tmp_path / "weird.py"
    locustfile.write_text(BAD_LOCUSTFILE)
    run_ids = ['run "quoted"/\\back\nslash ünï ☃', "plain-" + new_run_id()]
    runs = [
        start_locust(
            "http://127.0.0.1:9",
            pushgateway=stack.pushgateway_url,
            locustfile=locustfile,
            users=1,
            run_time="3s",
            run_id=rid,
            extra=["--prometheus-keep"],
            env={"BAD_NAMES": json.dumps(NASTY_NAMES)},
            workdir=mk(tmp_path / str(i)),
        )
        for i, rid in enumerate(run_ids)
    ]
    for run in runs:
        run.wait(60)
        assert run.returncode == 0, run.output
    for rid in run_ids:
        assert has_group(stack, rid)

    def back() -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for row in stack.query('last_over_time(locust_requests_total{job="locust"}[5m])'):
            labels: dict[str, str] = row["metric"]  # type: ignore[assignment]
            out.setdefault(labels.get("run_id", ""), set()).add(labels.get("name", ""))
        return out

    wait_until(lambda: all(set(NASTY_NAMES) <= back().get(r, set()) for r in run_ids), 20, "names")
    for rid in run_ids:
        requests.delete(
            f"{stack.pushgateway_url}/metrics/job/locust/run_id@base64/"
            + __import__("base64").urlsafe_b64encode(rid.encode()).decode(),
            timeout=5,
        )


def test_empty_run_id_pushes(stack: LocalStack) -> None:
    """The empty value needs ``@base64/=`` in the URL; pushed in-process with the real client."""
    from locust_prometheus.options import ExporterConfig
    from locust_prometheus.pushgateway_http import Pusher, group_url, make_handler

    cfg = ExporterConfig(pushgateway=stack.pushgateway_url)
    job = new_run_id("emptyjob")
    pusher = Pusher(group_url(stack.pushgateway_url, job, ""), handler=make_handler(cfg), timeout=5)
    # typed like the real exporter's: the Pushgateway rejects a type differing from other groups'
    pusher.put(
        b'# TYPE locust_requests_total counter\nlocust_requests_total{method="",name=""} 7\n',
        budget=5,
    )
    assert any(g.get("job") == job and g.get("run_id", "") == "" for g in groups(stack))
    rows = wait_until(
        lambda: stack.query(f'locust_requests_total{{job="{job}", run_id=""}}'), 20, "empty id"
    )
    assert math.isclose(float(rows[0]["value"][1]), 7)  # type: ignore[index]
    pusher.delete(budget=5)
    assert not any(g.get("job") == job for g in groups(stack))


def test_gzip_push_and_pull_endpoint(stack: LocalStack, api: DemoApi, tmp_path: Path) -> None:
    from localstack import free_port

    port = free_port()
    run = start_locust(
        api.url,
        pushgateway=stack.pushgateway_url,
        users=2,
        run_time="4s",
        extra=["--prometheus-gzip", "--prometheus-listen", f"127.0.0.1:{port}", *LINGER],
        workdir=mk(tmp_path / "run"),
    )

    def scraped() -> str:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        return text if 'locust_requests_total{method="GET"' in text else ""

    text = str(wait_until(scraped, 20, "the pull endpoint"))
    assert "# TYPE locust_request_duration_seconds histogram" in text
    run.wait(60)
    assert run.returncode == 0, run.output
    truth = api.totals()
    wait_final_scraped(stack, run.run_id, sum(r for r, _ in truth.values()))
    reqs = last(stack, f'locust_requests_total{{run_id="{run.run_id}"}}')
    assert {k: int(v) for k, v in reqs.items()} == {k: r for k, (r, _) in truth.items()}


# -- SIGTERM / Ctrl-C: how `promgate run` stops an aborted run -------------------------------------


FINAL_MARK = re.compile(rb"^locust_run_end_timestamp_seconds[ {]", re.MULTILINE)
REQUESTS = re.compile(rb"^locust_requests_total{[^\n]*} (\S+)$", re.MULTILINE)


class Recorder(http.server.BaseHTTPRequestHandler):
    """A Pushgateway stand-in that records each request: method, whether it is a final push,
    the requests it carries."""

    seen: list[tuple[str, bool, int]]

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.seen.append(
            (
                self.command,
                bool(FINAL_MARK.search(body)),
                sum(int(float(n)) for n in REQUESTS.findall(body)),
            )
        )
        self.send_response(202 if self.command == "DELETE" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = do_DELETE = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("workers", "signum", "in_linger"),
    [
        (0, signal.SIGTERM, False),
        (0, signal.SIGINT, False),
        (2, signal.SIGTERM, False),
        (0, signal.SIGTERM, True),
    ],
    ids=["local-SIGTERM", "local-SIGINT", "distributed-SIGTERM", "local-SIGTERM-in-linger"],
)
def test_stopped_by_a_signal_shuts_down_once(
    tmp_path: Path, workers: int, signum: signal.Signals, in_linger: bool
) -> None:
    """Locust shuts down once (one "Shutting down", one quit path: final push, linger, DELETE)
    though the exporter's quitting/quit listeners yield inside Locust's shutdown(): stopped
    mid-test, or by SIGTERM during the linger after the end of -t."""
    seen: list[tuple[str, bool, int]] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    locustfile = mk(tmp_path / "lf") / "locustfile.py"
    locustfile.write_text(SYNTHETIC_LOCUSTFILE)
    try:
        run = start_locust(
            "http://127.0.0.1:9",
            pushgateway=f"http://127.0.0.1:{server.server_port}",
            locustfile=locustfile,
            users=4,
            spawn_rate=4,
            run_time="4s" if in_linger else "120s",
            workers=workers,
            extra=["--prometheus-linger", "3" if in_linger else "1"],
            workdir=mk(tmp_path / "run"),
        )
        if in_linger:
            wait_until(lambda: "for a scrape, then" in run.logs[0].read_text(), 60, "the linger")
        else:
            # Mid-test: a push already carries requests (on a master: the workers' reports).
            wait_until(lambda: any(requests for _, _, requests in seen), 60, "a push with requests")
        run.master.send_signal(signum)
        run.wait(90)
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.output
    output = run.logs[0].read_text()  # the master's (or local) log
    assert output.count("Shutting down (exit code") == 1, output
    assert "Traceback" not in output, output
    assert output.count("(--prometheus-linger) for a scrape") == 1, output
    assert [m for m, _, _ in seen].count("DELETE") == 1, seen
    assert seen[-1][0] == "DELETE", seen
    # The group's last values are Locust's own final figures, end timestamp included (with
    # --json-file Locust zeroes its endpoints before quit: the exporter pushes a copy).
    method, final, total = seen[-2]
    assert (method, final) == ("PUT", True), seen
    assert total == run.summary()[("", "Aggregated")].num_requests > 0, seen
    finals = [m for m, final, _ in seen if final]
    # Local: test_stop's final push and the quit's. A master: the quit's, after test_stop's
    # (made once the workers' last reports are in) if it was not cancelled by the quit.
    if workers:
        assert 1 <= len(finals) <= 2, seen
    else:
        assert len(finals) == 2, seen

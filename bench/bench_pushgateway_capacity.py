# ruff: noqa: E501 - report formatting
"""How far one Pushgateway goes: K concurrent runs x E endpoints, each pushing every 5 s.

    .venv/bin/python bench/bench_pushgateway_capacity.py [--runs 1 10 50] [--endpoints 10 100 1000]
        [--rounds 3] [--gzip] [--json out.json]

Each cell starts a fresh local stack (the real Prometheus scraping the real Pushgateway every 5 s,
deploy/local/localstack.py), then K simulated runs push R rounds each, every 5 s, at staggered
phases, with the payload the exporter sends: its own encoder (``locust_prometheus.exposition``)
over its own model (``build_model``) of a synthetic snapshot of E endpoints (Locust's 11
percentiles, one error series per 10 endpoints). No Locust: nothing but HTTP PUTs of real payloads. Measured per cell: push latency
p50/p99 and timeouts (the exporter's default push timeout, 5 s), the Pushgateway's RSS and CPU
and Prometheus's RSS (from /proc), Prometheus's ``scrape_duration_seconds`` and
``scrape_samples_scraped`` for the Pushgateway. Cells go in order of K x E; once a cell reaches
the knee (a push timed out, or a scrape took longer than the interval or failed), larger cells
are skipped. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
# The encoder needs no Locust, and Locust's import would monkey-patch threads into greenlets:
# make the plugin's optional imports fail, as they do where the locust extra is not installed.
for _name in ("locust", "gevent"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]

from localstack import LocalStack, wait_until  # noqa: E402
from locust_prometheus.exposition import Health, encode  # noqa: E402
from locust_prometheus.model import CardinalityGuard, build_model  # noqa: E402
from locust_prometheus.snapshot import EntrySnapshot, RunSnapshot  # noqa: E402

#: Locust's default PERCENTILES_TO_REPORT (locust.stats), without importing Locust.
PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def snapshot(endpoints: int, round_no: int) -> RunSnapshot:
    """A run after ``round_no`` pushes, as the exporter's snapshot of Locust's statistics: every
    counter grows from round to round; ~60 distinct response times per endpoint, as a real run."""
    n = 1000 * (round_no + 1)
    entries = []
    for i in range(endpoints):
        times = {t: n // 60 + (t % 7) for t in range(12, 12 + 60 * 3, 3)}
        reqs = sum(times.values())
        entries.append(
            EntrySnapshot(
                "GET", f"/api/v1/resource{i}/{{id}}", reqs, 0, reqs // 50, 42.0 * reqs,
                float(max(times)), 512 * reqs, times, current_rps=200.0, current_fail_per_sec=4.0,
            )
        )  # fmt: skip
    total_times: dict[int, int] = {}
    for e in entries:
        for t, c in e.response_times.items():
            total_times[t] = total_times.get(t, 0) + c
    total = EntrySnapshot(
        "", "Aggregated", sum(e.num_requests for e in entries), 0,
        sum(e.num_failures for e in entries), sum(e.total_response_time for e in entries),
        max(total_times), sum(e.total_content_length for e in entries), total_times,
    )  # fmt: skip
    errors: list[tuple[str, str, object, int]] = [
        ("GET", e.name, f"HTTPError('503 Server Error for url {e.name}')", e.num_failures)
        for e in entries[::10]
    ]
    now = time.time()
    return RunSnapshot(
        entries=entries, total=total, errors=errors, users={"ApiUser": 100},
        workers={"ready": 0, "spawning": 0, "running": 4, "missing": 0, "stopped": 0},
        loadgen=[("master", 3.0, 120_000_000)] + [(f"w{i}", 80.0, 90_000_000) for i in range(4)],
        start_time=now - 5 * round_no, last_request_timestamp=now, end_time=None,
        percentiles=PERCENTILES,
    )  # fmt: skip


def payload(endpoints: int, round_no: int) -> tuple[bytes, float]:
    m = build_model(snapshot(endpoints, round_no), CardinalityGuard(max(endpoints, 1000)))
    info = {"testplan": "capacity", "environment": "bench", "host": "http://sut"}
    t0 = time.perf_counter()
    body = encode(m, info, Health(pushes=round_no))
    return body, time.perf_counter() - t0


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def proc_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Cell:
    runs: int
    endpoints: int
    gzip: bool
    payload_bytes: int = 0
    encode_ms: float = 0.0
    pushes: int = 0
    timeouts: int = 0
    errors: int = 0
    push_p50_ms: float = 0.0
    push_p99_ms: float = 0.0
    push_max_ms: float = 0.0
    pgw_rss_mib: float = 0.0
    pgw_cpu_cores: float = 0.0
    prom_rss_mib: float = 0.0
    scrape_max_s: float = 0.0
    samples_max: int = 0
    scrapes_failed: int = 0
    knee: list[str] = field(default_factory=list)


class Sampler(threading.Thread):
    """Peak RSS of a process, sampled every 0.25 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, proc_rss_bytes(self.pid))
            except OSError:  # the process ended
                return
            time.sleep(0.25)


def last_scrape(stack: LocalStack) -> str:
    """The start time of Prometheus's last scrape of the Pushgateway, failed or not."""
    url = f"{stack.prometheus_url}/api/v1/targets"
    for target in requests.get(url, timeout=10).json()["data"]["activeTargets"]:
        if target["labels"].get("job") == "pushgateway":
            return str(target.get("lastScrape", ""))
    return ""


def wait_scrapes(stack: LocalStack, count: int, timeout: float) -> bool:
    """Whether ``count`` more scrapes of the Pushgateway began (succeeded or not) in time."""
    seen = [last_scrape(stack)]

    def more() -> bool:
        now = last_scrape(stack)
        if now != seen[-1]:
            seen.append(now)
        return len(seen) > count

    try:
        wait_until(more, timeout, f"{count} scrapes of the Pushgateway", interval=0.5)
    except TimeoutError:
        return False
    return True


def push(url: str, body: bytes, use_gzip: bool, timeout: float) -> tuple[float, str]:
    headers = {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read()
        return time.perf_counter() - t0, ""
    except TimeoutError:
        return time.perf_counter() - t0, "timeout"
    except urllib.error.URLError as exc:
        kind = "timeout" if isinstance(exc.reason, TimeoutError) else f"error: {exc.reason}"
        return time.perf_counter() - t0, kind
    except urllib.error.HTTPError as exc:  # pragma: no cover - URLError's subclass, caught above
        return time.perf_counter() - t0, f"HTTP {exc.code}"


def run_cell(
    runs: int, endpoints: int, rounds: int, interval: float, timeout: float, use_gzip: bool
) -> Cell:
    cell = Cell(runs, endpoints, use_gzip)
    bodies = []
    for r in range(rounds):
        body, seconds = payload(endpoints, r)
        cell.encode_ms = max(cell.encode_ms, seconds * 1000)
        bodies.append(gzip.compress(body, 6) if use_gzip else body)
    cell.payload_bytes = len(bodies[-1])
    # A fresh stack per cell (its own temporary directory, removed after): clean RSS and TSDB.
    with LocalStack(scrape_interval=f"{interval:g}s", rules_dir=None) as stack:
        assert stack._pushgateway is not None and stack._prometheus is not None
        pgw_pid, prom_pid = stack._pushgateway.pid, stack._prometheus.pid
        samplers = [Sampler(pgw_pid), Sampler(prom_pid)]
        for s in samplers:
            s.start()
        cpu0, t0 = proc_cpu_seconds(pgw_pid), time.monotonic()
        start = time.time()
        results: list[tuple[float, str]] = []
        lock = threading.Lock()

        def one_run(k: int) -> None:
            url = f"{stack.pushgateway_url}/metrics/job/locust/run_id/capacity-{k}"
            phase = interval * k / runs  # runs are independent: their pushes are spread out
            for r in range(rounds):
                delay = t0 + phase + r * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                outcome = push(url, bodies[r], use_gzip, timeout)
                with lock:
                    results.append(outcome)

        with ThreadPoolExecutor(max_workers=runs) as pool:
            list(pool.map(one_run, range(runs)))
        # Two scrapes that began after the last push: the Pushgateway holds every group.
        scraped = wait_scrapes(stack, 2, timeout=6 * interval + 30)
        cpu1, t1 = proc_cpu_seconds(pgw_pid), time.monotonic()
        for s in samplers:
            s.running = False
        window = f"{int(time.time() - start) + 1}s"
        sel = '{job="pushgateway"}'

        def scalar(expr: str) -> float:
            rows = stack.query(expr)
            return float(rows[0]["value"][1]) if rows else float("nan")  # type: ignore[index]

        wait_until(lambda: stack.query(f"scrape_duration_seconds{sel}"), 30, "scrape metrics")
        cell.scrape_max_s = scalar(f"max_over_time(scrape_duration_seconds{sel}[{window}])")
        cell.samples_max = int(scalar(f"max_over_time(scrape_samples_scraped{sel}[{window}])"))
        cell.scrapes_failed = int(
            scalar(f"count_over_time(up{sel}[{window}]) - sum_over_time(up{sel}[{window}])")
        )
    latencies = sorted(seconds for seconds, outcome in results if not outcome)
    cell.pushes = len(results)
    cell.timeouts = sum(1 for _, o in results if o == "timeout")
    cell.errors = sum(1 for _, o in results if o and o != "timeout")
    if latencies:
        q = (
            statistics.quantiles(latencies, n=100, method="inclusive")
            if len(latencies) > 1
            else latencies * 99
        )
        cell.push_p50_ms, cell.push_p99_ms = q[49] * 1000, q[98] * 1000
        cell.push_max_ms = latencies[-1] * 1000
    cell.pgw_rss_mib = samplers[0].peak / 2**20
    cell.prom_rss_mib = samplers[1].peak / 2**20
    cell.pgw_cpu_cores = (cpu1 - cpu0) / (t1 - t0)
    if cell.timeouts:
        cell.knee.append(f"{cell.timeouts} push(es) timed out")
    if cell.errors:
        cell.knee.append(f"{cell.errors} push(es) failed")
    if not scraped:
        cell.knee.append("Prometheus stopped scraping in time")
    if cell.scrape_max_s >= interval or cell.scrapes_failed:
        cell.knee.append(f"scrape {cell.scrape_max_s:.2f} s, {cell.scrapes_failed} failed")
    return cell


def table(cells: list[Cell]) -> str:
    head = (
        "| K runs | E endpoints | gzip | payload | push p50 | push p99 | timeouts | Pushgateway RSS | "
        "Pushgateway CPU | Prometheus RSS | scrape max | samples/scrape | knee |\n"
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = [
        f"| {c.runs} | {c.endpoints} | {'yes' if c.gzip else 'no'} | {c.payload_bytes / 1024:,.0f} KiB | "
        f"{c.push_p50_ms:,.1f} ms | {c.push_p99_ms:,.1f} ms | {c.timeouts}/{c.pushes} | "
        f"{c.pgw_rss_mib:,.0f} MiB | {c.pgw_cpu_cores:.3f} | {c.prom_rss_mib:,.0f} MiB | "
        f"{c.scrape_max_s:.3f} s | {c.samples_max:,} | {'; '.join(c.knee) or '-'} |"
        for c in cells
    ]
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--endpoints", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3, help="pushes per run and cell (default 3)")
    parser.add_argument("--interval", type=float, default=5.0, help="push and scrape interval (s)")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="push timeout (s), the exporter's default"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip the payload (--prometheus-gzip)")
    parser.add_argument("--no-stop", action="store_true", help="measure cells past the knee too")
    parser.add_argument("--json", type=Path, help="write the cells as JSON")
    args = parser.parse_args(argv)

    grid = sorted(
        ((k, e) for k in args.runs for e in args.endpoints), key=lambda c: (c[0] * c[1], c)
    )
    cells: list[Cell] = []
    knee: tuple[int, int] | None = None
    print(
        f"# {os.cpu_count()} CPUs, interval {args.interval:g} s, {args.rounds} rounds per cell",
        flush=True,
    )
    for runs, endpoints in grid:
        if knee and not args.no_stop and runs >= knee[0] and endpoints >= knee[1]:
            print(
                f"skip K={runs} E={endpoints}: past the knee at K={knee[0]} E={knee[1]}", flush=True
            )
            continue
        cell = run_cell(runs, endpoints, args.rounds, args.interval, args.timeout, args.gzip)
        cells.append(cell)
        print(table([cell]).splitlines()[-1], flush=True)
        if args.json:  # after every cell: a long bench that fails late keeps what it measured
            args.json.write_text(json.dumps([asdict(c) for c in cells], indent=1))
        if cell.knee and knee is None:
            knee = (runs, endpoints)
    print()
    print(table(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import sys
import time
import urllib.request
from dataclasses import dataclass, field

import requests

# _capacity first: it puts deploy/local on sys.path and keeps Locust out of this process.
from _capacity import (
    Outcome,
    Sampler,
    grid_arguments,
    payload,
    proc_cpu_seconds,
    staggered,
    summarize,
    sweep,
    timed_send,
)
from localstack import LocalStack, wait_until


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


def push(url: str, body: bytes, use_gzip: bool, timeout: float) -> Outcome:
    headers = {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    return timed_send(request, timeout)


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
        group = f"{stack.pushgateway_url}/metrics/job/locust/run_id/capacity-"
        results = staggered(
            runs, rounds, interval, t0,
            lambda k, r: push(f"{group}{k}", bodies[r], use_gzip, timeout),
        )  # fmt: skip
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
    sends = summarize(results)
    cell.pushes, cell.timeouts, cell.errors = sends.count, sends.timeouts, sends.errors
    cell.push_p50_ms, cell.push_p99_ms, cell.push_max_ms = sends.p50_ms, sends.p99_ms, sends.max_ms
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
    grid_arguments(parser)
    parser.add_argument("--gzip", action="store_true", help="gzip the payload (--prometheus-gzip)")
    args = parser.parse_args(argv)

    def measure(runs: int, endpoints: int) -> Cell:
        return run_cell(runs, endpoints, args.rounds, args.interval, args.timeout, args.gzip)

    sweep(args, {"": measure}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

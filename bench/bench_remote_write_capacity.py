# ruff: noqa: E501 - report formatting
"""How far remote write goes: K concurrent runs x E endpoints, each sending every 5 s, into
Prometheus's receiver (``--web.enable-remote-write-receiver``) and into VictoriaMetrics.

    .venv/bin/python bench/bench_remote_write_capacity.py [--engines prometheus victoria]
        [--runs 1 10 50] [--endpoints 10 100 1000] [--rounds 3] [--json out.json]

The sibling of bench_pushgateway_capacity.py, with the same payload: the exporter's own encoder
over its own model of a synthetic snapshot of E endpoints, every counter changing every round
(the worst case for sending only what changed), turned into the exporter's remote-write batches
(``SeriesDelta`` and ``encode_write_request``: the first send is a full one). Each cell starts a
fresh receiver, then K simulated runs POST R rounds each, every 5 s, at staggered phases. Measured
per cell: the encoding time of one batch, send latency p50/p99, failed or timed-out sends (5 s,
the exporter's push timeout), the receiver's peak RSS and CPU (from /proc), and whether the last
round's request total is queryable (every sample arrived). Cells go in order of K x E; once a
cell reaches the knee (a send failed or timed out, or took longer than the interval at p99),
larger cells are skipped. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
from locust_prometheus.remote_series import SeriesDelta
from locust_prometheus.remote_write_proto import compress
from victoria import VictoriaMetrics

HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


@dataclass
class Cell:
    engine: str
    runs: int
    endpoints: int
    series_per_batch: int = 0
    batch_bytes: int = 0
    encode_ms: float = 0.0
    sends: int = 0
    timeouts: int = 0
    errors: int = 0
    send_p50_ms: float = 0.0
    send_p99_ms: float = 0.0
    rss_mib: float = 0.0
    cpu_cores: float = 0.0
    complete: bool = False
    knee: list[str] = field(default_factory=list)


def send(url: str, body: bytes, timeout: float) -> Outcome:
    request = urllib.request.Request(url, data=body, method="POST", headers=HEADERS)
    return timed_send(request, timeout)


def batches(
    runs: int, endpoints: int, rounds: int, interval: float, cell: Cell
) -> list[list[bytes]]:
    """Each run's remote-write bodies, stamped at the times they are planned to be sent."""
    texts = [payload(endpoints, r)[0] for r in range(rounds)]
    base = time.time()
    out = []
    for k in range(runs):
        delta = SeriesDelta("locust", f"capacity-{k}")
        bodies = []
        for r, text in enumerate(texts):
            t0 = time.perf_counter()
            raw, count = delta.batch(text, base + interval * (k / runs + r))
            body = compress(raw)
            if r:  # the first send also serializes every series' labels once
                cell.encode_ms = max(cell.encode_ms, (time.perf_counter() - t0) * 1000)
            cell.series_per_batch = max(cell.series_per_batch, count)
            bodies.append(body)
        cell.batch_bytes = max(cell.batch_bytes, len(bodies[-1]))
        out.append(bodies)
    return out


def run_cell(engine: str, runs: int, endpoints: int, rounds: int, interval: float,
             timeout: float) -> Cell:  # fmt: skip
    cell = Cell(engine, runs, endpoints)
    bodies = batches(runs, endpoints, rounds, interval, cell)
    expected = sum(int(line.rpartition(b" ")[2]) for line in payload(endpoints, rounds - 1)[0].split(b"\n")
                   if line.startswith(b"locust_requests_total{"))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="promgate-rw-bench-") as tmp:
        if engine == "prometheus":
            receiver: LocalStack | VictoriaMetrics = LocalStack(Path(tmp), rules_dir=None).start()
            pid = receiver._prometheus.pid  # type: ignore[union-attr]
            url, query = receiver.remote_write_url, receiver.query
        else:
            receiver = VictoriaMetrics(Path(tmp)).start()
            pid = receiver._proc.pid  # type: ignore[union-attr]
            url, query = receiver.write_url, receiver.query
        try:
            sampler = Sampler(pid)
            sampler.start()
            cpu0, t0 = proc_cpu_seconds(pid), time.monotonic()
            results = staggered(
                runs, rounds, interval, t0, lambda k, r: send(url, bodies[k][r], timeout)
            )
            cpu1, t1 = proc_cpu_seconds(pid), time.monotonic()
            sampler.running = False
            total = "sum(last_over_time(locust_requests_total[10m]))"

            def arrived() -> bool:
                rows = query(total)
                return bool(rows) and float(rows[0]["value"][1]) == expected * runs  # type: ignore[index]

            try:
                cell.complete = bool(wait_until(arrived, 60, "every sample"))
            except TimeoutError:
                cell.complete = False
        finally:
            receiver.stop()
    sends = summarize(results)
    cell.sends, cell.timeouts, cell.errors = sends.count, sends.timeouts, sends.errors
    cell.send_p50_ms, cell.send_p99_ms = sends.p50_ms, sends.p99_ms
    cell.rss_mib = sampler.peak / 2**20
    cell.cpu_cores = (cpu1 - cpu0) / (t1 - t0)
    if cell.timeouts or cell.errors:
        cell.knee.append(f"{cell.timeouts} timed out, {cell.errors} failed")
    if cell.send_p99_ms > interval * 1000:
        cell.knee.append(f"p99 {cell.send_p99_ms / 1000:.1f} s > interval")
    if not cell.complete:
        cell.knee.append("totals incomplete")
    return cell


def table(cells: list[Cell]) -> str:
    head = (
        "| engine | K runs | E endpoints | series/batch | batch | encode | send p50 | send p99 | failed | receiver RSS | receiver CPU | complete | knee |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n"
    )
    rows = [
        f"| {c.engine} | {c.runs} | {c.endpoints} | {c.series_per_batch:,} | {c.batch_bytes / 1024:,.0f} KiB | "
        f"{c.encode_ms:,.0f} ms | {c.send_p50_ms:,.1f} ms | {c.send_p99_ms:,.1f} ms | "
        f"{c.timeouts + c.errors}/{c.sends} | {c.rss_mib:,.0f} MiB | {c.cpu_cores:.3f} | "
        f"{'yes' if c.complete else 'no'} | {'; '.join(c.knee) or '-'} |"
        for c in cells
    ]
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["prometheus", "victoria"])
    grid_arguments(parser)
    parser.add_argument(
        "--max-series", type=int, default=500_000,
        help="skip cells of more series (K x E x 44): Prometheus held 10 GiB RSS at 2.2M",
    )  # fmt: skip
    args = parser.parse_args(argv)

    def measure(engine: str) -> Callable[[int, int], Cell]:
        return lambda runs, endpoints: run_cell(
            engine, runs, endpoints, args.rounds, args.interval, args.timeout
        )

    def too_many(runs: int, endpoints: int) -> str:
        return "over --max-series" if runs * endpoints * 44 > args.max_series else ""

    sweep(args, {f"{engine} ": measure(engine) for engine in args.engines}, table, too_many)
    return 0


if __name__ == "__main__":
    sys.exit(main())

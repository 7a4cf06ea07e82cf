"""What the capacity benches share: the exporter's payload, the K x E grid up to the knee,
staggered sends, latency quantiles and a process's RSS/CPU from /proc.

Imported by ``bench_pushgateway_capacity.py`` and ``bench_remote_write_capacity.py`` (each still
runs as ``python bench/bench_x.py``: the script's folder is on ``sys.path``). Importing it puts
``deploy/local`` on ``sys.path`` and keeps Locust out (see below).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
# The encoder needs no Locust, and Locust's import would monkey-patch threads into greenlets:
# make the plugin's optional imports fail, as they do where the locust extra is not installed.
for _name in ("locust", "gevent"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]

from locust_prometheus.exposition import Health, encode  # noqa: E402
from locust_prometheus.model import CardinalityGuard, build_model  # noqa: E402
from locust_prometheus.snapshot import EntrySnapshot, RunSnapshot  # noqa: E402

#: Locust's default PERCENTILES_TO_REPORT (locust.stats), without importing Locust.
PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: One send: its seconds and "" (sent), "timeout" or what failed.
Outcome = tuple[float, str]


# -- the payload -------------------------------------------------------------------------------
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
    """The exporter's text payload of ``snapshot`` and the seconds its encoding took."""
    m = build_model(snapshot(endpoints, round_no), CardinalityGuard(max(endpoints, 1000)))
    info = {"testplan": "capacity", "environment": "bench", "host": "http://sut"}
    t0 = time.perf_counter()
    body = encode(m, info, Health(pushes=round_no))
    return body, time.perf_counter() - t0


# -- the receiving process ---------------------------------------------------------------------
def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def proc_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


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


# -- the sends ---------------------------------------------------------------------------------
def timed_send(request: urllib.request.Request, timeout: float) -> Outcome:
    """Send ``request`` and read the answer: its seconds, and "" or what went wrong."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read()
        return time.perf_counter() - t0, ""
    except urllib.error.HTTPError as exc:
        return time.perf_counter() - t0, f"HTTP {exc.code}"
    except TimeoutError:
        return time.perf_counter() - t0, "timeout"
    except urllib.error.URLError as exc:
        kind = "timeout" if isinstance(exc.reason, TimeoutError) else f"error: {exc.reason}"
        return time.perf_counter() - t0, kind


def staggered(
    runs: int, rounds: int, interval: float, t0: float, send: Callable[[int, int], Outcome]
) -> list[Outcome]:
    """K runs in threads, each calling ``send(k, r)`` for R rounds every ``interval`` s from
    ``t0`` (monotonic): run k at phase ``interval * k / runs``, as independent runs spread out."""
    results: list[Outcome] = []
    lock = threading.Lock()

    def one_run(k: int) -> None:
        for r in range(rounds):
            delay = t0 + interval * (k / runs + r) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            outcome = send(k, r)
            with lock:
                results.append(outcome)

    with ThreadPoolExecutor(max_workers=runs) as pool:
        list(pool.map(one_run, range(runs)))
    return results


@dataclass
class Sends:
    """What the sends of a cell came to (latencies of the successful ones, in ms)."""

    count: int = 0
    timeouts: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


def summarize(results: Sequence[Outcome]) -> Sends:
    latencies = sorted(seconds for seconds, outcome in results if not outcome)
    sends = Sends(
        count=len(results),
        timeouts=sum(1 for _, o in results if o == "timeout"),
        errors=sum(1 for _, o in results if o and o != "timeout"),
    )
    if latencies:
        q = (
            statistics.quantiles(latencies, n=100, method="inclusive")
            if len(latencies) > 1
            else latencies * 99
        )
        sends.p50_ms, sends.p99_ms = q[49] * 1000, q[98] * 1000
        sends.max_ms = latencies[-1] * 1000
    return sends


# -- the grid ----------------------------------------------------------------------------------
class Measured(Protocol):
    """A cell: a dataclass with the reasons it reached the knee (none: below it)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    knee: list[str]


CellT = TypeVar("CellT", bound=Measured)


def grid_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every capacity bench takes: the grid, the rounds and timings, the output."""
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--endpoints", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3, help="sends per run and cell (default 3)")
    parser.add_argument(
        "--interval", type=float, default=5.0,
        help="each run's send interval (s); the Pushgateway bench's scrape interval too",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="send timeout (s), the exporter's default"
    )
    parser.add_argument("--no-stop", action="store_true", help="measure cells past the knee too")
    parser.add_argument("--json", type=Path, help="write the cells as JSON")


def sweep(
    args: argparse.Namespace,
    measures: dict[str, Callable[[int, int], CellT]],
    table: Callable[[list[CellT]], str],
    skip: Callable[[int, int], str] = lambda runs, endpoints: "",
) -> list[CellT]:
    """For each of ``measures`` (a label, as "prometheus ", and how to measure a cell), the K x E
    cells in order of K x E, each row printed as it comes; once a cell reaches the knee, larger
    ones are skipped (unless --no-stop), as are those ``skip`` names a reason for. Then the whole
    table."""
    print(
        f"# {os.cpu_count()} CPUs, interval {args.interval:g} s, {args.rounds} rounds per cell",
        flush=True,
    )
    grid = sorted(
        ((k, e) for k in args.runs for e in args.endpoints), key=lambda c: (c[0] * c[1], c)
    )
    cells: list[CellT] = []
    for label, measure in measures.items():
        knee: tuple[int, int] | None = None
        for runs, endpoints in grid:
            reason = skip(runs, endpoints)
            if (
                not reason
                and knee
                and not args.no_stop
                and runs >= knee[0]
                and endpoints >= knee[1]
            ):
                reason = f"past the knee at K={knee[0]} E={knee[1]}"
            if reason:
                print(f"skip {label}K={runs} E={endpoints}: {reason}", flush=True)
                continue
            cell = measure(runs, endpoints)
            cells.append(cell)
            print(table([cell]).splitlines()[-1], flush=True)
            if args.json:  # after every cell: a long bench that fails late keeps what it measured
                args.json.write_text(json.dumps([asdict(c) for c in cells], indent=1))
            if cell.knee and knee is None:
                knee = (runs, endpoints)
    print()
    print(table(cells))
    return cells

# ruff: noqa: E501, B023 - report formatting; closures run within their loop iteration
"""One push's cost at 100 and 1,000 endpoints: CPU, payload bytes, longest gevent-loop stall.

    .venv/bin/python bench/bench_exporter_push.py [--endpoints 100 1000] [--repeat 5]

Successive pushes: after a first push, a share of the endpoints (all, 10 %, none) gets a
request before each push; the exporter re-formats only the endpoints whose numbers changed.
The same for remote write: a push from the snapshot to the compressed batch of changed series.

Compares prometheus_client's ``generate_latest`` over the exporter's collector with the lean
encoder the exporter uses, and measures the loop stall of (a) generate_latest inside the loop,
(b) generate_latest in a native thread, (c) the exporter's path: snapshot in the loop, lean
encoding in gevent's native threadpool. No network: the payload is built, not sent.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import gevent
from locust import User, constant, task
from locust import stats as locust_stats
from locust.env import Environment
from locust_prometheus import PrometheusExporter
from locust_prometheus.options import ExporterConfig
from prometheus_client.exposition import generate_latest


class U(User):
    wait_time = constant(1)

    @task
    def t(self) -> None:
        pass


def environment(endpoints: int, seed: int = 1) -> Environment:
    env = Environment(user_classes=[U], host="http://sut")
    env.create_local_runner()
    rng = random.Random(seed)
    stats = env.runner.stats
    for i in range(endpoints):
        name = f"/api/v1/resource{i}/{{id}}"
        for _ in range(400):  # ~60-90 distinct rounded keys per endpoint, like a real run
            stats.log_request("GET", name, rng.lognormvariate(3.5, 0.8), 512)
        stats.log_error(
            "GET", name, f"HTTPError('503 for /api/v1/resource{i}/{rng.randint(1, 9999)}')"
        )
    return env


def stall_while(work: Callable[[], object]) -> tuple[float, object]:
    """Longest gap seen by a 1 ms ticker greenlet while ``work`` runs in the calling greenlet."""
    gaps: list[float] = []
    running = True

    def ticker() -> None:
        last = time.perf_counter()
        while running:
            gevent.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    g = gevent.spawn(ticker)
    gevent.sleep(0.01)
    result = work()
    gevent.sleep(0.01)
    running = False
    g.join()
    return max(gaps) - 0.001, result


def cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.thread_time()
        result = fn()
        times.append(time.thread_time() - t0)
    return statistics.median(times), max(times) - min(times), result


def successive_pushes(n: int, repeat: int, changed: float, seed: int = 2) -> tuple[float, float]:
    """CPU (all threads) of one push's payload, snapshot plus encoding, when ``changed`` of the
    endpoints got a request since the previous push: (median, spread) in seconds. Also one
    remote-write push as the exporter makes it, printed here: from the snapshot to the
    compressed batch of the changed series (with an exporter that has ``render_unformatted``,
    the endpoints' values, else the text payload)."""
    from locust_prometheus.remote_series import SeriesDelta
    from locust_prometheus.remote_write_proto import compress

    env = environment(n)
    stats = env.runner.stats
    exp = PrometheusExporter(ExporterConfig(run_id="bench", max_endpoints=10_000))
    exp.environment = env
    remote = PrometheusExporter(ExporterConfig(run_id="bench", max_endpoints=10_000))
    remote.environment = env
    renderer = remote.renderer

    def render_remote() -> object:
        if hasattr(renderer, "render_unformatted"):
            return renderer.render_unformatted(remote.health, final=False, end_time=None)
        return remote.render()  # an exporter from before: remote write parsed the text payload

    delta = SeriesDelta("locust", "bench")
    exp.render()  # the first push builds every endpoint's templates
    first = render_remote()
    t0 = time.process_time()
    delta.batch(first, 1000.0)  # and every series' labels
    first_cpu = time.process_time() - t0
    rng = random.Random(seed)
    names = [f"/api/v1/resource{i}/{{id}}" for i in range(n)]
    times, remote_times, batch_times, sizes = [], [], [], []
    for r in range(repeat):
        for name in rng.sample(names, round(n * changed)):
            stats.log_request("GET", name, rng.lognormvariate(3.5, 0.8), 512)
        t0 = time.process_time()
        exp.render()
        times.append(time.process_time() - t0)
        t0 = time.process_time()
        samples = render_remote()
        t1 = time.process_time()
        raw, series = delta.batch(samples, 1001.0 + r)
        compress(raw)
        t2 = time.process_time()
        remote_times.append(t2 - t0)
        batch_times.append(t2 - t1)
        sizes.append(series)
    print(f"    remote write's first batch (every series new): cpu {first_cpu * 1e3:7.1f} ms")
    print(f"    remote write push: snapshot to compressed batch: cpu {statistics.median(remote_times) * 1e3:7.1f} ms "
          f"(spread {(max(remote_times) - min(remote_times)) * 1e3:.1f}), of which changed series, "
          f"framing, snappy {statistics.median(batch_times) * 1e3:.1f} ms; "
          f"{statistics.median(sizes):,.0f} series a batch")  # fmt: skip
    return statistics.median(times), max(times) - min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--successive-only",
        action="store_true",
        help="only the successive pushes (e.g. to compare an older exporter via PYTHONPATH)",
    )
    args = ap.parse_args()
    if args.successive_only:
        for n in args.endpoints:
            for changed in (1.0, 0.1, 0.0):
                med, spread = successive_pushes(n, args.repeat, changed)
                print(
                    f"{n} endpoints, {changed:4.0%} changed: snapshot + encode cpu "
                    f"{med * 1e3:7.1f} ms (spread {spread * 1e3:.1f})"
                )
        return
    pool = gevent.get_hub().threadpool
    print(f"PERCENTILES_TO_REPORT={locust_stats.PERCENTILES_TO_REPORT}")
    for n in args.endpoints:
        env = environment(n)
        exp = PrometheusExporter(ExporterConfig(run_id="bench", max_endpoints=10_000))
        exp.environment = env
        collector = exp.collector()
        snap_cpu, _, snap = cpu(exp.snapshot, args.repeat)
        lean_cpu, lean_spread, lean = cpu(lambda: exp.encode(snap, exp.health), args.repeat)
        ref_cpu, ref_spread, ref = cpu(lambda: generate_latest(collector), args.repeat)
        gz_cpu, _, gz = cpu(
            lambda: exp.renderer.encode_maybe_gzip(snap, exp.health, True), args.repeat
        )
        stalls = {
            "generate_latest in loop": [
                stall_while(lambda: generate_latest(collector))[0] for _ in range(3)
            ],
            "generate_latest in thread": [
                stall_while(lambda: pool.apply(generate_latest, (collector,)))[0] for _ in range(3)
            ],
            "exporter render (snapshot in loop, lean encode in thread)": [
                stall_while(exp.render)[0] for _ in range(3)
            ],
        }
        print(f"\n== {n} endpoints ==")
        print(f"snapshot (in loop)        cpu {snap_cpu * 1e3:7.1f} ms")
        print(
            f"lean encode               cpu {lean_cpu * 1e3:7.1f} ms (spread {lean_spread * 1e3:.1f})"
            f"  {len(lean):>9,} bytes"
        )  # type: ignore[arg-type]
        print(f"lean encode + gzip        cpu {gz_cpu * 1e3:7.1f} ms  {len(gz):>9,} bytes")  # type: ignore[arg-type]
        print(
            f"generate_latest           cpu {ref_cpu * 1e3:7.1f} ms (spread {ref_spread * 1e3:.1f})"
            f"  {len(ref):>9,} bytes"
        )  # type: ignore[arg-type]
        for changed in (1.0, 0.1, 0.0):
            med, spread = successive_pushes(n, args.repeat, changed)
            print(
                f"successive pushes, {changed:4.0%} of endpoints changed: snapshot + encode "
                f"cpu {med * 1e3:7.1f} ms (spread {spread * 1e3:.1f})"
            )
        for what, values in stalls.items():
            print(
                f"max loop stall: {what:58s} {max(values) * 1e3:7.1f} ms "
                f"(runs: {', '.join(f'{v * 1e3:.1f}' for v in values)})"
            )


if __name__ == "__main__":
    main()

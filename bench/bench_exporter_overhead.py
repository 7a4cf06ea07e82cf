# ruff: noqa: E501 - report formatting; closures run within their loop iteration
"""Locust's CPU per request and p99.9 with the exporter vs bare Locust, alternating runs.

    .venv/bin/python bench/bench_exporter_overhead.py [--reps 3] [--run-time 12s] [--users 20]
        [--endpoints 1 1000]

Starts a minimal gevent HTTP server as the system under test and a Pushgateway on free loopback ports; each
repetition runs bare Locust then Locust pushing every 1 s (5x the default rate), so drift on a
shared machine hits both alike. CPU is the Locust process's user+sys time (getrusage of the
waited child, start-up included: ~1 s of imports, the same for both); requests and p99.9 come
from Locust's own --json-file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "deploy" / "local"), str(ROOT / "tests")]

from localstack import free_port, wait_until  # noqa: E402

LOCUSTFILE = """
import random
import locust_prometheus  # noqa: F401
from locust import FastHttpUser, constant, task

N = {endpoints}

class Bench(FastHttpUser):
    wait_time = constant(0.01)

    @task
    def get(self):
        self.client.get("/health", name=f"/e{{random.randrange(N)}}" if N > 1 else "/health")
"""


# A minimal gevent WSGI server: fast and with a deep accept backlog, so the numbers are Locust's.
SUT = """
import sys
from gevent.pywsgi import WSGIServer
def app(env, start):
    start("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None, backlog=1024).serve_forever()
"""


def calculate_response_time_percentile(times: dict[int, int], n: int, q: float) -> int:
    # Locust's own algorithm, copied: importing locust here would monkey-patch ssl after
    # requests imported it (RecursionError).
    target, processed = int(n * q), 0
    for key in sorted(times, reverse=True):
        processed += times[key]
        if n - processed <= target:
            return key
    return 0


def p999(rows: list[dict]) -> int:  # type: ignore[type-arg]
    merged: dict[int, int] = {}
    n = 0
    for r in rows:
        n += r["num_requests"] - r.get("num_none_requests", 0)
        for k, v in r["response_times"].items():
            merged[int(k)] = merged.get(int(k), 0) + v
    return calculate_response_time_percentile(merged, n, 0.999)


def one_run(
    workdir: Path, host: str, gateway: str | None, args: argparse.Namespace, n: int
) -> dict[str, float]:
    locustfile = workdir / f"bench_{n}.py"
    locustfile.write_text(LOCUSTFILE.format(endpoints=n))
    out = workdir / f"run-{time.time_ns()}"
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(args.users),
           "-r", str(args.users), "-t", args.run_time, "--host", host, "--json-file", str(out),
           "--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING"]  # fmt: skip
    if gateway:
        cmd += ["--prometheus-pushgateway", gateway, "--prometheus-push-interval", args.push_interval,
                "--prometheus-linger", "0", "--prometheus-run-id", out.name]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = json.loads(Path(f"{out}.json").read_text())
    reqs = sum(r["num_requests"] for r in rows)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_us_per_req": cpu / max(reqs, 1) * 1e6, "reqs": reqs, "p999_ms": p999(rows)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--run-time", default="12s")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--endpoints", type=int, nargs="+", default=[1, 1000])
    ap.add_argument("--push-interval", default="1", help="seconds (the exporter default is 5)")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-exporter-"))
    api_port, gw_port = free_port(), free_port()
    api = subprocess.Popen([sys.executable, "-c", SUT, str(api_port)], stderr=subprocess.DEVNULL)
    gw = subprocess.Popen(["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{gw_port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    host, gateway = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{gw_port}"
    import requests

    try:
        wait_until(lambda: requests.get(f"{host}/health", timeout=1).ok, 20, "demo API")
        wait_until(lambda: requests.get(f"{gateway}/-/ready", timeout=1).ok, 20, "Pushgateway")
        print(f"cpus={os.cpu_count()} users={args.users} run_time={args.run_time} reps={args.reps}")
        for n in args.endpoints:
            results: dict[str, list[dict[str, float]]] = {"bare": [], "exporter": []}
            for _ in range(args.reps):
                results["bare"].append(one_run(workdir, host, None, args, n))
                results["exporter"].append(one_run(workdir, host, gateway, args, n))
            print(f"\n== {n} endpoint(s) ==")
            for name, runs in results.items():
                cpu = [r["cpu_us_per_req"] for r in runs]
                p = [r["p999_ms"] for r in runs]
                print(f"{name:9s} CPU/request median {statistics.median(cpu):6.1f} us "
                      f"(runs {', '.join(f'{c:.0f}' for c in cpu)}); "
                      f"p99.9 median {statistics.median(p):5.0f} ms (runs {', '.join(f'{x:.0f}' for x in p)}); "
                      f"requests/run {statistics.median(r['reqs'] for r in runs):.0f}")  # fmt: skip
    finally:
        api.terminate()
        gw.terminate()


if __name__ == "__main__":
    main()

# ruff: noqa: E501 - report formatting
"""Locust's CPU per request with the exporter vs bare Locust, alternating runs.

    .venv/bin/python bench/bench_exporter_overhead.py [--reps 5] [--run-time 30s] [--users 20]
        [--endpoints 1000] [--push-interval 5] [--warmup 8] [--baseline-exporter DIR]

Starts a minimal gevent HTTP server as the system under test (it counts the requests it serves)
and a Pushgateway on free loopback ports; each repetition runs bare Locust, then Locust pushing
every ``--push-interval`` seconds, so drift on a shared machine hits both alike. Both runs import
``locust_prometheus``; only ``--prometheus-pushgateway`` differs. ``--remote-write`` adds an arm
that writes to Prometheus's remote-write receiver instead. ``--baseline-exporter DIR`` adds
a third run to each repetition: the exporter from DIR (e.g. ``git archive <commit> exporter |
tar -x -C /tmp/old`` and DIR=/tmp/old/exporter), for a before/after under the same noise;
with ``--remote-write``, also DIR's exporter writing to the receiver.

Two figures per run:

- **whole run**: the Locust process's user+sys time (getrusage of the waited child, start-up and
  shutdown included) per request of Locust's own ``--json-file``.
- **steady state**: CPU time of the Locust process (psutil) per request served by the system under
  test, between ``--warmup`` seconds after the start and 3 s before the end: pushes at the push
  interval only, without start-up, the final pushes and shutdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

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

# A minimal gevent WSGI server: fast, a deep accept backlog, and a request counter at /__count
# (not a load request), so the steady-state window counts requests without asking Locust.
SUT = """
import sys
from gevent.pywsgi import WSGIServer
served = [0]
def app(env, start):
    if env["PATH_INFO"] == "/__count":
        body = str(served[0]).encode()
    else:
        served[0] += 1
        body = b"ok"
    start("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None, backlog=1024).serve_forever()
"""


def parse_seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def served(host: str) -> int:
    import requests

    return int(requests.get(f"{host}/__count", timeout=5).text)


def cpu_of(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def one_run(
    workdir: Path,
    host: str,
    gateway: str | None,
    args: argparse.Namespace,
    n: int,
    pythonpath: str | None = None,
    remote_write: str | None = None,
) -> dict[str, float]:
    locustfile = workdir / f"bench_{n}.py"
    locustfile.write_text(LOCUSTFILE.format(endpoints=n))
    out = workdir / f"run-{time.time_ns()}"
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(args.users),
           "-r", str(args.users), "-t", args.run_time, "--host", host, "--json-file", str(out),
           "--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING"]  # fmt: skip
    if remote_write:
        cmd += ["--prometheus-remote-write", remote_write, "--prometheus-push-interval",
                args.push_interval, "--prometheus-run-id", out.name]  # fmt: skip
    elif gateway:
        cmd += ["--prometheus-pushgateway", gateway, "--prometheus-push-interval", args.push_interval,
                "--prometheus-linger", "0", "--prometheus-run-id", out.name]  # fmt: skip
    run_time = parse_seconds(args.run_time)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": pythonpath} if pythonpath else None
    child = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, env=env
    )
    proc = psutil.Process(child.pid)
    time.sleep(args.warmup)
    cpu0, req0 = cpu_of(proc), served(host)
    time.sleep(max(1.0, started + args.warmup + (run_time - args.warmup - 3) - time.monotonic()))
    cpu1, req1 = cpu_of(proc), served(host)
    child.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = json.loads(Path(f"{out}.json").read_text())
    reqs = sum(r["num_requests"] for r in rows)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "whole_us": cpu / max(reqs, 1) * 1e6,
        "steady_us": (cpu1 - cpu0) / max(req1 - req0, 1) * 1e6,
        "steady_rps": (req1 - req0) / max(run_time - args.warmup - 3, 1),
        "reqs": reqs,
        "cpu_s": cpu,
    }


def describe(values: list[float], unit: str = "µs") -> str:
    spread = (max(values) - min(values)) / statistics.median(values) * 100
    return (f"median {statistics.median(values):6.1f} {unit} (runs {', '.join(f'{v:.0f}' for v in values)}; "
            f"spread {spread:.0f} %)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--run-time", default="30s")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--endpoints", type=int, nargs="+", default=[1000])
    ap.add_argument("--push-interval", default="5", help="seconds (the exporter default is 5)")
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds before the steady window")
    ap.add_argument("--baseline-exporter", metavar="DIR", help="an older exporter, third arm")
    ap.add_argument("--remote-write", action="store_true",
                    help="another arm: remote write into Prometheus's receiver (local stack)")  # fmt: skip
    args = ap.parse_args()
    receiver = None
    if args.remote_write:
        from localstack import LocalStack

        receiver = LocalStack(rules_dir=None).start()
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
        print(f"{platform.processor() or platform.machine()}, cpus={os.cpu_count()}, load {os.getloadavg()[0]:.1f}; "
              f"users={args.users} run_time={args.run_time} push_interval={args.push_interval}s reps={args.reps}")  # fmt: skip
        for n in args.endpoints:
            results: dict[str, list[dict[str, float]]] = {"bare": [], "exporter": []}
            if args.baseline_exporter:
                results["baseline"] = []
            if receiver is not None:
                results["remote_write"] = []
                if args.baseline_exporter:
                    results["baseline_remote_write"] = []
            for _ in range(args.reps):
                results["bare"].append(one_run(workdir, host, None, args, n))
                results["exporter"].append(one_run(workdir, host, gateway, args, n))
                if args.baseline_exporter:
                    results["baseline"].append(
                        one_run(workdir, host, gateway, args, n, args.baseline_exporter)
                    )
                if receiver is not None:
                    results["remote_write"].append(
                        one_run(
                            workdir, host, None, args, n, remote_write=receiver.remote_write_url
                        )
                    )
                    if args.baseline_exporter:
                        results["baseline_remote_write"].append(
                            one_run(workdir, host, None, args, n, args.baseline_exporter,
                                    remote_write=receiver.remote_write_url)
                        )  # fmt: skip
            print(
                f"\n== {n} endpoint(s) == (load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())})"
            )
            for name, runs in results.items():
                print(f"{name:9s} whole run CPU/request {describe([r['whole_us'] for r in runs])}")
                print(f"{'':9s} steady    CPU/request {describe([r['steady_us'] for r in runs])}; "
                      f"{statistics.median(r['steady_rps'] for r in runs):.0f} requests/s")  # fmt: skip
            for arm in [a for a in results if a != "bare"]:
                for key, what in (("whole_us", "whole run"), ("steady_us", "steady state")):
                    pairs = [
                        e[key] / b[key] - 1
                        for b, e in zip(results["bare"], results[arm], strict=True)
                    ]
                    print(f"{arm} vs bare, {what:12s}: median of pairs {statistics.median(pairs) * 100:+.1f} % "
                          f"(pairs {', '.join(f'{p * 100:+.1f}' for p in pairs)})")  # fmt: skip
    finally:
        api.terminate()
        gw.terminate()
        if receiver is not None:
            receiver.stop()


if __name__ == "__main__":
    main()

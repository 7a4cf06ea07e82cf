"""How long the gate takes to judge a run once its data is in Prometheus.

Starts the local stack (real Prometheus + Pushgateway), pushes one finished synthetic run in the
metric contract's shape (20 endpoints), waits until it is scraped and the final scrape is a few
seconds old, then times ``Gate.evaluate`` end to end (run discovery, every query over HTTP,
judging): the seed's six checks, and 100 checks.

    .venv/bin/python bench/bench_gate.py --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import requests  # noqa: E402
from localstack import LocalStack  # noqa: E402
from promgate import Gate, PrometheusClient, load_thresholds, parse_config  # noqa: E402
from promgate.config.presets import PRESETS  # noqa: E402

BOUNDS = [0.001 * i for i in range(1, 100)] + [0.01 * i for i in range(10, 100)] + [1.0, 2.0, 5.0]


def exposition(endpoints: int, start: float, end: float) -> str:
    fam: dict[str, list[str]] = {}
    for i in range(endpoints):
        lab = f'method="GET",name="/e{i}"'
        reqs, fails = 1000 + i, 10 + i % 7
        fam.setdefault("locust_requests_total counter", []).append(
            f"locust_requests_total{{{lab}}} {reqs}"
        )
        fam.setdefault("locust_request_failures_total counter", []).append(
            f"locust_request_failures_total{{{lab}}} {fails}"
        )
        hist = fam.setdefault("locust_request_duration_seconds histogram", [])
        for le in BOUNDS:
            share = min(1.0, le / 0.1)
            hist.append(
                f'locust_request_duration_seconds_bucket{{{lab},le="{le:g}"}} {int(reqs * share)}'
            )
        hist.append(f'locust_request_duration_seconds_bucket{{{lab},le="+Inf"}} {reqs}')
        hist.append(f"locust_request_duration_seconds_sum{{{lab}}} {reqs * 0.05}")
        hist.append(f"locust_request_duration_seconds_count{{{lab}}} {reqs}")
        pct = "locust_response_time_percentile_seconds"
        quant = fam.setdefault(f"{pct} gauge", [])
        for q in (0.5, 0.95, 0.99):
            quant.append(f'{pct}{{{lab},percentile="{q}"}} {q / 10}')
    fam["locust_run_response_time_percentile_seconds gauge"] = [
        f'locust_run_response_time_percentile_seconds{{percentile="{q}"}} {q / 10}'
        for q in (0.5, 0.9, 0.95, 0.99)
    ]
    for name, value in (
        ("locust_run_start_timestamp_seconds", start),
        ("locust_run_last_request_timestamp_seconds", end - 0.5),
        ("locust_run_end_timestamp_seconds", end),
    ):
        fam[f"{name} gauge"] = [f"{name} {value}"]
    fam["locust_users gauge"] = ['locust_users{user_class="U"} 0']
    fam["locust_loadgen_cpu_percent gauge"] = ['locust_loadgen_cpu_percent{worker="local"} 42']
    lines: list[str] = []
    for key, samples in fam.items():
        lines.append(f"# TYPE {key}")
        lines += samples
    return "\n".join(lines) + "\n"


def hundred_checks() -> str:
    names = sorted(p for p in PRESETS if not p.startswith("host_"))
    body = ["checks:"]
    for i in range(100):
        preset = names[i % len(names)]
        body += [
            f"  - name: c{i:03d}_{preset}",
            f"    preset: {preset}",
            "    warning: '> 1e9'",
            "    no_data: warn",
        ]
    return "\n".join(body) + "\n"


def timed(gate: Gate, run_id: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        gate.evaluate(run_id)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--endpoints", type=int, default=20)
    args = parser.parse_args()
    with LocalStack(scrape_interval="1s") as stack:
        run_id = "bench-gate"
        end = time.time()
        url = f"{stack.pushgateway_url}/metrics/job/locust/run_id/{run_id}"
        resp = requests.put(url, data=exposition(args.endpoints, end - 60, end), timeout=10)
        if not resp.ok:
            raise SystemExit(f"push failed: {resp.status_code} {resp.text}")
        stack.wait_for_scrape()
        stack.wait_for_scrape()
        time.sleep(2.5)  # let the final scrape age past one interval: no waiting inside the gate
        client = PrometheusClient(stack.prometheus_url)
        seed = Gate(load_thresholds(ROOT / "examples" / "performance_thresholds.json"), client)
        many = Gate(parse_config(hundred_checks(), "hundred.yaml"), client)
        for name, gate, budget in (("seed's 6 checks", seed, 1.0), ("100 checks", many, 3.0)):
            times = timed(gate, run_id, args.repeat)
            print(
                f"{name:16s} median {statistics.median(times) * 1000:7.1f} ms   "
                f"max {max(times) * 1000:7.1f} ms   budget {budget * 1000:.0f} ms   "
                f"({len(gate.config.checks)} checks + 10 summary queries, "
                f"{args.repeat} runs)"
            )
            if max(times) > budget:
                print(f"  over budget: {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How soon ``promgate run`` stops a load test that has already failed; is anything lost?

The issue's scenario: a real Locust run (``-t 150s``; local, or master + workers) under
``promgate run`` with an error-rate check ``abort: {for: 10s}`` at the default ``--interval 10``,
against the demo API, which answers 500 to everything from ``--fail-after`` seconds after the run
appears in Prometheus. Prints the seconds from the first failure to the abort and to Locust's end,
and the requests in Prometheus against the demo API's own count.

    .venv/bin/python bench/bench_live_abort.py --scrape-interval 1s
    .venv/bin/python bench/bench_live_abort.py --scrape-interval 15s --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "deploy" / "local")]

from localstack import LocalStack, free_port, terminate  # noqa: E402
from promgate.cli import run  # noqa: E402
from support import LOCUSTFILE, DemoApi, new_run_id, wait_until  # noqa: E402

CONFIG = """
checks:
  - name: error_rate
    preset: error_rate
    unit: percent
    critical: "> 5%"
    abort: {for: 10s}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scrape-interval", default="1s")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--fail-after", type=float, default=25.0)
    parser.add_argument("--interval", default="10")
    args = parser.parse_args()
    scrape = float(args.scrape_interval.rstrip("s"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-abort-"))
    api = DemoApi(latency_ms=2, jitter_ms=3, error_rate=0.0, seed=1)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with LocalStack(
            tmp / "stack", scrape_interval=args.scrape_interval, targets={"demo_api": [api.target]}
        ) as stack:
            run_id = new_run_id("bench-abort")
            fail_from: list[float] = []

            def arm() -> None:
                start = f'locust_run_start_timestamp_seconds{{run_id="{run_id}"}}'
                wait_until(lambda: stack.query(start), 120, f"run {run_id} in Prometheus")
                fail_from.append(time.time() + args.fail_after)
                api.configure(fail_from=fail_from[0])

            threading.Thread(target=arm, daemon=True).start()
            command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
            command += ["-u", "10", "-r", "10", "-t", "150s", "--host", api.url]
            command += ["--stop-timeout", "5", "--only-summary"]
            command += ["--prometheus-pushgateway", stack.pushgateway_url]
            # linger: at least one scrape interval, so the final push is scraped before deletion
            command += ["--prometheus-linger", str(max(2.0, 1.5 * scrape))]
            if args.workers:
                port = free_port()
                command += ["--master", "--master-bind-host", "127.0.0.1"]
                command += ["--master-bind-port", str(port), "--expect-workers", str(args.workers)]
                worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"]
                worker += ["--master-host", "127.0.0.1", "--master-port", str(port)]
                workers = [
                    subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for _ in range(args.workers)
                ]
            cfg = tmp / "gate.yaml"
            cfg.write_text(CONFIG, encoding="utf-8")
            out = tmp / "result.json"
            began = time.time()
            argv = ["run", "--config", str(cfg), "--prometheus", stack.prometheus_url]
            argv += ["--run-id", run_id, "--interval", args.interval, "--json", str(out)]
            code = run([*argv, "--", *command])
            wall = time.time() - began
            doc = json.loads(out.read_text())
            served = sum(r for r, _ in api.totals().values())
    finally:
        for proc in workers:
            terminate(proc)
        api.stop()
    aborted = doc["aborted"] or {}
    print(
        json.dumps(
            {
                "scrape_interval": args.scrape_interval,
                "workers": args.workers,
                "exit_code": code,
                "aborted_check": aborted.get("check"),
                "abort_after_failures_s": round(aborted["at"] - fail_from[0], 1)
                if aborted
                else None,
                "locust_end_after_failures_s": round(doc["run"]["end"] - fail_from[0], 1),
                "promgate_wall_s": round(wall, 1),
                "requests_in_prometheus": doc["summary"]["requests"],
                "requests_served": served,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

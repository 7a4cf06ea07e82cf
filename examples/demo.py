"""``make demo``: promgate's main job end to end on this machine, no Docker.

Starts the local stack (real Prometheus + Pushgateway), the demo API, a Locust run with the
exporter on while showing live progress read back from Prometheus, then ``promgate check`` with
``examples/gate.yaml``, and writes the reports. Exits with the gate's exit code.

    python examples/demo.py [--users 20] [--duration 60] [--workers 0] [--host URL] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_api import State, serve  # noqa: E402
from localstack import LocalStack, StackError, free_port, terminate  # noqa: E402
from promgate import queries  # noqa: E402

#: why a second demo's latency differs from the first's on an unchanged system
BUSY_NOTE = (
    "latency moves with whatever else runs on this machine: median_regression only warns past "
    "+50 % (examples/gate.yaml); in CI, latency_regression with --baseline-history judges "
    "against several runs (docs/gate.md)"
)


def previous_port(result: Path) -> int:
    """The demo API's port in the previous demo's result file, 0 when there is none. The host is
    part of a run's load profile: on a new port every time, each demo run's baseline would be
    flagged as another load (``comparable``), which it is not."""
    try:
        host = json.loads(result.read_text(encoding="utf-8"))["profile"]["host"]
        url = urllib.parse.urlsplit(host)
        return url.port if url.hostname == "127.0.0.1" and url.port else 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def locust_exit_text(code: int | None) -> str:
    """Locust's exit code, explained: it exits 1 when any request failed, which the demo API
    makes happen on purpose, so a healthy demo still sees 1 (the gate decides, not Locust)."""
    if code == 1:
        return (
            "Locust exited with 1 (Locust's code when any request failed; the demo API fails "
            "~1 % on purpose, the gate judges the rate)"
        )
    return f"Locust exited with {code}"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("DEMO_USERS", 20)))
    parser.add_argument(
        "--duration", type=int, default=int(os.environ.get("DEMO_DURATION", 60)), help="seconds"
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("DEMO_WORKERS", 0)))
    parser.add_argument(
        "--host",
        default=os.environ.get("DEMO_HOST"),
        help="system under test (default: start the demo API on 127.0.0.1)",
    )
    parser.add_argument("--error-rate", type=float, default=0.01, help="demo API's injected errors")
    parser.add_argument("--latency-ms", type=float, default=8, help="demo API's base latency")
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "gate.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    parser.add_argument(
        "--keep", action="store_true", help="keep Prometheus running after the gate, until Ctrl-C"
    )
    parser.add_argument(
        "--sink",
        choices=("pushgateway", "remote-write"),
        default=os.environ.get("DEMO_SINK", "pushgateway"),
        help="how the exporter delivers: push to the Pushgateway Prometheus scrapes (default), "
        "or remote write into Prometheus's receiver",
    )
    return parser.parse_args(argv)


def _sink_args(args: argparse.Namespace, stack: LocalStack) -> list[str]:
    if args.sink == "remote-write":
        # Series end with staleness markers at the end: nothing to linger for.
        return ["--prometheus-remote-write", stack.remote_write_url]
    # The stack scrapes every second: a short linger is enough before the group is deleted.
    return ["--prometheus-pushgateway", stack.pushgateway_url, "--prometheus-linger", "3"]


def _locust_cmd(
    args: argparse.Namespace, host: str, sink: list[str], run_id: str
) -> list[list[str]]:
    base = [sys.executable, "-m", "locust", "-f", str(ROOT / "examples" / "locustfile.py")]
    exporter = [
        *sink,
        "--prometheus-run-id",
        run_id,
        "--prometheus-push-interval",
        "2",
        "--prometheus-testplan",
        "demo",
        "--prometheus-environment",
        "local",
    ]
    master = [
        *base,
        "--host",
        host,
        "--headless",
        "--only-summary",
        "-u",
        str(args.users),
        "-r",
        str(max(1, args.users // 5)),
        "-t",
        f"{args.duration}s",
        "--stop-timeout",
        "5",
        "--html",
        str(args.out / "locust.html"),
        *exporter,
    ]
    if not args.workers:
        return [master]
    port = str(free_port())
    cmds = [
        [
            *master,
            "--master",
            "--master-bind-host=127.0.0.1",
            f"--master-bind-port={port}",
            f"--expect-workers={args.workers}",
        ]
    ]
    worker = [*base, "--worker", "--master-host=127.0.0.1", f"--master-port={port}"]
    return cmds + [worker] * args.workers


def _value(stack: LocalStack, expr: str) -> float | None:
    try:
        result = stack.query(expr)
    except Exception:
        return None  # live progress is best effort; the gate judges later
    if not result:
        return None
    return float(result[0]["value"][1])  # type: ignore[index]


def _progress(stack: LocalStack, run_id: str, started: float) -> str:
    sel = f'job="locust", run_id="{run_id}"'
    users = _value(stack, queries.users(sel))
    # Locust's own live figures (its web UI's current RPS and p95), as last pushed.
    rps = _value(stack, queries.live_requests_per_second(sel))
    fails = _value(stack, queries.failures_total(sel, "1h"))
    p95 = _value(stack, queries.live_percentile(0.95, sel))

    def fmt(v: float | None, spec: str) -> str:
        width = int(spec.split(".")[0] or 0)  # "7.1f" -> 7: a dash keeps the column
        return "–".rjust(width) if v is None or v != v else format(v, spec)

    return (
        f"  {time.time() - started:5.0f}s  users {fmt(users, '.0f'):>4}  RPS {fmt(rps, '7.1f')}"
        f"  failures {fmt(fails, '.0f'):>5}"
        f"  p95 {fmt(None if p95 is None else p95 * 1000, '.0f')} ms"
    )


def _print_totals(stack: LocalStack, run_id: str) -> None:
    """The run's totals per endpoint, read back from Prometheus (what the gate will judge)."""
    sel = f'job="locust", run_id="{run_id}"'
    table = queries.endpoint_table(sel, "1h")
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for column in ("requests", "failures", "p95"):
        for item in stack.query(table[column]):
            labels = item["metric"]
            key = (labels.get("method", ""), labels.get("name", ""))  # type: ignore[union-attr]
            rows.setdefault(key, {})[column] = float(item["value"][1])  # type: ignore[index]
    print("\nTotals in Prometheus:")
    print(f"  {'method':<7} {'name':<22} {'requests':>9} {'failures':>9} {'p95 ms':>7}")
    for (method, name), row in sorted(rows.items()):
        print(
            f"  {method:<7} {name:<22} {row.get('requests', 0):>9.0f}"
            f" {row.get('failures', 0):>9.0f} {row.get('p95', float('nan')) * 1000:>7.0f}"
        )


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # SIGTERM (timeout(1), a CI cancel) unwinds like Ctrl-C: the finally below stops Locust,
    # Prometheus and the Pushgateway instead of leaving them running.
    signal.signal(signal.SIGTERM, _terminated)
    procs: list[subprocess.Popen[bytes]] = []
    # The previous demo's result is this run's baseline (a first run has none: the relative
    # check is skipped, see examples/gate.yaml), so a newcomer's healthy first run passes.
    baseline = args.out.parent / f"{args.out.name}-previous-result.json"
    if (args.out / "result.json").exists():
        shutil.copyfile(args.out / "result.json", baseline)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    run_id = f"demo-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    server = None
    targets: dict[str, list[str]] = {}
    host = args.host
    if host is None:
        state = State(args.latency_ms, args.latency_ms, args.error_rate, seed=None)
        try:
            server = serve("127.0.0.1", previous_port(baseline), state)
        except OSError:  # taken meanwhile: a new port (the gate then notes the other host)
            server = serve("127.0.0.1", 0, state)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"http://127.0.0.1:{server.server_address[1]}"
        targets["demo_api"] = [f"127.0.0.1:{server.server_address[1]}"]
    try:
        stack = LocalStack(args.out / "stack", scrape_interval="1s", targets=targets).start()
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 3
    try:
        print(f"promgate demo: run id {run_id}")
        print(f"  Prometheus   {stack.prometheus_url}/graph")
        if args.sink == "remote-write":
            print(f"  remote write {stack.remote_write_url} (Prometheus's receiver)")
        else:
            print(f"  Pushgateway  {stack.pushgateway_url}")
        print(f"  target       {host}")
        print(f"Locust: {args.users} users for {args.duration}s, workers: {args.workers or 'none'}")
        started = time.time()
        logs = [open(args.out / f"locust-{i}.log", "w") for i in range(args.workers + 1)]  # noqa: SIM115
        procs += [
            subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=args.out)
            for cmd, log in zip(
                _locust_cmd(args, host, _sink_args(args, stack), run_id), logs, strict=True
            )
        ]
        while procs[0].poll() is None:
            print(_progress(stack, run_id, started), flush=True)
            time.sleep(3)
        for proc in procs[1:]:
            proc.wait(timeout=30)
        print(f"{locust_exit_text(procs[0].returncode)}; its summary: {args.out / 'locust-0.log'}")
        stack.wait_for_scrape()
        _print_totals(stack, run_id)
        gate = [
            str(Path(sys.executable).with_name("promgate")),
            "check",
            "--prometheus",
            stack.prometheus_url,
            "--run-id",
            run_id,
            "--config",
            str(args.config),
            "--json",
            str(args.out / "result.json"),
            "--junit",
            str(args.out / "junit.xml"),
            "--markdown",
            str(args.out / "summary.md"),
            "--html",
            str(args.out / "report.html"),
        ]
        shown = f"--run-id {run_id} --config {args.config}"
        if baseline.exists():
            gate += ["--baseline-file", str(baseline)]
            shown += f" --baseline-file {baseline}"
            print(f"\nbaseline: the previous demo run's result ({baseline})")
            print(f"  {BUSY_NOTE}")
        else:
            print("\nbaseline: none yet (first demo run): relative checks are skipped")
        print(f"\n$ promgate check {shown}")
        code = subprocess.call(gate)
        print(f"\nReports in {args.out}: report.html, result.json, junit.xml, summary.md")
        graph, where = f"{stack.prometheus_url}/graph", f'run_id="{run_id}"'
        if args.keep:
            print(f"Explore {where} in Prometheus at {graph}")
        else:
            print(f"Prometheus stops now (add --keep to explore {where} at {graph}).")
        print("With docker compose (deploy/docker-compose.yml), Grafana shows it on :3000.")
        print(f"promgate exit code: {code}")
        if args.keep:
            print("Prometheus stays up; Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)
        return code
    finally:
        for proc in procs:
            terminate(proc)
        stack.stop()
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())

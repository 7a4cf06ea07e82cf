"""Shared helpers for the integration tests: the demo API process and real Locust runs."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from localstack import free_port, terminate, wait_until

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LOCUSTFILE = EXAMPLES / "locustfile.py"
#: A locustfile with the exporter and no network: its requests are events, so the only I/O of
#: the run is the exporter's (for tests of pushing, TLS and shutdown).
SYNTHETIC_LOCUSTFILE = """
import time
import locust_prometheus  # noqa: F401
from locust import User, constant, task

class Synthetic(User):
    # No network: the requests are events, so the only I/O of the run is the exporter's.
    wait_time = constant(0.1)

    @task
    def fire(self):
        self.environment.events.request.fire(
            request_type="GET", name="/synthetic", response_time=3, response_length=10,
            exception=None, context={}, start_time=time.time(), url=None, response=None,
        )
"""

__all__ = [
    "EXAMPLES",
    "LOCUSTFILE",
    "PASSING_GATE",
    "ROOT",
    "DemoApi",
    "LocustRun",
    "has_data",
    "new_run_id",
    "start_locust",
    "wait_until",
]


def new_run_id(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def has_data(result: list[dict[str, Any]]) -> bool:
    """Whether a query's result (instant or range) holds a finite value anywhere."""
    for series in result:
        points = series.get("values") or [series.get("value")]
        if any(p and p[1] not in ("NaN", "+Inf", "-Inf") for p in points):
            return True
    return False


class DemoApi:
    """The demo system under test as a child process (ground truth for request counts)."""

    def __init__(self, **config: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, str(EXAMPLES / "demo_api.py"), "--port", str(self.port)]
        for key, value in config.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: requests.get(f"{self.url}/health", timeout=1).ok, 20, "the demo API")
        self.reset()  # the readiness probe itself was counted

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset(self) -> None:
        requests.post(f"{self.url}/__reset", timeout=5).raise_for_status()

    def configure(self, **config: Any) -> dict[str, Any]:
        resp = requests.post(f"{self.url}/__config", json=config, timeout=5)
        resp.raise_for_status()
        return dict(resp.json())

    def counts(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/__counts", timeout=5).json())

    def totals(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(method, route) -> (requests, failures as status >= 400)."""
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for row in self.counts():
            key = (row["method"], row["route"])
            reqs, fails = out.get(key, (0, 0))
            out[key] = (reqs + row["count"], fails + (row["count"] if row["status"] >= 400 else 0))
        return out

    def stop(self) -> None:
        terminate(self.proc, timeout=10)


@dataclass
class LocustRun:
    """A real Locust run (local, or a master with workers) started by ``start_locust``."""

    run_id: str
    csv_prefix: Path
    procs: list[subprocess.Popen[str]]
    logs: list[Path]
    returncode: int | None = None
    output: str = ""
    started: float = field(default_factory=time.time)

    @property
    def master(self) -> subprocess.Popen[str]:
        return self.procs[0]

    def wait(self, timeout: float = 180) -> LocustRun:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.returncode = self.master.returncode
        self.output = "\n".join(log.read_text(errors="replace") for log in self.logs)
        return self

    def summary(self) -> dict[tuple[str, str], Any]:
        """Locust's own final statistics, as its end-of-run summary prints them.

        Read from ``--json-file`` (written at shutdown), rebuilt into Locust's own ``StatsEntry``
        objects so percentiles, averages and RPS are computed by Locust's code. Keys are
        ``(method, name)``; the ``Aggregated`` row is under ``("", "Aggregated")``.
        Prefer this to ``stats_rows()``: Locust rewrites its CSV once a second and not at
        shutdown, so the CSV can miss the last second of a run.
        """
        import json

        from locust.stats import RequestStats, StatsEntry

        data = json.loads(Path(f"{self.csv_prefix}.json").read_text())
        stats = RequestStats()
        entries: dict[tuple[str, str], Any] = {}
        for row in data:
            row["response_times"] = {int(k): v for k, v in row["response_times"].items()}
            row["num_reqs_per_sec"] = {int(k): v for k, v in row["num_reqs_per_sec"].items()}
            row["num_fail_per_sec"] = {int(k): v for k, v in row["num_fail_per_sec"].items()}
            entry = StatsEntry.unserialize(row, stats)
            stats.entries[(entry.name, entry.method)] = entry
            stats.total.extend(entry)
            entries[(entry.method, entry.name)] = entry
        entries[("", "Aggregated")] = stats.total
        return entries

    def locust_figures(self) -> dict[str, Any]:
        """Locust's own Aggregated figures at quit (total_rps, start_time, ...), written by
        ``tests/locust_truth.py`` from Locust's live statistics."""
        import json

        return dict(json.loads(Path(f"{self.csv_prefix}_truth.json").read_text()))

    def stats_rows(self) -> list[dict[str, str]]:
        """Locust's CSV summary (``--csv``), one dict per row including ``Aggregated``.

        Written by Locust once a second, not at shutdown: see ``summary()``.
        """
        with open(f"{self.csv_prefix}_stats.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    def failures_rows(self) -> list[dict[str, str]]:
        with open(f"{self.csv_prefix}_failures.csv", newline="") as fh:
            return list(csv.DictReader(fh))


def _default_sigint() -> None:
    """Run in each Locust child before exec. A background job of a non-interactive shell (how
    CI often starts the suite) ignores SIGINT and its children inherit that, so Python gives
    them no KeyboardInterrupt and a test's SIGINT to Locust is lost: Locust runs on to -t."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_locust(
    host: str,
    *,
    pushgateway: str | None,
    run_id: str | None = None,
    locustfile: Path = LOCUSTFILE,
    users: int = 10,
    spawn_rate: float = 10,
    run_time: str = "8s",
    workers: int = 0,
    push_interval: float = 1,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
    remote_write: str | None = None,
) -> LocustRun:
    """Start a headless Locust run with the exporter on; ``workers`` > 0 runs master + workers.
    ``remote_write``: the exporter writes there instead of to ``pushgateway``."""
    run_id = run_id if run_id is not None else new_run_id()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="promgate-locust-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_prefix = workdir / "run"
    truth = Path(__file__).with_name("locust_truth.py")
    base = [sys.executable, "-m", "locust", "-f", f"{locustfile},{truth}"]
    common = ["--host", host]
    exporter = []
    sink = ["--prometheus-remote-write", remote_write] if remote_write else []
    if pushgateway is not None and not remote_write:
        sink = ["--prometheus-pushgateway", pushgateway]
    if sink:
        exporter = [
            *sink,
            "--prometheus-run-id",
            run_id,
            "--prometheus-push-interval",
            str(push_interval),
        ]
    master_args = [
        "--headless",
        "-u",
        str(users),
        "-r",
        str(spawn_rate),
        "-t",
        run_time,
        "--csv",
        str(csv_prefix),
        "--json-file",
        str(csv_prefix),
        "--stop-timeout",
        "5",
        "--only-summary",
        *exporter,
        *(extra or []),
    ]
    child_env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PROMGATE_TEST_TRUTH": f"{csv_prefix}_truth.json",
        **(env or {}),
    }
    procs: list[subprocess.Popen[str]] = []
    logs: list[Path] = []

    def spawn(args: list[str], name: str) -> None:
        log = workdir / f"{name}.log"
        logs.append(log)
        procs.append(
            subprocess.Popen(
                base + args,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                text=True,
                env=child_env,
                cwd=workdir,
                preexec_fn=_default_sigint,
            )
        )

    if workers:
        port = free_port()
        spawn(
            [
                *common,
                *master_args,
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
                "--expect-workers",
                str(workers),
            ],
            "master",
        )
        for i in range(workers):
            spawn(
                [*common, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                f"worker{i}",
            )
    else:
        spawn([*common, *master_args], "local")
    return LocustRun(run_id=run_id, csv_prefix=csv_prefix, procs=procs, logs=logs)


#: A gate config every finished run passes. Tests that push a verdict for the shared
#: ``completed_run`` use it: a pushed fail would make that run no baseline for the other tests of
#: its unit (a failed run never becomes a baseline, docs/gate.md).
PASSING_GATE = "checks:\n  - {name: requests, preset: requests_total, critical: '< 1'}\n"

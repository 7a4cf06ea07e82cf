"""VictoriaMetrics (single node, Debian's ``victoria-metrics``) beside the local stack.

The second engine every query is tested on: it takes remote write on ``write_url`` and, when
given a Pushgateway, scrapes it like the local stack's Prometheus (``honor_labels: true``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import yaml
from localstack import StackError, free_port, terminate, wait_until

__all__ = ["VictoriaMetrics"]

#: Debian's package names the binary ``victoria-metrics``; upstream's is ``victoria-metrics-prod``.
BINARIES = ("victoria-metrics", "victoria-metrics-prod", "victoriametrics")


class VictoriaMetrics:
    """A VictoriaMetrics process on a free loopback port; a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        pushgateway: str | None = None,
        scrape_interval: str = "1s",
        latency_offset: str = "1s",
        port: int | None = None,
        targets: dict[str, list[str]] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        #: other scrape jobs, as the local stack's ``targets`` (the demo API)
        self.targets = dict(targets or {})
        self.pushgateway = pushgateway
        self.scrape_interval = scrape_interval
        #: VictoriaMetrics hides the newest samples from queries for this long (its
        #: -search.latencyOffset, 30 s by default): the ingestion delay the gate waits out.
        self.latency_offset = latency_offset
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def _scrape_config(self) -> Path:
        path = self.workdir / "scrape.yml"
        jobs: list[dict[str, Any]] = []
        if self.pushgateway:
            host = self.pushgateway.split("://", 1)[-1]
            jobs.append(
                {"job_name": "pushgateway", "honor_labels": True,
                 "static_configs": [{"targets": [host]}]}
            )  # fmt: skip
        jobs += [{"job_name": job, "static_configs": [{"targets": hosts}]}
                 for job, hosts in self.targets.items()]  # fmt: skip
        config = {"global": {"scrape_interval": self.scrape_interval}, "scrape_configs": jobs}
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self) -> VictoriaMetrics:
        binary = next((b for b in map(shutil.which, BINARIES) if b), None)
        if binary is None:
            raise StackError(
                "local stack: victoria-metrics not found "
                "(install it: apt-get install -y victoria-metrics, or run `make setup`)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "victoria-metrics.log", "ab")  # noqa: SIM115 - the child's
        self._proc = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'data'}",
                f"-promscrape.config={self._scrape_config()}",
                f"-search.latencyOffset={self.latency_offset}",
                "-retentionPeriod=1y",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(self._ready, 60, f"VictoriaMetrics on {self.url}")
        except TimeoutError as exc:
            self.stop()
            raise StackError(
                f"local stack: VictoriaMetrics did not start: {exc} (see {log.name})"
            ) from exc
        return self

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise StackError(f"VictoriaMetrics exited with {self._proc.returncode}")
        return requests.get(f"{self.url}/health", timeout=1).status_code == 200

    def stop(self, *, kill: bool = False) -> None:
        if kill and self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        terminate(self._proc)
        self._proc = None

    def flush(self) -> None:
        """Make everything received so far searchable now (VictoriaMetrics batches its index)."""
        requests.get(f"{self.url}/internal/force_flush", timeout=10)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, object]]:
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = requests.get(f"{self.url}/api/v1/query", params=params, timeout=30).json()
        if body.get("status") != "success":
            raise StackError(f"query failed: {body.get('error')} ({expr})")
        return list(body["data"]["result"])

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1.0
    ) -> list[dict[str, object]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        body = requests.get(f"{self.url}/api/v1/query_range", params=params, timeout=30).json()
        if body.get("status") != "success":
            raise StackError(f"query failed: {body.get('error')} ({expr})")
        return list(body["data"]["result"])

    def __enter__(self) -> VictoriaMetrics:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""VictoriaMetrics (single node, Debian's ``victoria-metrics``) beside the local stack.

The second engine every query is tested on: it takes remote write on ``write_url`` and, when
given a Pushgateway, scrapes it like the local stack's Prometheus (``honor_labels: true``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import requests
import yaml
from server_process import QueryApi, Servers, find_binary, free_port, start_server, terminate

__all__ = ["VictoriaMetrics"]

#: Debian's package names the binary ``victoria-metrics``; upstream's is ``victoria-metrics-prod``.
BINARIES = ("victoria-metrics", "victoria-metrics-prod", "victoriametrics")


class VictoriaMetrics(Servers, QueryApi):
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

    api_url = url  # what QueryApi queries

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
        binary = find_binary(*BINARIES, packages="victoria-metrics")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._proc = start_server(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'data'}",
                f"-promscrape.config={self._scrape_config()}",
                f"-search.latencyOffset={self.latency_offset}",
                "-retentionPeriod=1y",
            ],
            what="VictoriaMetrics",
            url=self.url,
            ready_path="/health",
            log_path=self.workdir / "victoria-metrics.log",
            timeout=60,
        )
        return self

    def stop(self, *, kill: bool = False) -> None:
        terminate(self._proc, kill=kill)
        self._proc = None

    def flush(self) -> None:
        """Make everything received so far searchable now (VictoriaMetrics batches its index)."""
        requests.get(f"{self.url}/internal/force_flush", timeout=10)

"""The local stack: real Prometheus and Pushgateway processes on free loopback ports, no Docker.

Used by the tests and by ``make demo``. Its Prometheus config is built from docker compose's
``deploy/prometheus/prometheus.yml``: the same global settings, rule files and scrape jobs (the
Pushgateway with ``honor_labels: true``), with only the scrape/evaluation interval, the
Pushgateway's address and the other jobs' targets made local (see ``LocalStack.config``).

    python deploy/local/localstack.py up --scrape-interval 1s --target demo=127.0.0.1:8080
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
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import yaml
from server_process import (
    QueryApi,
    Servers,
    StackError,
    find_binary,
    free_port,
    start_server,
    terminate,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
#: docker compose's Prometheus config: the local stack's config is derived from it.
COMPOSE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
#: Where docker compose mounts RULES_DIR in the Prometheus container (deploy/docker-compose.yml).
COMPOSE_RULES_DIR = "/etc/prometheus/rules"
#: The scrape job of the Pushgateway in COMPOSE_CONFIG.
PUSHGATEWAY_JOB = "pushgateway"
#: What find_binary tells to install when a binary is missing.
_PACKAGES = "prometheus prometheus-pushgateway"

__all__ = ["LocalStack", "StackError", "free_port", "terminate", "wait_until"]


class LocalStack(Servers, QueryApi):
    """Prometheus + Pushgateway as child processes; a context manager.

    ``targets`` maps extra scrape job names to ``host:port`` lists (the demo API, node-exporter).
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        scrape_interval: str = "1s",
        targets: dict[str, list[str]] | None = None,
        rules_dir: Path | None = RULES_DIR,
        prometheus_port: int | None = None,
        pushgateway_port: int | None = None,
    ) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="promgate-stack-"))
        self.scrape_interval = scrape_interval
        self.targets = dict(targets or {})
        self.rules_dir = rules_dir
        self.prometheus_port = prometheus_port or free_port()
        self.pushgateway_port = pushgateway_port or free_port()
        self._prometheus: subprocess.Popen[bytes] | None = None
        self._pushgateway: subprocess.Popen[bytes] | None = None

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    api_url = prometheus_url  # what QueryApi (query, query_range) queries

    @property
    def remote_write_url(self) -> str:
        return f"{self.prometheus_url}/api/v1/write"

    @property
    def pushgateway_url(self) -> str:
        return f"http://127.0.0.1:{self.pushgateway_port}"

    # -- configuration ---------------------------------------------------------------------
    def config(self) -> dict[str, object]:
        """docker compose's ``prometheus.yml``, made local.

        Kept: every global setting, the rule files and the scrape jobs with their settings
        (``honor_labels`` and all). Replaced: the scrape and evaluation interval
        (``scrape_interval``), the rule files' container paths (this checkout's ``rules_dir``,
        without the ``*_test.yml`` promtool tests), the Pushgateway job's target (this stack's
        Pushgateway) and every other job's targets (``targets[job]``). A job with no entry in
        ``targets`` is dropped (nothing local to scrape, e.g. node-exporter); entries of
        ``targets`` that are not jobs of the compose config are added as plain jobs.
        """
        base = yaml.safe_load(COMPOSE_CONFIG.read_text()) or {}
        config: dict[str, object] = dict(base)
        config["global"] = {
            **(base.get("global") or {}),
            "scrape_interval": self.scrape_interval,
            "evaluation_interval": self.scrape_interval,
        }
        config["rule_files"] = self._rule_files(base.get("rule_files") or [])
        scrape_configs: list[dict[str, object]] = []
        for job in base.get("scrape_configs") or []:
            name = job["job_name"]
            if name == PUSHGATEWAY_JOB:
                hosts = [f"127.0.0.1:{self.pushgateway_port}"]
            elif name in self.targets:
                hosts = list(self.targets[name])
            else:
                continue
            local = dict(job)
            if "scrape_interval" in local:
                local["scrape_interval"] = self.scrape_interval
            local["static_configs"] = _local_static_configs(job.get("static_configs"), hosts)
            scrape_configs.append(local)
        known = {job["job_name"] for job in scrape_configs}
        for name, hosts in self.targets.items():
            if name not in known and name != PUSHGATEWAY_JOB:
                scrape_configs.append({"job_name": name, "static_configs": [{"targets": hosts}]})
        config["scrape_configs"] = scrape_configs
        return config

    def _rule_files(self, patterns: list[str]) -> list[str]:
        """The compose config's rule file globs, resolved in ``rules_dir`` to absolute paths."""
        if self.rules_dir is None:
            return []
        files: set[Path] = set()
        for pattern in patterns:
            if pattern.startswith(COMPOSE_RULES_DIR + "/"):
                files.update(self.rules_dir.glob(pattern[len(COMPOSE_RULES_DIR) + 1 :]))
            elif not Path(pattern).is_absolute():  # relative to the config file, as Prometheus
                files.update(COMPOSE_CONFIG.parent.glob(pattern))
            else:
                raise StackError(
                    f"local stack: rule_files entry {pattern!r} of {COMPOSE_CONFIG} is outside "
                    f"{COMPOSE_RULES_DIR}, which the local stack maps to {self.rules_dir}"
                )
        return sorted(str(p.resolve()) for p in files if not p.name.endswith("_test.yml"))

    def write_config(self) -> Path:
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return path

    # -- processes -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start_pushgateway()
        self.start_prometheus()
        # Prometheus hands new targets to its scrapers in batches every 5 s: until then nothing
        # is scraped, and a run started at once would lose its first seconds.
        wait_until(
            lambda: self._pushgateway_scraped(after=0.0),
            30,
            "Prometheus's first scrape of the Pushgateway",
        )
        return self

    def start_prometheus(self) -> None:
        """Start (or restart, on the same port and data) Prometheus. Its remote-write receiver
        is on, so the exporter's remote-write sink can write to ``remote_write_url``."""
        config = self.write_config()
        argv = [
            find_binary("prometheus", packages=_PACKAGES),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            "--web.enable-lifecycle",
            "--web.enable-admin-api",
            "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=30d",
        ]
        try:
            self._prometheus = start_server(
                argv,
                what="Prometheus",
                url=self.prometheus_url,
                ready_path="/-/ready",
                log_path=self.workdir / "prometheus.log",
                timeout=60,
            )
        except StackError:
            self.stop()
            raise

    def stop_prometheus(self, *, kill: bool = False) -> None:
        """Stop Prometheus (SIGKILL with ``kill``: an outage, not a shutdown)."""
        terminate(self._prometheus, kill=kill)
        self._prometheus = None

    def _pushgateway_scraped(self, after: float) -> bool:
        """Whether Prometheus's last scrape of the Pushgateway started after ``after`` and
        succeeded."""
        resp = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=5).json()
        for target in resp["data"]["activeTargets"]:
            if target["labels"].get("job") == PUSHGATEWAY_JOB:
                last = target.get("lastScrape", "")
                return bool(last) and _rfc3339(last) > after and target["health"] == "up"
        return False

    def start_pushgateway(self) -> None:
        """Start (or restart, on the same port) the Pushgateway."""
        argv = [
            find_binary("prometheus-pushgateway", packages=_PACKAGES),
            f"--web.listen-address=127.0.0.1:{self.pushgateway_port}",
            "--web.enable-admin-api",
            # Debian's build persists to one machine-wide file by default: every stack would
            # start with the groups of earlier ones.
            "--persistence.file=",
        ]
        self._pushgateway = start_server(
            argv,
            what="Pushgateway",
            url=self.pushgateway_url,
            ready_path="/-/ready",
            log_path=self.workdir / "pushgateway.log",
            timeout=30,
        )

    def stop_pushgateway(self) -> None:
        terminate(self._pushgateway)
        self._pushgateway = None

    def reload_prometheus(self) -> None:
        self.write_config()
        requests.post(f"{self.prometheus_url}/-/reload", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.stop_prometheus()
        self.stop_pushgateway()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- queries ---------------------------------------------------------------------------
    def wait_for_scrape(self, timeout: float = 30) -> None:
        """Wait until Prometheus has completed a scrape that started after this call."""
        started = time.time()
        wait_until(
            lambda: self._pushgateway_scraped(after=started), timeout, "a Pushgateway scrape"
        )


def _local_static_configs(
    static_configs: list[dict[str, Any]] | None, hosts: list[str]
) -> list[dict[str, Any]]:
    """One static config with the local ``hosts``, keeping the compose job's target labels."""
    labels: dict[str, str] = {}
    for entry in static_configs or []:
        labels.update(entry.get("labels") or {})
    local: dict[str, Any] = {"targets": hosts}
    if labels:
        local["labels"] = labels
    return [local]


def _rfc3339(text: str) -> float:
    from datetime import datetime

    # Prometheus prints nanoseconds; Python parses microseconds.
    head, _, rest = text.partition(".")
    frac = "".join(ch for ch in rest if ch.isdigit())[:6]
    tz = rest[len("".join(ch for ch in rest if ch.isdigit())) :] or "Z"
    tz = "+00:00" if tz == "Z" else tz
    return datetime.fromisoformat(f"{head}.{frac or '0'}{tz}").timestamp()


@contextlib.contextmanager
def running(**kwargs: object) -> Iterator[LocalStack]:
    with LocalStack(**kwargs) as stack:  # type: ignore[arg-type]
        yield stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localstack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Prometheus and Pushgateway and wait for Ctrl-C")
    up.add_argument("--scrape-interval", default="1s")
    up.add_argument("--dir", type=Path, default=None, help="data folder (default: a temp folder)")
    up.add_argument("--prometheus-port", type=int, default=None)
    up.add_argument("--pushgateway-port", type=int, default=None)
    up.add_argument("--target", action="append", default=[], metavar="JOB=HOST:PORT")
    up.add_argument("--env-file", type=Path, help="write PROMETHEUS_URL and PUSHGATEWAY_URL here")
    args = parser.parse_args(argv)
    targets: dict[str, list[str]] = {}
    for item in args.target:
        job, _, hostport = item.partition("=")
        targets.setdefault(job, []).append(hostport)
    stack = LocalStack(
        args.dir,
        scrape_interval=args.scrape_interval,
        targets=targets,
        prometheus_port=args.prometheus_port,
        pushgateway_port=args.pushgateway_port,
    )
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stack.start()
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 1
    info = {"PROMETHEUS_URL": stack.prometheus_url, "PUSHGATEWAY_URL": stack.pushgateway_url}
    if args.env_file:
        args.env_file.write_text("".join(f"{k}={v}\n" for k, v in info.items()))
    print(json.dumps(info), flush=True)
    try:
        while not stop:
            time.sleep(0.2)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

"""The compose healthchecks executed as compose would run them: the Python ones (demo API, Locust
master, Locust worker) against a real demo API and a real Locust master with a worker, the
wget ones of the prom/* images against the local stack's Prometheus and Pushgateway.

Without a Docker engine the commands run on this machine: only the service addresses are swapped
for the local processes' loopback ports. A worker's check must fail until the master lists that
worker, and pass once it does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from localstack import free_port, terminate
from support import LOCUSTFILE, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())["services"]


def _check(service: str, swap: dict[str, str]) -> int:
    """Exit code of ``service``'s healthcheck (exec form, ``python -c``) with addresses swapped."""
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    code = test[3]
    for old, new in swap.items():
        assert old in code, (service, old)
        code = code.replace(old, new)
    return subprocess.run([sys.executable, "-c", code], timeout=10, check=False).returncode


@pytest.fixture()
def master() -> Iterator[tuple[str, int, Path]]:
    """A Locust master (web UI and worker port on loopback), no workers yet."""
    web, bind = free_port(), free_port()
    logs = Path(tempfile.mkdtemp(prefix="promgate-health-"))
    args = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--master",
            "--web-host", "127.0.0.1", "--web-port", str(web),
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(bind)]  # fmt: skip
    with open(logs / "master.log", "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{web}"
        wait_until(lambda: requests.get(url, timeout=1).ok, 30, "the Locust master's web UI")
        yield url, bind, logs
    finally:
        terminate(proc, timeout=10)


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget not installed")
@pytest.mark.parametrize(
    ("service", "url"), [("prometheus", "prometheus_url"), ("pushgateway", "pushgateway_url")]
)
def test_prom_image_checks(stack: Any, service: str, url: str) -> None:
    """The busybox-wget checks of the prom/* services, run with this machine's wget (the flags
    mean the same) against the local stack's Prometheus and Pushgateway: the path answers."""
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "wget"], test
    (target,) = [arg for arg in test if arg.startswith("http://")]
    origin = "/".join(target.split("/")[:3])  # http://127.0.0.1:PORT
    run = [arg.replace(origin, getattr(stack, url)) for arg in test[1:]]
    assert subprocess.run(run, timeout=10, check=False).returncode == 0
    wrong = [arg.replace(origin, f"http://127.0.0.1:{free_port()}") for arg in test[1:]]
    assert subprocess.run(wrong, timeout=10, check=False).returncode != 0


def test_demo_api_check(demo_api: Any) -> None:
    assert _check("demo-api", {"127.0.0.1:8080": demo_api.target}) == 0
    assert _check("demo-api", {"127.0.0.1:8080": f"127.0.0.1:{free_port()}"}) != 0


def test_master_and_worker_checks(master: tuple[str, int, Path]) -> None:
    url, bind, logs = master
    host_port = url.removeprefix("http://")
    assert _check("locust-master", {"127.0.0.1:8089": host_port}) == 0
    worker_check = {"locust-master:8089": host_port}
    # No worker connected: this host's worker is not listed, so the check fails.
    assert _check("locust-worker", worker_check) == 1
    args = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
            "--master-host", "127.0.0.1", "--master-port", str(bind)]  # fmt: skip
    with open(logs / "worker.log", "w") as log:
        worker = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: _check("locust-worker", worker_check) == 0, 30, "the worker's check")
    finally:
        terminate(worker, timeout=10)

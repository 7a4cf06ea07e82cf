"""deploy/docker-compose.yml: valid, pinned, loopback-only, no default admin password."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKER_COMPOSE = shutil.which("docker-compose")


def _raw() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def _config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER_COMPOSE
    empty = tmp_path / "empty.env"
    empty.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GF_", "LOCUST_"))}
    return subprocess.run(
        # An empty env file: a developer's deploy/.env must not decide the result.
        [DOCKER_COMPOSE, "--env-file", str(empty), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=DEPLOY,
        env={**clean, **env},
        check=False,
    )


@pytest.mark.skipif(DOCKER_COMPOSE is None, reason="docker-compose not installed")
def test_docker_compose_config_is_valid_and_requires_the_password(tmp_path: Path) -> None:
    ok = _config(tmp_path, GF_ADMIN_PASSWORD="s3cret")
    assert ok.returncode == 0, ok.stderr
    rendered = yaml.safe_load(ok.stdout)
    assert rendered["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "s3cret"
    missing = _config(tmp_path)
    assert missing.returncode != 0
    assert "GF_ADMIN_PASSWORD" in missing.stderr


def test_services_images_ports_and_volumes() -> None:
    compose = _raw()
    services = compose["services"]
    assert {
        "prometheus",
        "pushgateway",
        "grafana",
        "node-exporter",
        "demo-api",
        "locust-master",
        "locust-worker",
    } <= set(services)
    for name, svc in services.items():
        image = svc.get("image", "")
        assert re.search(r":v?\d+\.\d+", image) or svc.get("build"), f"{name}: unpinned {image}"
        assert ":latest" not in image
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not loopback-only"
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: {source} is not a named volume"
    assert {"prometheus_data", "grafana_data"} <= set(compose["volumes"])
    password = services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GF_ADMIN_PASSWORD:?"), "the admin password has no default"


def test_mounted_host_paths_and_build_context_exist() -> None:
    for name, svc in _raw()["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
        build = svc.get("build")
        if build:
            context = DEPLOY / build["context"]
            assert (context / build["dockerfile"]).is_file(), name
            for line in (context / build["dockerfile"]).read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (context / src).exists(), f"{name}: COPY {src}"


def test_locust_runs_the_exporter_and_workers_scale() -> None:
    services = _raw()["services"]
    master = services["locust-master"]["command"]
    assert "--master" in master and "--prometheus-pushgateway" in master
    assert master[master.index("--prometheus-pushgateway") + 1] == "http://pushgateway:9091"
    worker = services["locust-worker"]
    assert "--worker" in worker["command"] and "replicas" in worker["deploy"]
    assert "pushgateway" not in " ".join(worker["command"])  # only the master pushes
    locustfile = master[master.index("-f") + 1]
    assert (ROOT / locustfile).is_file()
    assert "import locust_prometheus" in (ROOT / locustfile).read_text()


def test_env_example_lists_the_password() -> None:
    assert "GF_ADMIN_PASSWORD=" in (DEPLOY / ".env.example").read_text()

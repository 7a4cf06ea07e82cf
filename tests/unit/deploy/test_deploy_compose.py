"""deploy/docker-compose.yml: valid, pinned, loopback-only, no default admin password, a
healthcheck on every service; deploy/Dockerfile and the .dockerignore of its build context."""

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
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")
#: Exact release tags (or digests), never a moving tag such as "latest" or "13".
PINNED = re.compile(r"^[\w./-]+(:v?\d+\.\d+\.\d+|@sha256:[0-9a-f]{64})$")


def _raw() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def _default(text: str) -> str:
    """``${VAR:-default}`` as compose resolves it with VAR unset."""
    return _DEFAULTED.sub(lambda m: m.group(2), text)


def _config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` with only ``env`` set (no deploy/.env, no GF_/LOCUST_/PROMGATE_
    variables of the caller)."""
    assert DOCKER_COMPOSE
    empty = tmp_path / "empty.env"
    empty.write_text("")
    prefixes = ("GF_", "LOCUST", "PROMGATE_", "TARGET_HOST", "DEMO_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
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


@pytest.mark.skipif(DOCKER_COMPOSE is None, reason="docker-compose not installed")
def test_rendered_config_waits_on_health_and_takes_the_options(tmp_path: Path) -> None:
    """As compose renders it: every service has a healthcheck and every dependency waits for
    the dependency's health; the datasource is not Grafana's default unless asked; the
    locustfile is the mounted one, replaceable with LOCUSTFILE."""
    ok = _config(tmp_path, GF_ADMIN_PASSWORD="s3cret")
    assert ok.returncode == 0, ok.stderr
    services = yaml.safe_load(ok.stdout)["services"]
    for name, svc in services.items():
        assert svc["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        for dep, how in svc.get("depends_on", {}).items():
            assert how == {"condition": "service_healthy"}, (name, dep)
            assert "healthcheck" in services[dep]
    assert services["grafana"]["environment"]["PROMGATE_DATASOURCE_DEFAULT"] == "false"
    for locust in ("locust-master", "locust-worker"):
        (mount,) = services[locust]["volumes"]
        assert mount == f"{ROOT / 'examples/locustfile.py'}:/mnt/locust/locustfile.py:ro"
    mine = tmp_path / "my_locustfile.py"
    asked = _config(
        tmp_path, GF_ADMIN_PASSWORD="s", PROMGATE_DATASOURCE_DEFAULT="true", LOCUSTFILE=str(mine)
    )
    assert asked.returncode == 0, asked.stderr
    services = yaml.safe_load(asked.stdout)["services"]
    assert services["grafana"]["environment"]["PROMGATE_DATASOURCE_DEFAULT"] == "true"
    assert services["locust-worker"]["volumes"] == [f"{mine}:/mnt/locust/locustfile.py:ro"]


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
        assert svc.get("build") or PINNED.match(image), f"{name}: {image} is not an exact release"
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not loopback-only"
        for volume in svc.get("volumes", []):
            source = _default(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: {source} is not a named volume"
    assert {"prometheus_data", "grafana_data"} <= set(compose["volumes"])
    password = services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GF_ADMIN_PASSWORD:?"), "the admin password has no default"


def test_mounted_host_paths_and_build_context_exist() -> None:
    for name, svc in _raw()["services"].items():
        for volume in svc.get("volumes", []):
            source = _default(volume).split(":")[0]
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
    # The locustfile is mounted (not baked into the image): -f names the mount point.
    for svc in (services["locust-master"], worker):
        target = svc["command"][svc["command"].index("-f") + 1]
        (volume,) = svc["volumes"]
        source, mounted, _ = _default(volume).split(":")
        assert mounted == target
        locustfile = DEPLOY / source
        assert locustfile.is_file() and "import locust_prometheus" in locustfile.read_text()


def _image_tools(svc: dict[str, Any]) -> set[str]:
    """Programs a healthcheck may call in this service's image: busybox's wget in prom/*, curl
    (and busybox wget) in Grafana's, Python in the Locust image built from deploy/Dockerfile."""
    image = svc.get("image", "")
    if svc.get("build"):
        return {"python"}
    if image.startswith("prom/"):
        return {"wget"}
    if image.startswith("grafana/grafana:"):
        return {"curl", "wget"}
    return set()


def test_every_service_has_a_healthcheck_its_image_can_run() -> None:
    for name, svc in _raw()["services"].items():
        test = svc["healthcheck"]["test"]
        programs = (
            {word for word in re.findall(r"(?:^|\|\|)\s*(\w+)", test[1])}
            if test[0] == "CMD-SHELL"
            else {test[1]}
        )
        assert programs and programs <= _image_tools(svc), (name, test)
        assert "127.0.0.1" in " ".join(test) or name == "locust-worker", name
    worker = _raw()["services"]["locust-worker"]["healthcheck"]["test"]
    assert "http://locust-master:8089/stats/requests" in worker[-1]  # connected to the master


def test_dockerignore_keeps_the_build_context_small() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "out", "**/__pycache__", ".mypy_cache", ".ruff_cache"} <= ignored
    assert {".pytest_cache", ".hypothesis"} <= ignored
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    copied = [
        src
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for src in line.split()[1:-1]
    ]
    for src in copied:
        assert not any(src == i or src.startswith(i.rstrip("/") + "/") for i in ignored), src
    assert "locustfile" not in " ".join(copied)  # mounted by compose, not baked in


def test_env_example_lists_the_password() -> None:
    assert "GF_ADMIN_PASSWORD=" in (DEPLOY / ".env.example").read_text()

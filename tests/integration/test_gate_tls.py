"""The gate's TLS settings against a real Prometheus serving HTTPS (``--web.config.file``).

This machine sets REQUESTS_CA_BUNDLE, which requests lets override a session's ``verify``: these
tests would catch the gate silently ignoring ``ca_file`` or ``insecure_skip_verify``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from localstack import free_port, terminate, wait_until
from pki import Pki, make_pki
from promgate.cli import run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Pki]]:
    workdir = tmp_path_factory.mktemp("tls-prometheus")
    pki = make_pki(workdir)
    web = workdir / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
    )
    (workdir / "prometheus.yml").write_text("global:\n  scrape_interval: 1s\n")
    port = free_port()
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is installed by scripts/setup.sh"
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.config.file={web}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{url}/-/ready", verify=str(pki.ca), timeout=1).ok,
            30,
            "Prometheus over TLS",
        )
        yield url, pki
    finally:
        terminate(proc)


def _check(
    tmp_path: Path, url: str, tls: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    config = tmp_path / "gate.yaml"
    config.write_text(
        f"prometheus:\n  url: {url}\n  timeout: 5\n{tls}"
        "checks:\n  - name: p95\n    preset: p95\n    critical: '> 2s'\n"
    )
    code = run(["check", "--run-id", "no-such-run", "--config", str(config), "--wait-timeout", "0"])
    return code, capsys.readouterr().err


def test_ca_file_is_used(
    tls_prometheus: tuple[str, Pki], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, pki = tls_prometheus
    code, err = _check(tmp_path, url, f"  ca_file: {pki.ca}\n", capsys)
    assert code == 1, err  # reached Prometheus over TLS: the run is unknown
    assert "no-such-run" in err


def test_untrusted_certificate_is_a_prometheus_error(
    tls_prometheus: tuple[str, Pki], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = tls_prometheus
    code, err = _check(tmp_path, url, "", capsys)
    assert code == 3, err
    assert "TLS" in err and len([ln for ln in err.splitlines() if "error" in ln]) == 1


def test_insecure_skip_verify_is_used(
    tls_prometheus: tuple[str, Pki], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = tls_prometheus
    code, err = _check(tmp_path, url, "  insecure_skip_verify: true\n", capsys)
    assert code == 1, err

"""The gate and the dashboards on VictoriaMetrics: the same verdicts and values (within 1 %) as
on Prometheus, for examples/gate.yaml and every preset, with the run's data arriving by
Pushgateway scrape and by remote write; every dashboard target runs there without an error.

Both engines hold the same runs: VictoriaMetrics scrapes the session's Pushgateway beside its
Prometheus, and a small fan-out hands each remote-write request to both receivers.
"""

from __future__ import annotations

import http.server
import json
import math
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from localstack import LocalStack
from promgate.cli import run as promgate
from promgate.config.presets import PRESETS
from support import (
    EXAMPLES,
    PASSING_GATE,
    DemoApi,
    LocustRun,
    has_data,
    new_run_id,
    start_locust,
    wait_until,
)
from victoria import VictoriaMetrics

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

#: Every preset, with thresholds no run breaks (the values are what is compared); the
#: regression preset needs a baseline and node_exporter's host_cpu a target: both say why.
PRESETS_CONFIG = "checks:\n" + "".join(
    f'  - {{name: {name}, preset: {name}, critical: "> 1e12"'
    + (", t: 50ms" if "apdex" in name else "")  # Apdex needs its T
    + "}\n"
    for name in sorted(PRESETS)
    if name != "latency_regression"
)


class FanOut(http.server.BaseHTTPRequestHandler):
    """Hands each remote-write request to every receiver; answers with the worst status."""

    targets: tuple[str, ...] = ()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        codes = [requests.post(t, data=body, headers=headers, timeout=10).status_code
                 for t in self.targets]  # fmt: skip
        self.send_response(max(codes))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def engines(
    stack: LocalStack, demo_api: DemoApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalStack, VictoriaMetrics, dict[str, LocustRun]]]:
    """Both engines, and two finished runs held by both: one by Pushgateway scrape, one by
    remote write."""
    tmp = tmp_path_factory.mktemp("gate-vm")
    targets = {"demo_api": [demo_api.target]}
    with VictoriaMetrics(tmp / "vm", pushgateway=stack.pushgateway_url, targets=targets) as vm:
        wait_until(
            lambda: vm.query('up{job="pushgateway"} == 1'), 30, "VictoriaMetrics's first scrape"
        )
        handler = type("Fan", (FanOut,), {"targets": (stack.remote_write_url, vm.write_url)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        demo_api.configure(
            latency_ms=5, jitter_ms=20, error_rate=0.05, routes={"/courses": {"latency_ms": 60}}
        )
        try:
            fan = f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
            common = {"users": 6, "run_time": "10s"}
            pgw = start_locust(
                demo_api.url, pushgateway=stack.pushgateway_url, run_id=new_run_id("vm-pgw"),
                extra=["--prometheus-keep"], workdir=tmp / "pgw", **common,
            )  # fmt: skip
            # The remote-write run starts after it, on every machine: the Runs dashboard's
            # run_b variable (runs started before run_id) then finds this run on both engines,
            # not only other tests' earlier runs, which the stack's Prometheus alone has seen.
            started = f'locust_run_start_timestamp_seconds{{run_id="{pgw.run_id}"}}'
            wait_until(lambda: stack.query(started), 60, "the Pushgateway run's start")
            runs = {
                "pushgateway": pgw,
                "remote write": start_locust(
                    demo_api.url,
                    pushgateway=None,
                    remote_write=fan,
                    run_id=new_run_id("vm-rw"),
                    workdir=tmp / "rw",
                    **common,
                ),
            }
            for run in runs.values():
                assert run.wait(120).returncode in (0, 1), run.output
            # The gate's verdict for the remote-write run, written to both engines (the Runs
            # dashboard's verdict column): the stack's Prometheus also holds other tests' verdicts.
            config = tmp / "passing.yaml"
            config.write_text(PASSING_GATE)
            code = promgate(["check", "--prometheus", stack.prometheus_url, "--run-id",
                             runs["remote write"].run_id, "--config", str(config),
                             "--remote-write-results", fan, "--wait-timeout", "90"])  # fmt: skip
            assert code == 0
        finally:
            server.shutdown()
            server.server_close()
            demo_api.configure(latency_ms=2, jitter_ms=3, error_rate=0.0, routes={})
        yield stack, vm, runs


def gate(url: str, run_id: str, config: Path, out: Path) -> tuple[int, dict[str, Any]]:
    code = promgate(["check", "--prometheus", url, "--run-id", run_id, "--config", str(config),
                     "--json", str(out), "--wait-timeout", "90"])  # fmt: skip
    return code, json.loads(out.read_text())


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 0.01 * max(abs(a), abs(b)) or abs(a - b) < 1e-9


@pytest.mark.parametrize("sink", ["pushgateway", "remote write"])
@pytest.mark.parametrize("config_name", ["gate.yaml", "presets"])
def test_same_verdicts_and_values(
    engines: Any, tmp_path: Path, sink: str, config_name: str
) -> None:
    stack, vm, runs = engines
    config = EXAMPLES / "gate.yaml"
    if config_name == "presets":
        config = tmp_path / "presets.yaml"
        config.write_text(PRESETS_CONFIG)
    run_id = runs[sink].run_id
    results = {
        engine: gate(url, run_id, config, tmp_path / f"{engine}.json")
        for engine, url in (("prometheus", stack.prometheus_url), ("victoria", vm.url))
    }
    (p_code, p_doc), (v_code, v_doc) = results.values()
    assert p_code == v_code, (p_doc, v_doc)
    assert p_doc["verdict"] == v_doc["verdict"]
    p_checks = {c["name"]: c for c in p_doc["checks"]}
    v_checks = {c["name"]: c for c in v_doc["checks"]}
    assert set(p_checks) == set(v_checks)
    compared = 0
    for name, p in p_checks.items():
        v = v_checks[name]
        assert (p["verdict"], p.get("reason", "")) == (v["verdict"], v.get("reason", "")), name
        assert close(p["value"], v["value"]), (name, p["value"], v["value"])
        p_series = {json.dumps(s["labels"], sort_keys=True): s["value"] for s in p["series"]}
        v_series = {json.dumps(s["labels"], sort_keys=True): s["value"] for s in v["series"]}
        assert set(p_series) == set(v_series), name
        for key, value in p_series.items():
            assert close(value, v_series[key]), (name, key, value, v_series[key])
        compared += p["value"] is not None
    assert compared >= 5, p_checks  # the comparison compared real values


RECORDED = re.compile(r"\b[a-z_]+:[a-z_:]+\{")
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_every_dashboard_target_runs_on_victoria(engines: Any, path: Path) -> None:
    """Every target, variable query and annotation runs on VictoriaMetrics without an error,
    and returns data wherever it does on Prometheus."""
    pytest.importorskip("grafana_foundation_sdk")
    sys.path.insert(0, str(ROOT / "grafana"))
    from dashgen import lint

    stack, vm, runs = engines
    pgw, rw = runs["pushgateway"], runs["remote write"]
    start = min(run.started for run in runs.values()) - 5
    end = time.time()
    values = {
        "datasource": "promgate-prometheus", "job": "locust", "run_id": rw.run_id,
        "run_a": rw.run_id, "run_b": pgw.run_id, "endpoint": ".*", "quantile": "0.95",
        "sut_job": "demo_api", "__rate_interval": "4s", "__interval": "1s",
        "__range": f"{math.ceil(end - start) + 30}s",
    }  # fmt: skip
    checked, differ = 0, []
    for where, template, instant in lint.expressions(json.loads(path.read_text())):
        expr = lint.substitute(template, values)
        if instant:
            on_vm, on_prom = vm.query(expr, at=end), stack.query(expr, at=end)
        else:
            on_vm = vm.query_range(expr, start, end)
            on_prom = stack.query_range(expr, start, end)
        checked += 1
        # Recording rules' series (job_run_id:...) come from Prometheus's rule evaluation;
        # on VictoriaMetrics vmalert evaluates deploy/prometheus/rules (not started here).
        if has_data(on_prom) and not has_data(on_vm) and not RECORDED.search(expr):
            differ.append(f"{where}: {expr}")
    assert checked >= 10
    assert not differ, "data on Prometheus, none on VictoriaMetrics:\n" + "\n".join(differ)


class TenantPrefix(http.server.BaseHTTPRequestHandler):
    """A hosted API in front of VictoriaMetrics: its API under ``/select/0/prometheus`` (as a
    VictoriaMetrics cluster serves it) and only for requests with the tenant header."""

    upstream = ""
    seen: list[str] = []  # noqa: RUF012 - one server per test

    def do_GET(self) -> None:
        prefix = "/select/0/prometheus"
        TenantPrefix.seen.append(self.path)
        if self.headers.get("X-Scope-OrgID") != "team-a" or not self.path.startswith(prefix):
            self.send_response(401 if self.path.startswith(prefix) else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        resp = requests.get(self.upstream + self.path[len(prefix) :], timeout=30)
        self.send_response(resp.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)

    def log_message(self, *args: Any) -> None:
        pass


def test_gate_reaches_a_hosted_api(engines: Any, tmp_path: Path) -> None:
    """A path prefix (VictoriaMetrics cluster's /select/0/prometheus; single node's /prometheus,
    Mimir's) and a tenant header (config headers:) reach the same run with the same values."""
    stack, vm, runs = engines
    run_id = runs["remote write"].run_id
    handler = type("Hosted", (TenantPrefix,), {"upstream": vm.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hosted = f"http://127.0.0.1:{server.server_address[1]}/select/0/prometheus/"
        config = tmp_path / "hosted.yaml"
        config.write_text(
            PRESETS_CONFIG + "prometheus:\n  headers: {X-Scope-OrgID: team-a}\n", encoding="utf-8"
        )
        plain = tmp_path / "plain.yaml"
        plain.write_text(PRESETS_CONFIG, encoding="utf-8")
        results = [
            gate(stack.prometheus_url, run_id, plain, tmp_path / "prometheus.json"),
            gate(hosted, run_id, config, tmp_path / "hosted.json"),
            gate(f"{vm.url}/prometheus", run_id, plain, tmp_path / "prefix.json"),
        ]
        # Without the header the hosted API refuses: a Prometheus error, never a verdict.
        refused, _ = gate_code(hosted, run_id, plain, tmp_path / "refused.json")
    finally:
        server.shutdown()
        server.server_close()
    (p_code, p_doc), (h_code, h_doc), (x_code, x_doc) = results
    assert p_code == h_code == x_code == 0
    expected = {c["name"]: c["value"] for c in p_doc["checks"]}
    for doc in (h_doc, x_doc):
        got = {c["name"]: c["value"] for c in doc["checks"]}
        assert got.keys() == expected.keys()
        assert all(close(got[k], v) for k, v in expected.items()), (got, expected)
    assert all(p.startswith("/select/0/prometheus/api/v1/") for p in TenantPrefix.seen)
    assert refused == 3


def gate_code(url: str, run_id: str, config: Path, out: Path) -> tuple[int, Path]:
    code = promgate(["check", "--prometheus", url, "--run-id", run_id, "--config", str(config),
                     "--json", str(out), "--wait-timeout", "5"])  # fmt: skip
    return code, out


def test_ingestion_delay(stack: LocalStack, demo_api: DemoApi, tmp_path: Path) -> None:
    """VictoriaMetrics hiding its newest 8 s (-search.latencyOffset): judged at once after the
    run, the gate finds no run; with prometheus.ingestion_delay it judges like Prometheus."""
    with VictoriaMetrics(tmp_path / "vm", latency_offset="8s") as vm:
        handler = type("Fan", (FanOut,), {"targets": (stack.remote_write_url, vm.write_url)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            run = start_locust(
                demo_api.url, pushgateway=None, users=3, run_time="4s",
                remote_write=f"http://127.0.0.1:{server.server_address[1]}/api/v1/write",
                workdir=tmp_path / "run",
            ).wait(60)  # fmt: skip
        finally:
            server.shutdown()
            server.server_close()
        assert run.returncode == 0, run.output
        plain = tmp_path / "plain.yaml"
        plain.write_text(PRESETS_CONFIG, encoding="utf-8")
        too_early, _ = gate_code(vm.url, run.run_id, plain, tmp_path / "early.json")
        delayed = tmp_path / "delayed.yaml"
        delayed.write_text(PRESETS_CONFIG + "prometheus:\n  ingestion_delay: 10\n")
        v_code, v_doc = gate(vm.url, run.run_id, delayed, tmp_path / "vm.json")
        p_code, p_doc = gate(stack.prometheus_url, run.run_id, plain, tmp_path / "p.json")
    assert too_early == 1  # unknown run: not yet visible
    assert v_code == p_code == 0
    expected = {c["name"]: c["value"] for c in p_doc["checks"]}
    got = {c["name"]: c["value"] for c in v_doc["checks"]}
    assert all(close(got[k], v) for k, v in expected.items()), (got, expected)

"""Amazon Managed Service for Prometheus with nothing but a runner: the exporter and the gate
both sign with AWS SigV4, no proxy of the user's own. A verifying proxy stands in for the
workspace (tests/sigv4_verify.py: every signature recomputed with botocore, 403 when it does
not verify, as Amazon answers), in front of the local stack's real Prometheus: remote write to
its receiver, the query API to its API. A real Locust run writes there signed; a real
``promgate check`` process judges the run through the workspace URL and writes its verdict there
by remote write, signed; the same check unsigned is refused (exit 3). Fixed fake credentials,
loopback only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sigv4_verify as sv
from localstack import LocalStack
from support import DemoApi, new_run_id, start_locust, wait_until

pytestmark = pytest.mark.integration

pytest.importorskip("botocore", reason="SigV4 needs promgate[aws] (botocore)")

SECRETS = {sv.ACCESS_KEY: (sv.SECRET_KEY, sv.SESSION_TOKEN)}
CONFIG = """
prometheus:
  timeout: 10
  retries: 2
checks:
  - {name: errors, preset: error_rate, unit: percent, critical: "> 50%"}
  - {name: p95, preset: p95, critical: "> 5s"}
"""


def _gate(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """``promgate`` as its own process, seeing only the fake credentials."""
    env = {k: v for k, v in os.environ.items() if k not in sv.AWS_CHAIN_VARS}
    env = {**env, **sv.fake_credentials_env(str(tmp))}
    env.pop("PROMGATE_PROMETHEUS_SIGV4_REGION", None)
    return subprocess.run(
        [sys.executable, "-m", "promgate", *argv],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def test_a_signed_run_is_judged_and_its_verdict_written_through_the_workspace(
    stack: LocalStack, api: DemoApi, tmp_path: Path
) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with sv.verifying_server(
        SECRETS, upstream=stack.remote_write_url, api=stack.prometheus_url
    ) as workspace:
        run = start_locust(
            api.url, pushgateway=None, remote_write=workspace.url, users=3, run_time="5s",
            run_id=new_run_id("gate-sigv4"), extra=["--prometheus-sigv4-region", sv.REGION],
            env=sv.fake_credentials_env(str(tmp_path)), workdir=tmp_path / "run",
        ).wait(90)  # fmt: skip
        assert run.returncode == 0, run.output
        truth = api.totals()
        written = len(workspace.received)
        assert written >= 3 and not workspace.refused()  # the exporter's own signed writes
        out = tmp_path / "result.json"
        argv = ["check", "--prometheus", workspace.base, "--run-id", run.run_id,
                "--config", str(config), "--wait-timeout", "60"]  # fmt: skip
        signed = _gate(
            [*argv, "--prometheus-sigv4-region", sv.REGION, "--json", str(out),
             "--remote-write-results", workspace.url],
            tmp_path,
        )  # fmt: skip
        gate_requests = workspace.received[written:]
        unsigned = _gate(argv, tmp_path)
        refused = workspace.refused()
    assert signed.returncode == 0, signed.stdout + signed.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["verdict"] == "pass"
    # The figures came through the workspace from Prometheus: the run's exact totals.
    assert result["summary"]["requests"] == sum(r for r, _ in truth.values()) > 0
    methods = [r.method for r in gate_requests]
    assert methods.count("POST") == 1 and methods.count("GET") >= 5, methods
    assert all(r.problem == "" for r in gate_requests)
    sel = f'promgate_verdict{{job="promgate", run_id="{run.run_id}"}}'
    wait_until(lambda: stack.query(sel), 30, "the signed verdict in Prometheus")
    # Unsigned, the workspace refuses the first query: exit 3, one line, no verdict.
    assert unsigned.returncode == 3, unsigned.stdout + unsigned.stderr
    errors = [line for line in unsigned.stderr.splitlines() if line.startswith("promgate: error")]
    assert len(errors) == 1 and "refused access" in errors[0] and "HTTP 403" in errors[0], errors
    assert refused and all("no SigV4 Authorization header" in r.problem for r in refused)


def test_no_credentials_stop_the_gate_before_any_query(tmp_path: Path) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with sv.verifying_server(SECRETS) as workspace:
        env = {k: v for k, v in os.environ.items() if k not in sv.AWS_CHAIN_VARS}
        proc = subprocess.run(
            [sys.executable, "-m", "promgate", "check", "--prometheus", workspace.base,
             "--run-id", "r-1", "--config", str(config), "--prometheus-sigv4-region", sv.REGION],
            env={**env, **sv.isolated_aws_env(str(tmp_path))},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        received = len(workspace.received)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [
        "promgate: error: no AWS credentials found in the default AWS credential chain (set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or "
        "--prometheus-sigv4-profile), or run with an instance, task or IRSA role)"
    ]
    assert received == 0

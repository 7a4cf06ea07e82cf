"""SigV4-signed remote write with a real Locust run: through a proxy that verifies every
signature with botocore (as Amazon Managed Service for Prometheus does) into the local stack's
Prometheus receiver; and Locust stopped at start, exit code 2, when there are no credentials.
Fixed fake credentials, loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest
import sigv4_verify as sv
from localstack import LocalStack
from support import DemoApi, new_run_id, start_locust, wait_until

pytestmark = pytest.mark.integration

pytest.importorskip("botocore", reason="SigV4 needs promgate[aws] (botocore)")

SECRETS = {sv.ACCESS_KEY: (sv.SECRET_KEY, sv.SESSION_TOKEN)}


@pytest.fixture(autouse=True)
def no_aws_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locust's environment is this one's plus the test's: none of the developer's own AWS
    settings reach it (emptying them is not enough: botocore takes an empty profile name or
    container URI as given)."""
    for name in sv.AWS_CHAIN_VARS:
        monkeypatch.delenv(name, raising=False)


def test_a_signed_run_reaches_prometheus_with_exact_totals(
    stack: LocalStack, api: DemoApi, tmp_path: Path
) -> None:
    with sv.verifying_server(SECRETS, upstream=stack.remote_write_url) as proxy:
        run = start_locust(
            api.url,
            pushgateway=None,
            remote_write=proxy.url,
            run_id=new_run_id("rw-sigv4"),
            users=4,
            run_time="5s",
            extra=["--prometheus-sigv4-region", sv.REGION],
            env=sv.fake_credentials_env(str(tmp_path)),
            workdir=tmp_path / "run",
        ).wait(90)
        truth = api.totals()
        refused = [r.problem for r in proxy.refused()]
        verified = len(proxy.verified())
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output and "remote write rejected" not in run.output, run.output
    assert "signed with AWS SigV4 (service aps, region eu-west-1, credentials from env)" in (
        run.output
    )
    assert not refused and verified >= 3, (refused, verified)  # sends, final, staleness markers
    sel = f'{{job="locust", run_id="{run.run_id}"}}'
    expected = sum(r for r, _ in truth.values())
    assert expected > 0

    def total() -> float | None:
        rows = stack.query(f"sum(last_over_time(locust_requests_total{sel}[10m]))")
        return float(rows[0]["value"][1]) if rows else None

    wait_until(lambda: total() == expected, 30, "the signed run's totals in Prometheus")
    summary = run.summary()
    assert summary[("", "Aggregated")].num_requests == expected


def test_no_credentials_stop_locust_at_start_with_exit_2(api: DemoApi, tmp_path: Path) -> None:
    run = start_locust(
        api.url,
        pushgateway=None,
        remote_write="http://127.0.0.1:9/workspaces/ws-test/api/v1/remote_write",
        users=2,
        run_time="30s",
        extra=["--prometheus-sigv4-region", sv.REGION],
        env=sv.isolated_aws_env(str(tmp_path)),
        workdir=tmp_path / "run",
    ).wait(60)
    assert run.returncode == 2, run.output
    assert "Traceback" not in run.output, run.output
    errors = [line for line in run.output.splitlines() if "AWS credentials" in line]
    assert len(errors) == 1 and "(set AWS_ACCESS_KEY_ID" in errors[0], run.output
    assert sum(r for r, _ in api.totals().values()) == 0  # no load was generated

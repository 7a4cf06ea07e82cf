"""Issue 19's exporter defects, one test each: credentials in logs and repr, pull mode's default
address, exception text in a /metrics 500, and NaN/Inf durations that passed validation."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from locust import User, constant, task
from locust.env import Environment
from locust_prometheus import PrometheusExporter
from locust_prometheus.options import ConfigError, ExporterConfig, config_from_options
from locust_prometheus.pushgateway_http import describe
from locust_prometheus.server import MetricsServer

SECRET = "S3CRET-exporter-pw"


class U(User):
    wait_time = constant(1)

    @task
    def t(self) -> None:  # pragma: no cover - never run
        pass


def _options(**values: Any) -> SimpleNamespace:
    return SimpleNamespace(**{f"prometheus_{k}": v for k, v in values.items()})


def test_repr_of_the_config_holds_no_password() -> None:
    config = ExporterConfig(basic_auth_user="ci", basic_auth_password=SECRET)
    assert SECRET not in repr(config) and "ci" in repr(config)


def test_pushgateway_credentials_stay_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    env = Environment(user_classes=[U])
    env.create_local_runner()
    url = f"http://ci:{SECRET}@127.0.0.1:1"
    exporter = PrometheusExporter(ExporterConfig(pushgateway=url, run_id="r", keep=True))
    with caplog.at_level(logging.DEBUG, logger="locust_prometheus"):
        exporter.register(env)
    assert "pushing to http://***@127.0.0.1:1" in caplog.text
    assert SECRET not in caplog.text
    # A failure's description (what the push loop logs) never carries it either.
    assert SECRET not in describe(OSError(f"cannot reach {url}/metrics/job/locust"))


@pytest.mark.parametrize("stem", ["push_interval", "push_timeout", "linger"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_durations_are_refused(stem: str, bad: float) -> None:
    with pytest.raises(ConfigError, match=stem.replace("_", "-")):
        config_from_options(_options(**{stem: bad}), env={})


def test_pull_mode_listens_on_loopback_unless_told_otherwise() -> None:
    assert config_from_options(_options(listen=":9646"), env={}).listen == ("127.0.0.1", 9646)
    assert config_from_options(_options(listen="0.0.0.0:9646"), env={}).listen == ("0.0.0.0", 9646)


def test_a_render_error_500_carries_no_exception_text(caplog: pytest.LogCaptureFixture) -> None:
    def render(_compress: bool) -> bytes:
        raise RuntimeError(f"internal detail /srv/{SECRET}")

    statuses: list[str] = []
    with caplog.at_level(logging.ERROR, logger="locust_prometheus"):
        body = b"".join(
            MetricsServer(render)._app({"PATH_INFO": "/metrics"}, lambda s, h: statuses.append(s))
        )
    assert statuses == ["500 Internal Server Error"]
    assert SECRET.encode() not in body and b"RuntimeError" not in body
    assert "internal detail" in caplog.text  # the operator still sees it, in the log


def test_metrics_tls_needs_both_files_and_auth_a_user(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="go together"):
        config_from_options(_options(listen_cert_file="c.pem"), env={})
    server = MetricsServer(lambda _c: b"")
    with pytest.raises(ConfigError, match="USER:PASSWORD"):
        (tmp_path / "auth").write_text("no-colon-here\n")
        server.start("127.0.0.1", 0, auth_file=str(tmp_path / "auth"))
    with pytest.raises(ConfigError, match="cannot read"):
        server.start("127.0.0.1", 0, auth_file="/nonexistent/auth")
    assert not server.running

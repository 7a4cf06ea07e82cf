"""prometheus.ingestion_delay: parsed from the config, carried by the client, and waited for by
the run's window (an engine that shows samples late, as VictoriaMetrics does by default)."""

from __future__ import annotations

from typing import Any

import pytest
from promgate import ConfigError, parse_config
from promgate.prometheus.client import PrometheusClient
from promgate.prometheus.types import Sample, Series
from promgate.prometheus.window import resolve_run

CHECKS = "checks:\n  - {name: p95, preset: p95, critical: '> 1s'}\n"


def test_the_key_is_parsed_and_reaches_the_client() -> None:
    cfg = parse_config("prometheus:\n  ingestion_delay: 30\n" + CHECKS, "g.yaml", env={})
    assert cfg.prometheus.ingestion_delay == 30.0
    client = PrometheusClient.from_settings("http://vm:8428/prometheus", cfg.prometheus)
    assert client.ingestion_delay == 30.0 and client.url == "http://vm:8428/prometheus"
    assert parse_config(CHECKS, "g.yaml", env={}).prometheus.ingestion_delay == 0.0


@pytest.mark.parametrize("value", ["-1", "soon", "7200"])
def test_bad_values_name_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match=r"g.yaml:2: prometheus.ingestion_delay"):
        parse_config(f"prometheus:\n  ingestion_delay: {value}\n" + CHECKS, "g.yaml", env={})


class Engine:
    """A run visible only ``delay`` seconds after the fake clock's start (an ingestion delay)."""

    def __init__(self, delay: float, ingestion_delay: float) -> None:
        self.now = 1000.0
        self.visible_at = 1000.0 + delay
        self.ingestion_delay = ingestion_delay

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        if self.now < self.visible_at:
            return []
        value = 990.0 if "start" in expr else 999.0
        return [Sample({}, value)]

    def query_series(self, expr: str, at: float | None = None) -> list[Series]:
        end = {"__name__": "locust_run_end_timestamp_seconds"}
        start = {"__name__": "locust_run_start_timestamp_seconds"}
        return [Series(end, [(999.0, 999.0), (1000.0, 999.0)]),
                Series(start, [(998.0, 990.0), (999.0, 990.0), (1000.0, 990.0)])]  # fmt: skip

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def resolve(engine: Engine) -> Any:
    return resolve_run(engine, "r", "locust", wait_timeout=60, clock=lambda: engine.now,  # type: ignore[arg-type]
                       sleep=engine.sleep)  # fmt: skip


def test_without_the_delay_a_late_run_is_not_found() -> None:
    from promgate.errors import RunNotFound

    with pytest.raises(RunNotFound):
        resolve(Engine(delay=8, ingestion_delay=0))


def test_the_delay_extends_the_wait_and_the_evaluation_time() -> None:
    engine = Engine(delay=8, ingestion_delay=10)
    window = resolve(engine)
    assert window.final_scrape == 999.0
    assert window.eval_time == 999.0 + 1.0 + 10.0
    assert engine.now >= window.eval_time

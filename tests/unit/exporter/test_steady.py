"""``locust_run_steady_timestamp_seconds``: Locust's ``spawning_complete`` moment, absent before
it and again in each new test until its spawning completes (events fired directly)."""

from __future__ import annotations

import time

from exporter_support import stats_env
from locust_prometheus.options import ExporterConfig
from locust_prometheus.plugin import PrometheusExporter
from prometheus_client.parser import text_string_to_metric_families

STEADY = "locust_run_steady_timestamp_seconds"


def _steady(exp: PrometheusExporter) -> list[float]:
    text = exp.render().decode()
    return [
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == STEADY
    ]


def test_steady_moment_is_spawning_complete_and_each_test_starts_without_one() -> None:
    env = stats_env(["/a"], [5.0])
    exp = PrometheusExporter(ExporterConfig(run_id="r"), handler=None)
    exp.register(env)
    assert _steady(exp) == []  # users still spawning
    before = time.time()
    env.events.spawning_complete.fire(user_count=3)
    (first,) = _steady(exp)
    assert before <= first <= time.time()
    # A later user-count change (web UI) is still steady load: the first moment stays.
    env.events.spawning_complete.fire(user_count=5)
    assert _steady(exp) == [first]
    env.events.test_start.fire(environment=env)
    assert _steady(exp) == []
    exp.channel.stop_loop()

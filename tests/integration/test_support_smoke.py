"""The test support itself: the demo API counts what Locust sends, and Locust's final summary
(read back through ``LocustRun.summary``) agrees with it. No exporter involved."""

from __future__ import annotations

import pytest
from support import DemoApi, start_locust

pytestmark = pytest.mark.integration


def test_demo_api_counts_equal_locust_summary(api: DemoApi) -> None:
    api.configure(error_rate=0.1)
    run = start_locust(api.url, pushgateway=None, users=4, run_time="3s").wait()
    assert run.returncode == 1, run.output  # failures make Locust exit 1
    summary = run.summary()
    truth = api.totals()
    assert truth, "the demo API counted nothing"
    for (method, route), (reqs, fails) in truth.items():
        entry = summary[(method, route)]
        assert (entry.num_requests, entry.num_failures) == (reqs, fails)
    total = summary[("", "Aggregated")]
    assert total.num_requests == sum(r for r, _ in truth.values())
    assert total.num_failures > 0

"""Session fixtures: one demo API and one local stack (real Prometheus + Pushgateway) per run.

Tests share them and tell their data apart by run id; each test that reads the demo API's counts
resets them first (``api`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localstack import LocalStack
from support import DemoApi


@pytest.fixture(scope="session")
def demo_api() -> Iterator[DemoApi]:
    api = DemoApi(latency_ms=2, jitter_ms=3, error_rate=0.0, seed=1)
    yield api
    api.stop()


@pytest.fixture()
def api(demo_api: DemoApi) -> DemoApi:
    """The shared demo API with default settings and zeroed counts."""
    demo_api.configure(latency_ms=2, jitter_ms=3, error_rate=0.0, routes={})
    demo_api.reset()
    return demo_api


@pytest.fixture(scope="session")
def stack(demo_api: DemoApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(
        tmp_path_factory.mktemp("stack"),
        scrape_interval="1s",
        targets={"demo_api": [demo_api.target]},
    ) as s:
        yield s

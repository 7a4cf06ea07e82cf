"""Session fixtures: one demo API and one local stack (real Prometheus + Pushgateway) per run.

Tests share them and tell their data apart by run id; each test that reads the demo API's counts
resets them first (``api`` fixture).
"""

from __future__ import annotations

# First of all: Locust imported without gevent's monkey-patching, so the whole suite runs on real
# threads and sockets (tests/nopatch.py).
import nopatch  # noqa: F401

# isort: split
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from localstack import LocalStack
from support import DemoApi, LocustRun, new_run_id, start_locust, wait_until


@dataclass(frozen=True)
class CompletedRun:
    run: LocustRun
    #: (method, route) -> (requests, failures) as the demo API counted them
    truth: dict[tuple[str, str], tuple[int, int]]
    stack: LocalStack

    @property
    def run_id(self) -> str:
        return self.run.run_id


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


@pytest.fixture(scope="session")
def completed_run(stack: LocalStack, demo_api: DemoApi) -> CompletedRun:
    """One finished local Locust run with injected errors and latency, scraped to its end.

    Shared by the gate, dashboard and report tests, which only read it. The demo API's counts
    are snapshotted right after the run (the ground truth).
    """
    demo_api.configure(
        latency_ms=5, jitter_ms=20, error_rate=0.05, routes={"/courses": {"latency_ms": 60}}
    )
    demo_api.reset()
    run = start_locust(
        demo_api.url,
        pushgateway=stack.pushgateway_url,
        run_id=new_run_id("completed"),
        users=8,
        run_time="12s",
        extra=["--prometheus-keep", "--prometheus-testplan", "demo"],
    ).wait()
    assert run.returncode in (0, 1), run.output  # 1: Locust's code when requests failed
    truth = demo_api.totals()
    demo_api.configure(latency_ms=2, jitter_ms=3, error_rate=0.0, routes={})
    # The final push carries the end timestamp: wait until a query can see it.
    end = f'locust_run_end_timestamp_seconds{{run_id="{run.run_id}"}}'
    wait_until(lambda: stack.query(end), 30, f"the final push of {run.run_id} in Prometheus")
    return CompletedRun(run=run, truth=truth, stack=stack)

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
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack
from support import DemoApi, LocustRun, new_run_id, start_locust, wait_until

# `make test` runs the suite on several pytest-xdist workers (`-n 3 --dist loadfile`): most
# integration tests wait on wall-clock Locust runs, not on the CPU. A test file is one unit of work,
# run whole on one worker, so its module fixtures run once; each worker has its own session
# fixtures (demo API, local stack). Some files share one unit:
SHARED_UNITS = {
    # The readers of `completed_run`: one 12 s Locust run instead of one per worker.
    **dict.fromkeys(
        [
            "test_gate",
            "test_gate_outcomes",
            "test_dashboards",
            "test_report",
            "test_rules_live",
            "test_runs",
        ],
        "completed_run",
    ),
    # Bounds on time, live figures (the demo's too), latency compared across runs, and 9 Locust
    # processes on 2 cores: one after another, so none of them loads the CPU under another.
    **dict.fromkeys(
        ["test_scale", "test_live_truth", "test_exporter_security", "test_regression", "test_demo"],
        "timing",
    ),
}
# Rough wall seconds of the longest units (pytest --durations of a make test, 2 cores). Workers take
# units in this order, longest first: a 5-minute file taken last would keep the whole run waiting.
UNIT_SECONDS = {
    "timing": 325,
    "test_ci_templates": 100,
    "test_ci_templates_act": 65,
    "test_ci_templates_gitlab": 60,
    "test_ci_templates_unstable": 55,
    "test_live_gate": 115,
    "test_history_remote_write": 50,  # three 6 s Locust runs, VictoriaMetrics beside
    "test_remote_write": 110,
    "test_exporter": 95,
    "test_gate_victoria": 90,
    "test_history_files": 65,
    "test_windows": 60,  # one 20 s Locust run with a 10 s ramp-up, then the gate
    "completed_run": 45,
    "test_report_csp": 35,
    "test_gate_hostile_prometheus": 25,  # fault modes wait out their 2 s deadlines
    "test_gate_fuzz": 25,
    "test_report_screenshot": 15,
    "test_latency_regression_sim": 12,
    "test_deploy_kubernetes": 10,
    "test_deploy_kubernetes_commands": 8,  # renders the overlays too (kubectl kustomize)
}


def _unit(nodeid: str) -> str:
    stem = Path(nodeid.split("::", 1)[0]).stem  # test file names are unique across tests/
    return SHARED_UNITS.get(stem, stem)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist loadfile, with the shared units above (xdist_group marks with --dist loadgroup
    would say the same, but pytest 9.2 ignores them: pytest-dev/pytest-xdist#1386)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False  # the workers order the units (below)
    return UnitScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: every worker sorts alike
        items.sort(key=lambda item: -UNIT_SECONDS.get(_unit(item.nodeid), 0))


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

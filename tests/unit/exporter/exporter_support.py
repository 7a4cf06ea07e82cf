"""Locust statistics filled by hand for the exporter's encoding tests (no users run)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from locust import User, constant, task
from locust.env import Environment
from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW


class U(User):
    wait_time = constant(1)

    @task
    def t(self) -> None:  # pragma: no cover - never run
        pass


def stats_env(
    names: Iterable[str], response_times: Sequence[float], *, live_window: bool = False
) -> Environment:
    """A local runner whose statistics hold ``response_times`` (+ the name's index) and one
    error per ``GET name``; with ``live_window``, each entry's live percentile window starts
    ``CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`` seconds ago, as after that long a run."""
    env = Environment(user_classes=[U], host="http://sut")
    env.create_local_runner()
    stats = env.runner.stats  # type: ignore[union-attr]
    for i, name in enumerate(names):
        for rt in response_times:
            stats.log_request("GET", name, rt + i, 100)
        stats.log_error("GET", name, f"HTTPError('500 for {name} id {1000 + i}')")
    if live_window:
        start = int(time.time()) - CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
        for entry in [*stats.entries.values(), stats.total]:
            entry._cache_response_times(start)
    return env

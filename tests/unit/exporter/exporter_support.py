"""Locust statistics filled by hand for the exporter's encoding tests (no users run), and a
remote-write batch or request body decoded by protobuf."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import cramjam
from locust import User, constant, task
from locust.env import Environment
from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
from locust_prometheus.remote_write_proto import messages


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


def decode(
    body: bytes | tuple[bytes, int], *, compressed: bool = True
) -> dict[tuple[tuple[str, str], ...], list[tuple[float, int]]]:
    """A WriteRequest parsed by protobuf: a request body (snappy) or a batch (raw, count)."""
    request = messages()[0]()
    if isinstance(body, tuple):
        raw, count = body
        request.ParseFromString(raw)
        assert len(request.timeseries) == count
    else:
        request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    out: dict[tuple[tuple[str, str], ...], list[tuple[float, int]]] = {}
    for ts in request.timeseries:
        labels = tuple((label.name, label.value) for label in ts.labels)
        assert list(labels) == sorted(labels), "labels must be sorted by name"
        out[labels] = [(s.value, s.timestamp) for s in ts.samples]
    return out

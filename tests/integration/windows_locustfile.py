"""One endpoint, a fixed wait, and a listener that records every request's completion time and
Locust's response time, and the moment spawning completed, for the window and Apdex tests
(written at quit to ``$PROMGATE_TEST_REQUESTS``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import locust_prometheus  # noqa: F401 - the exporter
from locust import FastHttpUser, constant, events, task
from locust.runners import WorkerRunner

_REQUESTS: list[tuple[float, float]] = []
_SPAWNED: list[float] = []


class SteadyUser(FastHttpUser):
    wait_time = constant(0.25)

    @task
    def students(self) -> None:
        self.client.get("/students")


@events.request.add_listener
def _record(response_time: float, **_: Any) -> None:
    _REQUESTS.append((time.time(), response_time))


@events.spawning_complete.add_listener
def _spawned(**_: Any) -> None:
    _SPAWNED.append(time.time())


@events.quitting.add_listener
def _write(environment: Any, **_: Any) -> None:
    path = os.environ.get("PROMGATE_TEST_REQUESTS")
    if path and not isinstance(environment.runner, WorkerRunner):
        Path(path).write_text(json.dumps({"requests": _REQUESTS, "spawned": _SPAWNED}))

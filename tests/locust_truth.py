"""Locust's own whole-run figures, as ground truth for the tests.

Loaded beside the locustfile (``-f locustfile.py,locust_truth.py``): when Locust quits, the
master (or local runner) writes its Aggregated row's figures, computed by Locust's own code, to
``$PROMGATE_TEST_TRUTH``. Locust's JSON and CSV outputs lack the total's start time, so its RPS
cannot be recomputed exactly from them.
"""

from __future__ import annotations

import json
import os
from typing import Any

import gevent
from locust import events
from locust.runners import WorkerRunner


@events.init.add_listener
def _fresh_loop_clock(**_: Any) -> None:
    # Locust times -t with gevent.spawn_later, which counts from the event loop's cached clock:
    # after a start-up slower than -t (a busy machine, parallel test workers) the run ends at
    # once. Refreshed here, the run lasts -t from now; nothing Locust counts changes.
    gevent.get_hub().loop.update_now()


@events.quitting.add_listener
def _write_truth(environment: Any, **_: Any) -> None:
    path = os.environ.get("PROMGATE_TEST_TRUTH")
    runner = environment.runner
    if not path or runner is None or isinstance(runner, WorkerRunner):
        return
    total = runner.stats.total
    figures = {
        "num_requests": total.num_requests,
        "num_failures": total.num_failures,
        "total_rps": total.total_rps,
        "start_time": runner.stats.start_time,
        "last_request_timestamp": runner.stats.last_request_timestamp,
        "p95_ms": total.get_response_time_percentile(0.95),
        "max_ms": total.max_response_time,
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(figures, fh)

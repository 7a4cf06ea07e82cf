"""When all users are running: Locust's ``spawning_complete`` on the master or local runner.

The gate's ``window: steady`` starts here (``locust_run_steady_timestamp_seconds``). The moment
is kept on the environment, so the snapshot can read it without a reference to the exporter;
each test (``test_start``) starts without one until its spawning completes again.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["steady_time", "watch_steady"]

_ATTR = "_locust_prometheus_steady_time"


def watch_steady(environment: Any) -> None:
    """Record ``spawning_complete`` on ``environment`` (call once, from ``register``)."""

    def started(**_: Any) -> None:
        setattr(environment, _ATTR, None)

    def complete(**_: Any) -> None:
        # Locust fires it again after a user-count change from the web UI: the first moment
        # all users of this test ran is the one kept, as a later change is still steady load.
        if getattr(environment, _ATTR, None) is None:
            setattr(environment, _ATTR, time.time())

    environment.events.test_start.add_listener(started)
    environment.events.spawning_complete.add_listener(complete)


def steady_time(environment: Any) -> float | None:
    """The moment all users of the current test ran, or None before it."""
    value = getattr(environment, _ATTR, None)
    return float(value) if isinstance(value, (int, float)) else None

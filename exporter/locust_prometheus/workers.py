"""A master's wait for its workers' last statistics reports before the final push."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent

__all__ = ["WORKER_REPORT_WAIT", "WorkerReports"]

#: How long a master waits after test_stop for every worker's next statistics report (Locust's
#: workers report every 3 s) before the final push: the first push that carries the end
#: timestamp must already hold the workers' last requests, or a gate judging it sees too few.
WORKER_REPORT_WAIT = 7.0


class WorkerReports:
    """When each worker's last report reached the master, for the test under way."""

    def __init__(self, wait: float = WORKER_REPORT_WAIT) -> None:
        self.wait = wait
        #: worker id -> when its last statistics report reached the master
        self._reports: dict[str, float] = {}
        self._finisher: gevent.Greenlet | None = None

    def reported(self, client_id: str) -> None:
        # Locust merges the report into the master's stats in an earlier listener.
        self._reports[client_id] = time.time()

    def new_test(self) -> None:
        self._reports.clear()  # workers of an earlier test may be gone

    def workers(self, runner: Any) -> set[str]:
        """Ids of the workers that reported during the test or are connected (masters only)."""
        clients = getattr(runner, "clients", None)
        connected = {str(node.id) for node in getattr(clients, "all", [])}
        return set(self._reports) | connected

    def then(self, stopped_at: float, workers: set[str], action: Callable[[], object]) -> None:
        """Run ``action`` in its own greenlet once every one of ``workers`` reported after
        ``stopped_at``, or after ``wait`` seconds."""
        self._finisher = gevent.spawn(self._after_reports, stopped_at, workers, action)

    def _after_reports(
        self, stopped_at: float, workers: set[str], action: Callable[[], object]
    ) -> None:
        self.wait_for(workers, lambda w: self._reports.get(w, 0.0) > stopped_at)
        action()

    def wait_for(self, workers: set[str], done: Callable[[str], bool]) -> None:
        """Yield until ``done`` holds for every one of ``workers``, or for at most ``wait`` s."""
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline and not all(done(w) for w in workers):
            gevent.sleep(0.05)

    def cancel(self) -> bool:
        """Stop a pending action; whether one was still waiting."""
        if self._finisher is None:
            return False
        pending = not self._finisher.dead
        self._finisher.kill(block=True, timeout=1)
        self._finisher = None
        return pending

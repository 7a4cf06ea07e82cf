"""A cheap, consistent copy of Locust's aggregated statistics, taken inside the gevent loop.

Locust mutates its statistics only from greenlets of the loop. Taking the whole copy without
yielding (no I/O, no gevent calls) makes it consistent across endpoints; everything expensive
(sorting, percentiles, encoding) happens later on the copy, off the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WORKER_STATES", "EntrySnapshot", "RunSnapshot", "take_snapshot"]

#: The worker states of the contract, and the Locust states that map onto them.
WORKER_STATES = ("ready", "spawning", "running", "stopped", "missing")
_STATE_MAP = {
    "ready": "ready",
    "spawning": "spawning",
    "running": "running",
    "cleanup": "stopped",
    "stopping": "stopped",
    "stopped": "stopped",
    "missing": "missing",
}


@dataclass(frozen=True, slots=True)
class EntrySnapshot:
    method: str
    name: str
    num_requests: int
    num_none_requests: int
    num_failures: int
    total_response_time: float
    max_response_time: float
    total_content_length: int
    response_times: dict[Any, int]


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    entries: list[EntrySnapshot]
    total: EntrySnapshot
    #: (method, name, raw error object or text, occurrences)
    errors: list[tuple[str, str, object, int]]
    users: dict[str, int]
    workers: dict[str, int] | None
    #: (process id label, cpu percent, memory bytes)
    loadgen: list[tuple[str, float, int]]
    start_time: float
    last_request_timestamp: float
    end_time: float | None
    percentiles: tuple[float, ...]
    taken_at: float = field(default_factory=time.time)


def _entry(entry: Any) -> EntrySnapshot:
    return EntrySnapshot(
        str(entry.method or ""),
        str(entry.name),
        entry.num_requests,
        entry.num_none_requests,
        entry.num_failures,
        entry.total_response_time,
        entry.max_response_time,
        entry.total_content_length,
        dict(entry.response_times),
    )


def take_snapshot(
    environment: Any, *, final: bool = False, end_time: float | None = None
) -> RunSnapshot:
    """Copy what the exporter needs. Must run in the gevent loop and must not yield."""
    from locust import stats as locust_stats
    from locust.runners import MasterRunner

    runner = environment.runner
    stats = runner.stats if runner is not None else environment.stats
    entries = [_entry(e) for e in list(stats.entries.values())]
    errors = [
        (str(e.method or ""), str(e.name), e.error, e.occurrences) for e in stats.errors.values()
    ]

    user_names = [u.__name__ for u in (environment.user_classes or [])]
    users = dict.fromkeys(user_names, 0)
    workers: dict[str, int] | None = None
    loadgen: list[tuple[str, float, int]] = []
    if runner is not None:
        if isinstance(runner, MasterRunner):
            workers = dict.fromkeys(WORKER_STATES, 0)
            for node in list(runner.clients.values()):
                state = _STATE_MAP.get("ready" if node.state == "init" else node.state, "stopped")
                workers[state] += 1
                loadgen.append((str(node.id), float(node.cpu_usage), int(node.memory_usage)))
                if not final:
                    for cls, n in (node.user_classes_count or {}).items():
                        users[cls] = users.get(cls, 0) + n
            loadgen.insert(
                0, ("master", float(runner.current_cpu_usage), int(runner.current_memory_usage))
            )
        else:
            loadgen.append(
                ("local", float(runner.current_cpu_usage), int(runner.current_memory_usage))
            )
            if not final:
                for cls, n in runner.user_classes_count.items():
                    users[cls] = n
    if final:
        users = dict.fromkeys(users, 0)
    return RunSnapshot(
        entries=entries,
        total=_entry(stats.total),
        errors=errors,
        users=users,
        workers=workers,
        loadgen=loadgen,
        start_time=float(stats.start_time or 0.0),
        last_request_timestamp=float(stats.last_request_timestamp or 0.0),
        end_time=end_time if final else None,
        percentiles=tuple(float(q) for q in locust_stats.PERCENTILES_TO_REPORT),
    )

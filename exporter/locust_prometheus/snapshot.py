"""A cheap, consistent copy of Locust's aggregated statistics, taken inside the gevent loop.

Locust mutates its statistics only from greenlets of the loop. Taking the whole copy without
yielding (no I/O, no gevent calls) makes it consistent across endpoints; everything expensive
(sorting, percentiles, encoding) happens later on the copy, off the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from .steady import steady_time

__all__ = [
    "WORKER_STATES",
    "Copies",
    "EntrySnapshot",
    "RunSnapshot",
    "WindowStart",
    "take_snapshot",
]

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
class WindowStart:
    """Where Locust's current response-time window begins for one entry: the copy of its
    response times that Locust cached about ``CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`` seconds
    ago (Locust never mutates a cached copy, so holding it is safe) and the timed requests then."""

    response_times: dict[Any, int]
    timed_requests: int


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
    #: Locust's own live figures (its web UI's "Current RPS" and "Current Failures/s")
    current_rps: float = 0.0
    current_fail_per_sec: float = 0.0
    #: start of Locust's current percentile window; None when Locust has no cached copy
    window_start: WindowStart | None = None


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
    #: when all users were running (``spawning_complete``); None before
    steady_time: float | None = None


def _window_keys(now: float) -> list[int]:
    """The cache keys Locust's ``get_current_response_time_percentile`` tries, in its order:
    the window's nominal start, then one second further either side, up to 8 seconds."""
    from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW as WINDOW

    t = int(now)
    keys = [t - WINDOW]
    for i in range(1, 9):
        keys += [t - WINDOW - i, t - WINDOW + i]
    return keys


def _window_start(entry: Any, keys: list[int]) -> WindowStart | None:
    cache = getattr(entry, "response_times_cache", None)
    if not cache:
        return None
    for key in keys:
        cached = cache.get(key)
        if cached is not None:
            return WindowStart(
                cached.response_times, cached.num_requests - cached.num_none_requests
            )
    return None


def _rate_seconds(stats: Any, *, distributed: bool = False) -> range | None:
    """The seconds Locust's ``current_rps`` averages over: from 12 s before the last request
    (not before the start) to 3 s before it.

    On a master the window ends one second earlier. The last request is the newest any worker
    reported, and workers report every 3 s each at its own phase, so the last second of Locust's
    window often lacks part of another worker's requests: Locust's own figure then dips by up
    to 1/10 of that worker's share for a second or two (3 % with 2 workers, about one second in
    six). The second before it always holds every worker's report, so the exported figure is
    the one Locust shows between those dips."""
    last = stats.last_request_timestamp
    if last is None:
        return None
    end = int(last) - (3 if distributed else 2)
    return range(max(end - 10, int(stats.start_time or 0)), end)


def _per_second(counts: dict[int, int], seconds: range | None) -> float:
    """Locust's ``avg`` of the per-second counts over ``seconds`` (``current_rps`` computed once
    per snapshot instead of per property call: the loop pays for every endpoint)."""
    if seconds is None:
        return 0.0
    return sum(map(counts.get, seconds, repeat(0)), 0.0) / max(len(seconds), 1)


#: id of a Locust StatsEntry -> (its response_times dict, its request count, our copy of it)
Copies = dict[int, tuple[dict[Any, int], int, dict[Any, int]]]


def _times(entry: Any, copies: Copies | None) -> dict[Any, int]:
    """A copy of the entry's response times, or the previous copy while Locust's dict is the
    same object with the same request count: the dict changes only with a request (``log``,
    or a worker report merged with ``extend``, both counting it) and a reset replaces it. The
    copy is held in ``copies``, so that dict's identity cannot pass to another object."""
    rt = entry.response_times
    if copies is None:
        return dict(rt)
    last = copies.get(id(entry))
    if last is not None and last[0] is rt and last[1] == entry.num_requests:
        return last[2]
    copy = dict(rt)
    copies[id(entry)] = (rt, entry.num_requests, copy)
    return copy


def _entry(
    entry: Any, keys: list[int], seconds: range | None, copies: Copies | None = None
) -> EntrySnapshot:
    return EntrySnapshot(
        str(entry.method or ""),
        str(entry.name),
        entry.num_requests,
        entry.num_none_requests,
        entry.num_failures,
        entry.total_response_time,
        entry.max_response_time,
        entry.total_content_length,
        _times(entry, copies),
        _per_second(entry.num_reqs_per_sec, seconds),
        _per_second(entry.num_fail_per_sec, seconds),
        _window_start(entry, keys),
    )


def take_snapshot(
    environment: Any,
    *,
    final: bool = False,
    end_time: float | None = None,
    copies: Copies | None = None,
) -> RunSnapshot:
    """Copy what the exporter needs. Must run in the gevent loop and must not yield. With the
    same ``copies`` from snapshot to snapshot, unchanged response times are not copied again."""
    from locust import stats as locust_stats
    from locust.runners import MasterRunner

    runner = environment.runner
    stats = runner.stats if runner is not None else environment.stats
    now = time.time()
    keys = _window_keys(now)
    distributed = isinstance(runner, MasterRunner)
    seconds = _rate_seconds(stats, distributed=distributed)
    entries = [_entry(e, keys, seconds, copies) for e in list(stats.entries.values())]
    errors = [
        (str(e.method or ""), str(e.name), e.error, e.occurrences) for e in stats.errors.values()
    ]
    users = dict.fromkeys((u.__name__ for u in (environment.user_classes or [])), 0)
    workers: dict[str, int] | None = None
    loadgen: list[tuple[str, float, int]] = []
    if distributed:
        workers, loadgen = _workers(runner, users, final)
    elif runner is not None:
        loadgen.append(("local", float(runner.current_cpu_usage), int(runner.current_memory_usage)))
        if not final:
            for cls, n in runner.user_classes_count.items():
                users[cls] = n
    if final:
        users = dict.fromkeys(users, 0)
    return RunSnapshot(
        entries=entries,
        total=_entry(stats.total, keys, seconds, copies),
        errors=errors,
        users=users,
        workers=workers,
        loadgen=loadgen,
        start_time=float(stats.start_time or 0.0),
        last_request_timestamp=float(stats.last_request_timestamp or 0.0),
        end_time=end_time if final else None,
        percentiles=tuple(float(q) for q in locust_stats.PERCENTILES_TO_REPORT),
        taken_at=now,
        steady_time=steady_time(environment),
    )


def _workers(
    runner: Any, users: dict[str, int], final: bool
) -> tuple[dict[str, int], list[tuple[str, float, int]]]:
    """A master's workers by state and each one's CPU and memory (the master's first); adds the
    users each worker runs to ``users`` (none once the run is over)."""
    workers = dict.fromkeys(WORKER_STATES, 0)
    loadgen: list[tuple[str, float, int]] = []
    for node in list(runner.clients.values()):
        state = _STATE_MAP.get("ready" if node.state == "init" else node.state, "stopped")
        workers[state] += 1
        loadgen.append((str(node.id), float(node.cpu_usage), int(node.memory_usage)))
        if not final:
            for cls, n in (node.user_classes_count or {}).items():
                users[cls] = users.get(cls, 0) + n
    loadgen.insert(0, ("master", float(runner.current_cpu_usage), int(runner.current_memory_usage)))
    return workers, loadgen

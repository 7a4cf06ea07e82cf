"""Turn a snapshot into per-endpoint numbers: cardinality guard, buckets, Locust's percentiles.

Runs off the gevent loop. The only state is the cardinality guard, so the set of endpoints kept
is stable from push to push and the folded ``__other__`` counters stay monotonic.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress, repeat
from operator import sub
from typing import Any

from .snapshot import EntrySnapshot, RunSnapshot, WindowStart

__all__ = [
    "BUCKET_BOUNDS_MS",
    "LIVE_PERCENTILES",
    "OTHER",
    "CardinalityGuard",
    "Distributions",
    "EndpointRow",
    "ErrorRow",
    "Model",
    "bucket_counts",
    "build_model",
    "normalize_error",
    "percentile_labels",
    "percentiles",
    "window_percentiles",
]

logger = logging.getLogger(__name__)

#: Histogram bounds in ms, all on Locust's rounding grid (1 ms < 100, 10 ms < 1 s, 100 ms < 10 s,
#: 1 s above), so no rounding step straddles a bound.
BUCKET_BOUNDS_MS: tuple[int, ...] = (
    1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 30000, 60000,
)  # fmt: skip
OTHER = "__other__"
#: Percentiles of Locust's current window exported live (its web UI charts 0.5 and 0.95).
LIVE_PERCENTILES: tuple[float, ...] = (0.5, 0.95, 0.99)
_MAX_ERROR_CHARS = 200

_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_HEX = re.compile(
    r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"
)
# Short standalone integers (HTTP status, errno) carry meaning and stay; ids and measurements go.
_NUM = re.compile(r"(?<=/)\d+(?=/|\b)|\b\d+\.\d+\b|\b\d{4,}\b")


def normalize_error(error: object) -> str:
    """Locust's error text with ids and numbers replaced, so one kind of error is one series."""
    if isinstance(error, str):
        text = error
        if text.startswith("CatchResponseError(") and text.endswith(")"):
            text = text[len("CatchResponseError(") : -1]
    else:
        args = getattr(error, "args", None)
        if type(error).__name__ == "CatchResponseError" and args:
            text = str(args[0])
        else:
            text = repr(error)
    return _normalize_text(text)


@lru_cache(maxsize=4096)
def _normalize_text(text: str) -> str:
    # Every push normalizes every error again: the same texts, so cache them.
    text = _UUID.sub("<uuid>", text)
    text = _HEX.sub("<hex>", text)
    text = _NUM.sub("<n>", text)
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 1] + "…"
    return text


def percentiles(
    response_times: dict[Any, int], num_requests: int, qs: Sequence[float]
) -> list[Any]:
    """Locust's ``calculate_response_time_percentile`` for all ``qs`` from one sort."""
    return _percentiles(*_cumulative(response_times), num_requests, qs)


def bucket_counts(
    response_times: dict[Any, int], bounds: Sequence[float] = BUCKET_BOUNDS_MS
) -> list[int]:
    """Cumulative counts of response times (ms keys) ``<= bound`` for each bound."""
    keys, cumulative = _cumulative(response_times)
    return [cumulative[bisect_right(keys, b)] for b in bounds]


def _cumulative(response_times: dict[Any, int]) -> tuple[list[Any], list[int]]:
    """The sorted keys, and ``cumulative[i]``: the count of all keys before ``keys[i]``."""
    keys = sorted(response_times)
    return keys, [0, *accumulate(map(response_times.__getitem__, keys))]


def _percentiles(
    keys: list[Any], cumulative: list[int], num_requests: int, qs: Sequence[float]
) -> list[Any]:
    # Locust walks the keys from the largest down, adding each count to ``processed``, and
    # returns the first key with ``num_requests - processed <= int(num_requests * q)`` (0 if
    # none). At keys[i], processed = total - cumulative[i], so that key is the largest i with
    # cumulative[i] <= int(num_requests * q) + total - num_requests: one bisection per q.
    offset = cumulative[-1] - num_requests
    bounds = [int(num_requests * q) + offset for q in qs]
    found = map(bisect_right, repeat(cumulative), bounds, repeat(0), repeat(len(keys)))
    return [keys[i - 1] if i else 0 for i in found]


@dataclass(frozen=True, slots=True)
class EndpointRow:
    method: str
    name: str
    requests: int
    failures: int
    content_bytes: int
    sum_seconds: float
    buckets: list[int]  # cumulative, one per BUCKET_BOUNDS_MS; +Inf is ``requests``
    quantiles_ms: list[Any]
    max_ms: float
    current_rps: float = 0.0
    current_fail_per_sec: float = 0.0
    #: Locust's current-window percentiles (LIVE_PERCENTILES); None: no timed request in it
    current_ms: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class ErrorRow:
    method: str
    name: str
    error: str
    count: int


@dataclass(frozen=True, slots=True)
class Model:
    endpoints: list[EndpointRow]
    errors: list[ErrorRow]
    total_quantiles_ms: list[Any]
    total_max_ms: float
    total_current_ms: list[Any] | None
    snapshot: RunSnapshot
    dropped_endpoints: int


class CardinalityGuard:
    """Keeps the first ``limit`` endpoints and error series; later ones fold into ``__other__``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._endpoints: set[tuple[str, str]] = set()
        self._folded: set[tuple[str, str]] = set()
        self._errors: set[tuple[str, str, str]] = set()
        self._warned_errors = False

    @property
    def dropped(self) -> int:
        return len(self._folded)

    def endpoint(self, method: str, name: str) -> str:
        key = (method, name)
        if key in self._endpoints:
            return name
        if len(self._endpoints) < self.limit and key not in self._folded:
            self._endpoints.add(key)
            return name
        if not self._folded:
            logger.warning(
                "locust_prometheus: endpoint limit reached: more than %d endpoints, further ones "
                "are exported as name=%r (raise --prometheus-max-endpoints, or group URLs with "
                "Locust's name= argument)",
                self.limit,
                OTHER,
            )
        self._folded.add(key)
        return OTHER

    def error(self, method: str, name: str, text: str) -> str:
        key = (method, name, text)
        if key in self._errors:
            return text
        if len(self._errors) < self.limit:
            self._errors.add(key)
            return text
        if not self._warned_errors:
            self._warned_errors = True
            logger.warning(
                "locust_prometheus: error series limit reached: more than %d distinct errors, "
                "further ones are exported as error=%r (check the errors' texts for ids)",
                self.limit,
                OTHER,
            )
        return OTHER


def window_percentiles(
    response_times: dict[Any, int],
    timed_requests: int,
    start: WindowStart | None,
    qs: Sequence[float] = LIVE_PERCENTILES,
    keys: list[Any] | None = None,
) -> list[Any] | None:
    """Locust's ``get_current_response_time_percentile``: percentiles of the response times
    logged since ``start``; None when there is no window or no timed request in it.
    ``keys``: ``sorted(response_times)`` if the caller has it already."""
    if start is None or timed_requests - start.timed_requests <= 0:
        return None
    keys = sorted(response_times) if keys is None else keys
    old = start.response_times
    # The per-key difference, in C loops (a dict comprehension here cost more than the rest
    # of the model): keys whose count did not change are not in the window.
    diffs = list(map(sub, map(response_times.__getitem__, keys), map(old.get, keys, repeat(0))))
    window_keys = list(compress(keys, diffs))
    cumulative = [0, *accumulate(filter(None, diffs))]
    return _percentiles(window_keys, cumulative, timed_requests - start.timed_requests, qs)


def _window(
    response_times: dict[Any, int], timed_requests: int, start: WindowStart | None
) -> tuple[dict[Any, int] | None, int]:
    if start is None:
        return None, 0
    old = start.response_times
    diff = {k: d for k, v in response_times.items() if (d := v - old.get(k, 0))}
    return diff, timed_requests - start.timed_requests


class _Folded:
    """Endpoints beyond the cap, summed into one ``__other__`` row per method."""

    def __init__(self) -> None:
        self.requests = self.none = self.failures = self.content = 0
        self.total_rt = self.max_rt = self.rps = self.fails_per_sec = 0.0
        self.response_times: dict[Any, int] = {}
        self.window: dict[Any, int] = {}
        self.window_n = 0
        self.has_window = False

    def add(self, e: EntrySnapshot) -> None:
        self.requests += e.num_requests
        self.none += e.num_none_requests
        self.failures += e.num_failures
        self.content += e.total_content_length
        self.total_rt += e.total_response_time
        self.max_rt = max(self.max_rt, e.max_response_time)
        self.rps += e.current_rps
        self.fails_per_sec += e.current_fail_per_sec
        _add(self.response_times, e.response_times)
        window, n = _window(e.response_times, e.num_requests - e.num_none_requests, e.window_start)
        if window is not None:
            self.has_window = True
            _add(self.window, window)
            self.window_n += n

    def row(self, method: str, qs: Sequence[float]) -> EndpointRow:
        current = None
        if self.has_window and self.window_n > 0:
            current = percentiles(self.window, self.window_n, LIVE_PERCENTILES)
        return EndpointRow(
            method, OTHER, self.requests, self.failures, self.content, self.total_rt / 1000.0,
            bucket_counts(self.response_times),
            percentiles(self.response_times, self.requests - self.none, qs), self.max_rt,
            self.rps, self.fails_per_sec, current,
        )  # fmt: skip


def _add(into: dict[Any, int], counts: dict[Any, int]) -> None:
    for k, v in counts.items():
        into[k] = into.get(k, 0) + v


class Distributions:
    """Each endpoint's buckets, percentiles and live-window percentiles, with the inputs they
    came from. An endpoint without new requests since the last push has equal counts (a C-level
    dict comparison, far cheaper than sorting and bisecting again) and gets the same lists back;
    its window percentiles too while the window starts at the same copy of Locust's. Exact:
    the results are a function of those inputs alone."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[Any, ...]] = {}

    def of(
        self, e: EntrySnapshot, timed: int, qs: Sequence[float]
    ) -> tuple[list[int], list[Any], list[Any] | None]:
        """(bucket counts, percentiles, window percentiles) of ``e``'s response times."""
        key = (e.method, e.name)
        rt, start = e.response_times, e.window_start
        # The window start is Locust's own cached copy, never mutated: identity is enough.
        start_key = (None, 0) if start is None else (start.response_times, start.timed_requests)
        last = self._last.get(key)
        # The snapshot hands back the same copy while an endpoint is unchanged: `is` first.
        if (
            last is not None
            and last[1] == timed
            and last[2] == qs
            and (last[0] is rt or last[0] == rt)
        ):
            if last[6][0] is start_key[0] and last[6][1] == start_key[1]:
                return last[4], last[5], last[7]
            current = window_percentiles(rt, timed, start, keys=last[3])
            self._last[key] = (*last[:6], start_key, current)
            return last[4], last[5], current
        keys, cumulative = _cumulative(rt)  # one sort for buckets and both percentiles
        buckets = list(
            map(cumulative.__getitem__, map(bisect_right, repeat(keys), BUCKET_BOUNDS_MS))
        )
        found = _percentiles(keys, cumulative, timed, qs)
        current = window_percentiles(rt, timed, start, keys=keys)
        self._last[key] = (rt, timed, qs, keys, buckets, found, start_key, current)
        return buckets, found, current


def _row(e: EntrySnapshot, name: str, qs: Sequence[float], dist: Distributions) -> EndpointRow:
    buckets, found, current = dist.of(e, e.num_requests - e.num_none_requests, qs)
    return EndpointRow(
        e.method, name, e.num_requests, e.num_failures, e.total_content_length,
        e.total_response_time / 1000.0, buckets, found,
        e.max_response_time, e.current_rps, e.current_fail_per_sec, current,
    )  # fmt: skip


def build_model(
    snapshot: RunSnapshot, guard: CardinalityGuard, dist: Distributions | None = None
) -> Model:
    """Per-endpoint numbers; pass the same ``dist`` each push to skip unchanged endpoints."""
    dist = Distributions() if dist is None else dist
    qs = snapshot.percentiles
    endpoints: list[EndpointRow] = []
    folded: dict[str, _Folded] = {}
    for e in snapshot.entries:
        name = guard.endpoint(e.method, e.name)
        if name is OTHER:
            folded.setdefault(e.method, _Folded()).add(e)
            continue
        endpoints.append(_row(e, name, qs, dist))
    endpoints.extend(acc.row(method, qs) for method, acc in folded.items())

    counts: dict[tuple[str, str, str], int] = {}
    for method, name, error, occurrences in snapshot.errors:
        folded_name = guard.endpoint(method, name)
        text = guard.error(method, folded_name, normalize_error(error))
        key = (method, folded_name, text)
        counts[key] = counts.get(key, 0) + occurrences
    errors = [ErrorRow(m, n, t, c) for (m, n, t), c in counts.items()]

    t = snapshot.total
    timed = t.num_requests - t.num_none_requests
    return Model(
        endpoints=endpoints,
        errors=errors,
        total_quantiles_ms=percentiles(t.response_times, timed, qs),
        total_max_ms=t.max_response_time,
        total_current_ms=window_percentiles(t.response_times, timed, t.window_start),
        snapshot=snapshot,
        dropped_endpoints=guard.dropped,
    )


def percentile_labels(qs: Iterable[float]) -> list[str]:
    """Values of the ``percentile`` label: ``0.95`` for Locust's 95th percentile."""
    return [str(float(q)) for q in qs]

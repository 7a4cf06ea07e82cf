from __future__ import annotations

import random
import time
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from locust import stats as locust_stats
from locust_prometheus.model import (
    BUCKET_BOUNDS_MS,
    OTHER,
    CardinalityGuard,
    bucket_counts,
    build_model,
    normalize_error,
    percentiles,
    window_percentiles,
)
from locust_prometheus.snapshot import EntrySnapshot, RunSnapshot, WindowStart

QS = tuple(locust_stats.PERCENTILES_TO_REPORT)


@given(
    st.dictionaries(st.integers(0, 120_000), st.integers(1, 50), max_size=60), st.integers(0, 30)
)
def test_percentiles_equal_locusts_own(times: dict[int, int], none: int) -> None:
    n = sum(times.values())
    expected = [locust_stats.calculate_response_time_percentile(times, n, q) for q in QS]
    assert percentiles(times, n, QS) == expected
    # Locust's denominator when some requests had no response time
    assert percentiles(times, n + none, QS) == [
        locust_stats.calculate_response_time_percentile(times, n + none, q) for q in QS
    ]


def test_bounds_are_on_locusts_rounding_grid() -> None:
    assert 20 <= len(BUCKET_BOUNDS_MS) <= 25
    for b in BUCKET_BOUNDS_MS:
        assert locust_stats.bucket_response_time(b) == b


@given(st.lists(st.floats(0, 100_000, allow_nan=False), max_size=300))
def test_buckets_exact_for_rounded_times(raw: list[float]) -> None:
    times: dict[int, int] = {}
    for t in raw:
        k = locust_stats.bucket_response_time(t)
        times[k] = times.get(k, 0) + 1
    got = bucket_counts(times)
    for bound, count in zip(BUCKET_BOUNDS_MS, got, strict=True):
        # every raw time that Locust rounded to <= bound is itself < the next grid step
        assert count == sum(1 for t in raw if locust_stats.bucket_response_time(t) <= bound)
    assert got == sorted(got)


def test_buckets_follow_a_replaced_bucketing_function() -> None:
    # e.g. a user's 3-significant-digit rounding: keys are whatever Locust stored
    times = {147: 2, 1234: 1, 99: 3}
    counts = dict(zip(BUCKET_BOUNDS_MS, bucket_counts(times), strict=True))
    assert counts[100] == 3 and counts[150] == 5 and counts[1000] == 5 and counts[1500] == 6


def test_error_normalization() -> None:
    e1 = "HTTPError('500 Server Error for url: /students/123')"
    e2 = "HTTPError('500 Server Error for url: /students/98765')"
    assert normalize_error(e1) == normalize_error(e2)
    assert "500" in normalize_error(e1)
    u = "not found: 123e4567-e89b-12d3-a456-426614174000 at <obj object at 0x7f3a2b1c>"
    assert normalize_error(u) == "not found: <uuid> at <obj object at <hex>>"
    assert normalize_error("took 12.5 ms, id deadbeef42") == "took <n> ms, id <hex>"
    assert normalize_error("CatchResponseError('boom 12345')") == "'boom <n>'"
    assert normalize_error(ConnectionRefusedError(111, "refused")).startswith(
        "ConnectionRefusedError(111"
    )
    assert len(normalize_error("x" * 1000)) == 200


def _entry(method: str, name: str, times: dict[int, int], fails: int = 0) -> EntrySnapshot:
    n = sum(times.values())
    total = sum(k * v for k, v in times.items())
    return EntrySnapshot(method, name, n, 0, fails, total, max(times, default=0), 10 * n, times)


def _snapshot(
    entries: list[EntrySnapshot], errors: list[tuple[str, str, object, int]]
) -> RunSnapshot:
    total: dict[int, int] = {}
    for e in entries:
        for k, v in e.response_times.items():
            total[k] = total.get(k, 0) + v
    return RunSnapshot(
        entries=entries,
        total=_entry("", "Aggregated", total),
        errors=errors,
        users={"U": 3},
        workers=None,
        loadgen=[("local", 12.5, 1000)],
        start_time=1.0,
        last_request_timestamp=2.0,
        end_time=None,
        percentiles=QS,
    )


def test_cap_folds_further_endpoints_into_other_and_stays_stable(caplog) -> None:  # type: ignore[no-untyped-def]
    guard = CardinalityGuard(3)
    entries = [_entry("GET", f"/e{i}", {i + 1: 2}) for i in range(6)]
    model = build_model(_snapshot(entries, [("GET", "/e5", "boom 1234", 2)]), guard)
    names = [(r.method, r.name) for r in model.endpoints]
    assert names == [("GET", "/e0"), ("GET", "/e1"), ("GET", "/e2"), ("GET", OTHER)]
    other = model.endpoints[-1]
    assert other.requests == 6 and other.buckets[4] == 6  # 4,5,6 ms each twice
    assert model.dropped_endpoints == 3
    assert [(e.name, e.error, e.count) for e in model.errors] == [(OTHER, "boom <n>", 2)]
    assert sum("endpoint limit" in r.message for r in caplog.records) == 1
    # later pushes keep the same set, even if a new endpoint sorts first
    again = build_model(_snapshot([_entry("GET", "/a", {1: 1}), *entries], []), guard)
    assert [r.name for r in again.endpoints] == ["/e0", "/e1", "/e2", OTHER]
    assert sum("endpoint limit" in r.message for r in caplog.records) == 1


def test_error_series_capped() -> None:
    guard = CardinalityGuard(2)
    errors: list[tuple[str, str, object, int]] = [("GET", "/", f"kind {c}", 1) for c in "abcd"]
    model = build_model(_snapshot([_entry("GET", "/", {1: 4}, fails=4)], errors), guard)
    assert sorted((e.error, e.count) for e in model.errors) == [
        (OTHER, 2),
        ("kind a", 1),
        ("kind b", 1),
    ]


def test_random_model_totals() -> None:
    rng = random.Random(3)
    entries = [
        _entry("GET", f"/r{i}", {locust_stats.bucket_response_time(rng.uniform(0, 3000)): 1})
        for i in range(50)
    ]
    model = build_model(_snapshot(entries, []), CardinalityGuard(1000))
    assert sum(r.requests for r in model.endpoints) == 50
    assert all(r.buckets[-1] == r.requests for r in model.endpoints)


@given(
    st.dictionaries(st.integers(0, 20_000), st.integers(1, 30), max_size=40),
    st.dictionaries(st.integers(0, 20_000), st.integers(1, 30), max_size=40),
)
def test_window_percentiles_equal_locusts_current(
    before: dict[int, int], after: dict[int, int]
) -> None:
    """Locust's current percentile diffs its response times with a cached copy; so do we."""
    entry = locust_stats.StatsEntry(
        locust_stats.RequestStats(), "/w", "GET", use_response_times_cache=True
    )
    entry.response_times_cache = None
    for rt, n in before.items():
        for _ in range(n):
            entry._log_response_time(rt)
    entry.num_requests = sum(before.values())
    key = int(time.time()) - locust_stats.CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
    entry._cache_response_times(key)
    cached = entry.response_times_cache[key]  # type: ignore[index]
    for rt, n in after.items():
        for _ in range(n):
            entry._log_response_time(rt)
    entry.num_requests += sum(after.values())
    start = WindowStart(cached.response_times, cached.num_requests - cached.num_none_requests)
    got = window_percentiles(dict(entry.response_times), entry.num_requests, start)
    expected = [entry.get_current_response_time_percentile(q) for q in (0.5, 0.95, 0.99)]
    assert got == (expected if after else None)


def test_folded_endpoints_sum_live_rates_and_merge_windows() -> None:
    guard = CardinalityGuard(1)
    start = WindowStart({100: 5}, 5)
    entries = [
        _entry("GET", "/kept", {10: 1}),
        replace(_entry("GET", "/f1", {100: 5, 200: 10}), current_rps=2.5, window_start=start),
        replace(_entry("GET", "/f2", {300: 10}), current_rps=1.5, current_fail_per_sec=0.5,
                window_start=WindowStart({}, 0)),
    ]  # fmt: skip
    model = build_model(_snapshot(entries, []), guard)
    other = model.endpoints[-1]
    assert (other.name, other.current_rps, other.current_fail_per_sec) == (OTHER, 4.0, 0.5)
    # window: 10 at 200 ms (f1 since its start) and 10 at 300 ms (f2)
    assert other.current_ms == percentiles({200: 10, 300: 10}, 20, (0.5, 0.95, 0.99))
    assert model.endpoints[0].current_ms is None  # no window start: no live percentile

from __future__ import annotations

import random

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
)
from locust_prometheus.snapshot import EntrySnapshot, RunSnapshot

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

"""Remote write from the endpoints' values (``exposition.unformatted``) sends, batch after batch,
exactly the series and samples that the same payload in the text format does: the same labels
and values, only the changed series plus the periodic full send, the same staleness markers."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

import pytest
from exporter_support import decode, stats_env
from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
from locust_prometheus.exposition import Health, Unformatted, encode, unformatted
from locust_prometheus.model import CardinalityGuard, Distributions, build_model
from locust_prometheus.remote_series import FULL_SEND_MS, SeriesDelta
from locust_prometheus.remote_write_proto import frame_labels, labels_bytes
from locust_prometheus.snapshot import take_snapshot

# Percent signs, quotes, backslashes, newlines, non-ASCII, an empty name: as test_incremental.
NAMES = ["/a%20b", "%s", "%%d", 'q"\\\n', "ünï ☃", "", "/x/{id}", "/quiet"]
T0 = 1_800_000_000.0


def _set_window(stats: object, name: str, *, live: bool) -> None:
    """Give ``GET name`` a live-percentile window of the last 10 s, or none (its
    current-window series leave the payload, then come back)."""
    entry = stats.entries[(name, "GET")]  # type: ignore[attr-defined]
    entry.response_times_cache = {}
    if live:
        entry._cache_response_times(int(time.time()) - CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW)


def _bits(batch: tuple[bytes, int]) -> dict[object, list[tuple[bytes, int]]]:
    return {k: [(struct.pack("<d", v), t) for v, t in s] for k, s in decode(batch).items()}


def test_values_and_text_give_the_same_batches_push_after_push() -> None:
    env = stats_env(NAMES, (1, 7, 55, 99.6, 240, 1234), live_window=True)
    stats = env.runner.stats  # type: ignore[union-attr]
    guard, dist = CardinalityGuard(1000), Distributions()
    by_values, by_text = SeriesDelta("locust", "r1"), SeriesDelta("locust", "r1")
    info = {"testplan": "t", "odd": 'q"\\'}
    steps: list[tuple[Callable[[], object], float]] = [
        (lambda: None, 0),  # the first batch: every series
        (lambda: None, 1),  # nothing changed: the always-sent series only
        (lambda: [stats.log_request("GET", n, 300 + i, 7) for i, n in enumerate(NAMES[:3])], 1),
        (lambda: stats.log_request("POST", "/new%endpoint", 12, 5), 1),  # a new endpoint
        (lambda: stats.log_error("GET", "/quiet", "ConnectionError('refused')"), 1),
        (lambda: stats.log_request("GET", "/x/{id}", None, 0), 1),  # no response time
        (lambda: _set_window(stats, "/quiet", live=False), 1),  # its live series leave
        (lambda: stats.log_request("GET", "/quiet", 9, 1), 1),  # a request, still no window
        (
            lambda: (
                _set_window(stats, "/quiet", live=True),
                stats.log_request("GET", "/quiet", 11, 1),
            ),
            1,
        ),  # and come back
        (lambda: None, FULL_SEND_MS / 1000),  # a full send is due
        (stats.reset_all, 1),  # Locust's --reset-stats: counts fall, an endpoint goes
        (lambda: [stats.log_request("GET", n, 7, 1) for n in NAMES], 1),
    ]
    seconds = T0
    sizes, lines, names = [], [], []
    for i, (step, later) in enumerate(steps):
        step()
        seconds += later
        model = build_model(take_snapshot(env), guard, dist)
        health = Health(pushes=i, failures=0, last_duration=0.125 * i, last_bytes=1000 * i)
        values = unformatted(model, info, health)
        assert isinstance(values, Unformatted) and values.endpoints
        text = encode(model, info, health)
        mine, reference = by_values.batch(values, seconds), by_text.batch(text, seconds)
        assert decode(mine) == decode(reference), f"batch {i}"
        assert mine[1] == reference[1]
        sizes.append(mine[1])
        lines.append(sum(1 for x in text.splitlines() if x and not x.startswith(b"#")))
        names.append({dict(k).get("name", dict(k)["__name__"]) for k in decode(mine)})
    # the first batch and the full send: every series of the payload, + push_time_seconds
    assert sizes[0] == lines[0] + 1 and sizes[9] == lines[9] + 1
    # nothing changed but the exporter's own health: those and the always-sent series
    assert names[1] == {"push_time_seconds", "locust_run_start_timestamp_seconds",
                        "locust_exporter_pushes_total", "locust_exporter_last_push_bytes",
                        "locust_exporter_last_push_duration_seconds"}  # fmt: skip
    assert names[2] >= set(NAMES[:3]) and not names[2] & set(NAMES[3:])
    assert 5 < sizes[2] < sizes[0] / 2  # three endpoints changed: a part of their series
    assert "/quiet" not in names[6]  # its live series left: nothing to send for them
    assert _bits(by_values.stale()) == _bits(by_text.stale())  # NaN markers: compare bits


def test_a_lost_batch_and_a_forced_full_send_send_everything() -> None:
    env = stats_env(NAMES[:3], (5, 50))
    model = build_model(take_snapshot(env), CardinalityGuard(100))
    values = unformatted(model, {}, Health())
    delta = SeriesDelta("locust", "r")
    whole = delta.batch(values, T0)[1]
    assert delta.batch(values, T0 + 1)[1] == 2
    delta.full_next = True
    assert delta.batch(values, T0 + 2)[1] == whole
    assert delta.batch(values, T0 + 3, full=True)[1] == whole
    # a timestamp of another varint length (the heads are made again): the same series
    assert (
        decode(delta.batch(values, 5.0, full=True)).keys()
        == decode(SeriesDelta("locust", "r").batch(values, T0)).keys()
    )


@pytest.mark.parametrize(
    "labels",
    [
        [("__name__", "m"), ("job", "locust"), ("name", "")],
        [("__name__", "locust_requests_total"), ("name", 'ünï ☃ "q"\\\n'), ("x", "y" * 300)],
        [("a" * 200, "b")],
        [],
    ],
)
def test_hand_framed_labels_are_protobufs_bytes(labels: list[tuple[str, str]]) -> None:
    assert frame_labels(labels) == labels_bytes(labels)

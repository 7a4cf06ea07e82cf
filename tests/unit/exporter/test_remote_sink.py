"""The remote-write sink without a network: series deltas, the WriteRequest, the sender's
retries, rejections and queue bound (a recording handler stands in for the receiver)."""

from __future__ import annotations

import email.message
import io
import logging
import math
import struct
import time
import urllib.error
from typing import Any

import gevent
import pytest
from exporter_support import decode, stats_env
from locust_prometheus.exposition import Health, encode
from locust_prometheus.model import CardinalityGuard, build_model
from locust_prometheus.options import ConfigError, config_from_options
from locust_prometheus.pushgateway_http import make_handler
from locust_prometheus.remote_series import FULL_SEND_MS, SeriesDelta, parse_series_key
from locust_prometheus.remote_write import MAX_QUEUED_BATCHES, RemoteWriter, retry_after
from locust_prometheus.remote_write_proto import (
    STALE_NAN,
    encode_write_request,
    is_stale_nan,
    labels_bytes,
)
from locust_prometheus.snapshot import take_snapshot


def payload(requests: int, other: int = 7) -> bytes:
    return (
        "# HELP locust_requests_total x\n# TYPE locust_requests_total counter\n"
        f'locust_requests_total{{method="GET",name="/a"}} {requests}\n'
        f'locust_requests_total{{method="GET",name="/q\\"u\\\\o\\nte"}} {other}\n'
        "locust_run_response_time_max_seconds 0.25\n"
        "locust_run_start_timestamp_seconds 1000.5\n"
    ).encode()


def test_series_key_parses_the_text_formats_escapes() -> None:
    assert parse_series_key('m{a="x",b="q\\"u\\\\o\\nte",c=""}') == [
        ("__name__", "m"), ("a", "x"), ("b", 'q"u\\o\nte'), ("c", "")
    ]  # fmt: skip
    assert parse_series_key("plain_metric") == [("__name__", "plain_metric")]


def test_first_batch_full_then_only_changes_then_periodic_full() -> None:
    delta = SeriesDelta("locust", "r1")
    t0 = 1_800_000_000.0
    first = decode(delta.batch(payload(1), t0))
    names = {dict(k)["__name__"] for k in first}
    assert names == {"locust_requests_total", "locust_run_response_time_max_seconds",
                     "locust_run_start_timestamp_seconds", "push_time_seconds"}  # fmt: skip
    assert len(first) == 5
    for labels, samples in first.items():
        assert ("job", "locust") in labels and ("run_id", "r1") in labels
        assert samples[0][1] == int(t0 * 1000)
    odd = dict(next(k for k in first if ("name", '/q"u\\o\nte') in k))
    assert odd["method"] == "GET"

    second = decode(delta.batch(payload(2), t0 + 1))
    changed = {dict(k).get("name", dict(k)["__name__"]): v[0][0] for k, v in second.items()}
    # The start timestamp goes in every batch: the gate measures the send interval from it.
    assert changed == {"/a": 2.0, "push_time_seconds": t0 + 1,
                       "locust_run_start_timestamp_seconds": 1000.5}  # fmt: skip

    later = decode(delta.batch(payload(2), t0 + FULL_SEND_MS / 1000))
    assert len(later) == 5  # nothing changed, but a full send was due

    delta.full_next = True  # as after a lost batch
    assert delta.batch(payload(2), t0 + FULL_SEND_MS / 1000 + 1)[1] == 5


def test_stamps_increase_even_for_an_older_snapshot_and_staleness_ends_every_series() -> None:
    delta = SeriesDelta("locust", "r1")
    delta.batch(payload(1), 1000.0)
    older = decode(delta.batch(payload(3), 999.0))
    assert {v[0][1] for v in older.values()} == {1_000_001}
    stale = decode(delta.stale())
    assert len(stale) == 5
    for samples in stale.values():
        value, stamp = samples[0]
        assert is_stale_nan(value) and stamp == 1_000_002
    assert not is_stale_nan(math.nan)
    assert struct.pack("<d", STALE_NAN) == struct.pack("<Q", 0x7FF0000000000002)


def test_the_same_families_as_the_pushgateway_payload() -> None:
    env = stats_env(["/a", "/b"], [5, 10, 20])
    text = encode(build_model(take_snapshot(env), CardinalityGuard(100)), {"testplan": "t"},
                  Health())  # fmt: skip
    series = decode(SeriesDelta("locust", "r").batch(text, 1000.0))
    lines = [line for line in text.decode().splitlines() if line and not line.startswith("#")]
    assert len(series) == len(lines) + 1  # + push_time_seconds
    exposed = {line.partition("{")[0].rpartition(" ")[0] or line.partition("{")[0]
               for line in lines}  # fmt: skip
    assert {dict(k)["__name__"] for k in series} == exposed | {"push_time_seconds"}


class Receiver:
    """A handler that records each body and answers with the next scripted outcome."""

    def __init__(self, outcomes: list[BaseException | None] | None = None) -> None:
        self.outcomes = list(outcomes or [])
        self.bodies: list[bytes] = []
        self.headers: list[list[tuple[str, str]]] = []
        #: raised on every request while set (an outage)
        self.down: BaseException | None = None

    def __call__(self, url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
        def send() -> None:
            assert method == "POST"
            self.bodies.append(data)
            self.headers.append(headers)
            outcome = self.outcomes.pop(0) if self.outcomes else self.down
            if outcome is not None:
                raise outcome

        return send


def http_error(code: int, body: str = "", retry: str = "") -> urllib.error.HTTPError:
    headers = email.message.Message()
    if retry:
        headers["Retry-After"] = retry
    return urllib.error.HTTPError("http://rw", code, "x", headers, io.BytesIO(body.encode()))


def writer(receiver: Receiver, sleeps: list[float] | None = None) -> RemoteWriter:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        gevent.sleep(0)

    return RemoteWriter(
        "http://rw/api/v1/write", handler=receiver, timeout=1, interval=1, job="locust",
        run_id="r", sleep=sleep, offload=lambda work: work(),
    )  # fmt: skip


def test_429_waits_its_retry_after_then_delivers() -> None:
    sleeps: list[float] = []
    rec = Receiver([http_error(429, retry="3"), http_error(503)])
    w = writer(rec, sleeps)
    w.put(payload(1), budget=5, final=True, at=1000.0)
    assert len(rec.bodies) == 3 and rec.bodies[0] == rec.bodies[2]
    assert sleeps[0] == 3.0 and sleeps[1] < 3.0  # then tenacity's own exponential backoff
    assert w.failures == 0 and w.sent_batches == 1
    assert ("Content-Encoding", "snappy") in rec.headers[0]
    assert retry_after(http_error(429, retry="Thu, 01 Jan 1970 00:00:00 GMT")) == 0.0


def test_400_is_reported_once_and_the_batch_dropped(caplog: pytest.LogCaptureFixture) -> None:
    reason = "out of order sample"
    rec = Receiver([http_error(400, reason), http_error(400, reason), None])
    w = writer(rec)
    with caplog.at_level(logging.WARNING):
        w.put(payload(1), budget=5, at=1000.0)
        w.put(payload(2), budget=5, at=1001.0)
        w.put(payload(3), budget=5, final=True, at=1002.0)
    assert len(rec.bodies) == 3  # one attempt per batch: no loop on a rejected one
    reports = [r for r in caplog.records if reason in r.getMessage()]
    assert len(reports) == 1 and "HTTP 400" in reports[0].getMessage()
    assert w.failures == 2 and w.dropped_batches == 2
    assert len(decode(rec.bodies[2])) == 5  # after a lost batch, the next one is full


def test_an_outage_keeps_the_batch_counts_failures_and_delivers_in_order() -> None:
    refused = urllib.error.URLError(ConnectionRefusedError(111, "refused"))
    rec = Receiver()
    rec.down = refused
    w = writer(rec)
    w.cycle = 0.05  # a send cycle's retries end after this (normally the push interval)
    w.put(payload(1), budget=0, at=1000.0)
    deadline = time.monotonic() + 10
    while w.failures < 2 and time.monotonic() < deadline:  # the retries run in the loop
        gevent.sleep(0.01)
    assert w.failures >= 2 and w.sent_batches == 0
    rec.down = None
    w.put(payload(2), budget=5, final=True, at=1001.0)
    delivered = [decode(b) for b in rec.bodies[-2:]]
    stamps = [{s[0][1] for s in d.values()} for d in delivered]
    assert stamps == [{1_000_000}, {1_001_000}]  # in order, after the outage
    w.delete(budget=5)
    assert all(is_stale_nan(s[0][0]) for s in decode(rec.bodies[-1]).values())


def test_the_queue_is_bounded_during_an_outage() -> None:
    rec = Receiver()
    rec.down = urllib.error.URLError(OSError("down"))
    w = writer(rec)
    for i in range(MAX_QUEUED_BATCHES + 5):
        w.put(payload(i), budget=0, at=1000.0 + i)
    assert len(w._queue) <= MAX_QUEUED_BATCHES
    assert w.dropped_batches >= 4 and w.delta.full_next
    w.stop()


def test_options_select_remote_write_with_headers(tmp_path: Any) -> None:
    class Options:
        prometheus_remote_write = "127.0.0.1:9090/api/v1/write"
        prometheus_header = ("X-Scope-OrgID=tenant1", "X-Other = v=1")

    config = config_from_options(Options(), env={})
    assert config.remote_write == "http://127.0.0.1:9090/api/v1/write" and config.enabled
    assert config.headers == (("X-Scope-OrgID", "tenant1"), ("X-Other", "v=1"))

    class Both(Options):
        prometheus_pushgateway = "http://gw:9091"

    with pytest.raises(ConfigError, match="exclusive"):
        config_from_options(Both(), env={})
    for bad in (["novalue"], ["bad name=x"], ["X-A=line\nbreak"]):

        class Bad(Options):
            prometheus_header = bad

        with pytest.raises(ConfigError, match="--prometheus-header"):
            config_from_options(Bad(), env={})


def test_headers_reach_every_request() -> None:
    class Options:
        prometheus_remote_write = "http://127.0.0.1:9/api/v1/write"
        prometheus_header = ("X-Scope-OrgID=tenant1",)

    sent: list[Any] = []

    class Opener:
        def open(self, request: Any, timeout: Any) -> Any:
            sent.append(request)
            raise urllib.error.URLError("stop here")

    import urllib.request

    original = urllib.request.build_opener
    try:
        urllib.request.build_opener = lambda *a: Opener()  # type: ignore[assignment]
        handler = make_handler(config_from_options(Options(), env={}))
    finally:
        urllib.request.build_opener = original
    with pytest.raises(urllib.error.URLError):
        handler("http://x", "POST", 1, [("Content-Encoding", "snappy")], b"x")()
    assert sent[0].get_header("X-scope-orgid") == "tenant1"
    assert sent[0].get_header("Content-encoding") == "snappy"


def test_the_hand_framed_request_parses_as_protobufs_own() -> None:
    """The hot path frames WriteRequest itself around protobuf-serialized labels: protobuf parses
    it to the same message as its own encoding of the same series (zero, negative, NaN, huge
    values; a timestamp of a shorter varint)."""
    delta = SeriesDelta("locust", "r1")
    values = ["0", "-1.5", "NaN", "+Inf", "1e300", "42"]
    text = "".join(f'm{{i="{i}",v="{v}"}} {v}\n' for i, v in enumerate(values)).encode()
    for seconds in (1_800_000_000.0, 1.0):  # a 6-byte and a 2-byte varint timestamp
        mine = decode(delta.batch(text, seconds, full=True))
        reference = decode(
            encode_write_request((labels_bytes(list(k)), v) for k, v in mine.items())
        )
        assert list(mine) == list(reference)
        for key, samples in mine.items():
            ((value, stamp),) = samples
            ((ref_value, ref_stamp),) = reference[key]
            assert stamp == ref_stamp and struct.pack("<d", value) == struct.pack("<d", ref_value)
        delta = SeriesDelta("locust", "r1")


def test_a_new_series_moves_the_lines_and_only_changes_are_sent() -> None:
    delta = SeriesDelta("locust", "r1")
    delta.batch(payload(1), 1000.0)
    assert delta.batch(payload(1), 1001.0)[1] == 2  # start timestamp and push_time_seconds
    new = b'locust_requests_total{method="GET",name="/new"} 1\n'
    grown = new + payload(2)  # every line moved; /a changed; /new is new
    sent = decode(delta.batch(grown, 1002.0))
    names = sorted(dict(k).get("name", dict(k)["__name__"]) for k in sent)
    assert names == ["/a", "/new", "locust_run_start_timestamp_seconds", "push_time_seconds"]
    assert delta.batch(grown, 1003.0)[1] == 2

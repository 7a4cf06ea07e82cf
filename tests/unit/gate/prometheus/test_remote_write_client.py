"""The verdicts and run markers by remote write (``check --remote-write-results``, ``runs pin|
exclude --remote-write``) against a real HTTP receiver on loopback: what is sent (decoded here
from the protobuf wire format by hand, independently of the gate's declaration), retries on
429/5xx with ``Retry-After``, a 400 reported once with its reason, and the exit codes.
Prometheus's own receiver takes the same bytes in tests/integration/test_history_remote_write.py.
"""

from __future__ import annotations

import http.server
import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cramjam
import pytest
from gate_cli_support import CHECKS, Writer, check, closed_port_url, one_line_error
from gate_fakeprom import FakePrometheus, value
from promgate.cli import run

Series = tuple[dict[str, str], float, int]
#: the delivery takes the prometheus: block's attempts (3 here) and first backoff
QUICK = "prometheus:\n  retries: 3\n  retry_wait: 0.01\n  timeout: 5\n"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) of a protobuf message: bytes for length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 1:
            val, i = buf[i : i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            val, i = buf[i : i + size], i + size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        yield number, val


def decode(body: bytes) -> list[Series]:
    """A snappy-compressed WriteRequest as (labels, value, timestamp ms) per series."""
    out = []
    for _, ts in _fields(bytes(cramjam.snappy.decompress_raw(body))):
        labels: dict[str, str] = {}
        samples = []
        for number, part in _fields(ts):
            if number == 1:
                pair = dict(_fields(part))
                labels[pair[1].decode()] = pair.get(2, b"").decode()
            else:
                sample = dict(_fields(part))
                raw = sample.get(1, bytes(8))  # proto3 leaves a 0.0 out: absent reads as 0
                samples.append((struct.unpack("<d", raw)[0], sample.get(2, 0)))
        assert len(samples) == 1, samples
        assert list(labels) == sorted(labels), labels  # the protocol wants them sorted
        out.append((labels, *samples[0]))
    return out


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next scripted (status, headers, body); records the requests."""

    script: list[tuple[int, dict[str, str], bytes]] = []  # noqa: RUF012 - one class per test
    seen: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((dict(self.headers.items()), body))
        status, headers, text = self.script.pop(0) if self.script else (204, {}, b"")
        self.send_response(status)
        for name, val in {**headers, "Content-Length": str(len(text))}.items():
            self.send_header(name, val)
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler: type[Receiver] = type("R", (Receiver,), {"script": [], "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/write", handler
    finally:
        server.shutdown()
        server.server_close()


def _passing(fake_prom: FakePrometheus) -> None:
    fake_prom.on('percentile="0.95"', value(0.3)).on("locust_request_failures_total", value(0.01))


def test_verdict_written_as_the_pushgateway_group_reads(
    fake_prom: FakePrometheus,
    write_config: Writer,
    receiver: tuple[str, type[Receiver]],
    tmp_path: Path,
) -> None:
    url, rec = receiver
    _passing(fake_prom)
    config = write_config(QUICK + "  headers: {X-Scope-OrgID: team-a}\n" + CHECKS, fast=False)
    out = tmp_path / "r.json"
    assert check(fake_prom, config, "--remote-write-results", url, "--json", str(out)) == 0
    doc = json.loads(out.read_text())
    (headers, body), *more = rec.seen
    assert not more
    assert headers["Content-Encoding"] == "snappy"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["X-Scope-OrgID"] == "team-a"  # the prometheus: block's headers go along
    series = {(s[0]["__name__"], s[0].get("check", "")): s for s in decode(body)}
    stamp = int(doc["generated_at"] * 1000)
    assert {s[2] for s in series.values()} == {stamp}  # stamped at the verdict
    for labels, _, _ in series.values():
        assert labels["job"] == "promgate" and labels["run_id"] == "run-1"
    assert series[("promgate_verdict", "")][1] == 0
    assert series[("promgate_timestamp_seconds", "")][1] == doc["generated_at"]
    assert series[("push_time_seconds", "")][1] == doc["generated_at"]
    for c in doc["checks"]:
        assert series[("promgate_check_value", c["name"])][1] == pytest.approx(c["value"])
        assert series[("promgate_check_verdict", c["name"])][1] == 0
        assert set(series[("promgate_check_value", c["name"])][0]) == {
            "__name__", "job", "run_id", "check"
        }  # fmt: skip
    assert len(series) == 3 + 2 * len(doc["checks"])


def test_retries_429_and_5xx_then_delivers(
    fake_prom: FakePrometheus, write_config: Writer, receiver: tuple[str, type[Receiver]]
) -> None:
    url, rec = receiver
    _passing(fake_prom)
    rec.script += [(429, {"Retry-After": "1"}, b"slow down"), (503, {}, b"ingester down")]
    config = write_config(QUICK + CHECKS, fast=False)
    started = time.monotonic()
    assert check(fake_prom, config, "--remote-write-results", url) == 0
    assert len(rec.seen) == 3 and rec.seen[0][1] == rec.seen[2][1]  # the same batch again
    # The receiver's Retry-After, not the 0.01 s backoff of the config (a lower bound only).
    assert time.monotonic() - started >= 0.95


def test_400_is_reported_once_with_its_reason(
    fake_prom: FakePrometheus,
    write_config: Writer,
    receiver: tuple[str, type[Receiver]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, rec = receiver
    _passing(fake_prom)
    rec.script.append((400, {}, b"out of order sample\n"))
    assert check(fake_prom, write_config(CHECKS), "--remote-write-results", url) == 3
    line = one_line_error(capsys.readouterr().err)
    assert "HTTP 400: out of order sample" in line and "refused" in line
    assert len(rec.seen) == 1  # not retried


def test_receiver_down_exits_3_after_the_verdict(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    _passing(fake_prom)
    code = check(fake_prom, write_config(CHECKS), "--remote-write-results", closed_port_url())
    out, err = capsys.readouterr()
    assert code == 3 and "PASS" in out  # judged and shown; the delivery failed, as a push does
    assert "remote write of the verdict" in one_line_error(err)


def test_bad_url_is_refused_before_judging(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom, write_config(CHECKS), "--remote-write-results", "http://[::1") == 2
    assert "remote-write URL" in one_line_error(capsys.readouterr().err)
    assert fake_prom.hits == 0
    both = ("--remote-write-results", "http://a:1", "--push-results", "http://b:2")
    assert check(fake_prom, write_config(CHECKS), *both) == 2


def test_pin_and_exclude_by_remote_write(
    receiver: tuple[str, type[Receiver]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, rec = receiver
    config = tmp_path / "gate.yaml"
    config.write_text(
        CHECKS + "prometheus:\n  basic_auth: {username: ci, password: s3cret}\n", encoding="utf-8"
    )
    assert run(["runs", "pin", "r-7", "--remote-write", url, "--config", str(config)]) == 0
    monkeypatch.setenv("PROMGATE_REMOTE_WRITE_URL", url)
    assert run(["runs", "exclude", "r-7", "--clear"]) == 0
    (h1, pin), (h2, clear) = rec.seen
    assert h1["Authorization"].startswith("Basic ") and "Authorization" not in h2
    marks = {s[0]["marker"]: s for s in decode(pin) if s[0]["__name__"] == "promgate_run_marker"}
    assert {m: s[1] for m, s in marks.items()} == {"pinned": 1.0, "excluded": 0.0}
    labels = marks["pinned"][0]
    assert labels == {
        "__name__": "promgate_run_marker", "job": "promgate", "run_id": "r-7", "marker": "pinned"
    }  # fmt: skip
    cleared = [s for s in decode(clear) if s[0]["__name__"] == "promgate_run_marker"]
    assert [(s[0]["marker"], s[1]) for s in cleared] == [("excluded", 0.0)]
    assert cleared[0][2] > marks["pinned"][2] - 1000  # stamped now, not at some verdict


def test_markers_refuse_two_sinks_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROMGATE_REMOTE_WRITE_URL", "http://127.0.0.1:1/api/v1/write")
    monkeypatch.setenv("PROMGATE_PUSHGATEWAY_URL", "http://127.0.0.1:1")
    assert run(["runs", "pin", "r-1"]) == 2
    assert "both PROMGATE_PUSHGATEWAY_URL" in one_line_error(capsys.readouterr().err)

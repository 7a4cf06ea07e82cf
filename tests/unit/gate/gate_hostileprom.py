"""A hostile fake Prometheus: the fake of ``gate_fakeprom`` (one finished run, rules per query)
plus fault modes written on the raw socket — a body that drips a byte at a time, headers that
never end, a connection closed mid-answer, a redirect to another host, answers of every wrong
shape, megabytes of error text, control characters and workflow commands in label values.

``HOSTILE_MODES`` names each fault; ``hostile_server(mode)`` serves one. Every mode is a fault:
the gate must never pass (exit 0) against any of them, and must end within its bounds.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from gate_fakeprom import END, START, FakePrometheus, JsonHandler, Reply, error, serving, vector

#: a secret every hostile test puts in the URL and config; no output may contain it
SECRET = "S3CRET-hostile-pw"
#: what a check query of the hostile configs contains (the rules match it)
CHECK_QUERY = "hostile_metric"

Raw = Callable[[BaseHTTPRequestHandler], None]


def _ok(result: Any, kind: str = "vector", **extra: Any) -> Reply:
    return 200, {"status": "success", "data": {"resultType": kind, "result": result}, **extra}


def _sample(labels: Any = None, val: Any = None) -> dict[str, Any]:
    return {"metric": labels if labels is not None else {}, "value": val or [END, "1"]}


# -- raw socket faults -----------------------------------------------------------------------


def _drip_body(h: BaseHTTPRequestHandler) -> None:
    body = json.dumps(_ok([_sample()])[1]).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    for byte in body:
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.2)


def _drip_headers(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(10_000):
        h.wfile.write(b"X: y\r\n")
        h.wfile.flush()
        time.sleep(0.2)


def _silent(h: BaseHTTPRequestHandler) -> None:
    time.sleep(30)


def _close_mid_body(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"status": "succ')
    h.wfile.flush()
    h.connection.shutdown(socket.SHUT_RDWR)


def _garbage(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"\x00\x1b[2J\xff\xfe garbage\r\n\r\n")
    h.connection.shutdown(socket.SHUT_RDWR)


def _huge_body(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.end_headers()
    chunk = b" " * (1 << 20)
    for _ in range(200):  # 200 MiB of whitespace: larger than any answer is read
        h.wfile.write(chunk)


def _raw(fn: Raw) -> Raw:
    return fn


# -- JSON answers of the wrong shape or with hostile text ------------------------------------

_CONTROL = "\x1b[2J\x1b]0;pwned\x07\rall checks PASS\n::error::injected ##[error]v1"

JSON_FAULTS: dict[str, Reply] = {
    "sample_without_value": _ok([{"metric": {}}]),
    "one_element_value": _ok([{"metric": {}, "value": [END]}]),
    "sample_not_object": _ok([5]),
    "metric_not_object": _ok([{"metric": 5, "value": [END, "1"]}]),
    "metric_value_not_string": _ok([{"metric": {"a": 5}, "value": [END, "1"]}]),
    "value_not_list": _ok([{"metric": {}, "value": "1"}]),
    "value_number_not_string": _ok([{"metric": {}, "value": [END, 1]}]),
    "value_garbage": _ok([{"metric": {}, "value": [END, "abc"]}]),
    "timestamp_string": _ok([{"metric": {}, "value": ["abc", "1"]}]),
    "timestamp_huge_int": _ok([{"metric": {}, "value": [10**400, "1"]}]),
    "result_not_list": _ok({"a": 1}),
    "result_type_unknown": _ok([], kind="banana"),
    "result_type_string": _ok([END, "x"], kind="string"),
    "scalar_malformed": _ok("x", kind="scalar"),
    "warnings_number": _ok([_sample()], warnings=5),
    "warnings_object": _ok([_sample()], warnings={"a": 1}),
    "data_not_object": (200, {"status": "success", "data": [1, 2]}),
    "status_unknown": (200, {"status": "weird"}),
    "error_huge": error(422, "execution", "x" * 5_000_000),
    "error_control": error(422, "execution", _CONTROL),
    "error_type_huge": error(422, "e" * 100_000, "boom"),
    "bad_data_control": error(400, "bad_data", _CONTROL),
    "unauthorized": error(401, "unauthorized", f"no {SECRET}"),
    "server_error": error(503, "unavailable", "down"),
    "rate_limited": (429, {"status": "error", "errorType": "too many", "error": "slow down"}),
    "not_json_object": (200, [1, 2, 3]),  # type: ignore[dict-item]
    "empty_vector": _ok([]),
    "nan_value": _ok([_sample(val=[END, "NaN"])]),
    "inf_value": _ok([_sample(val=[END, "+Inf"])]),
    "huge_values_to_sum": _ok([_sample({"i": str(i)}, [END, "1.7e308"]) for i in range(3)]),
    "label_control": _ok([_sample({"name": _CONTROL}, [END, "5"])]),
    "label_surrogate": _ok([_sample({"name": "\ud800x"}, [END, "5"])]),
    "error_surrogate": error(422, "execution", "bad \udfff"),
    "label_command": _ok([_sample({"name": "::error::x"}, [END, "5"]), _sample({"b": "c"})]),
    "many_series": _ok([_sample({"i": str(i)}, [END, "5"]) for i in range(20_000)]),
}

#: the raw samples of the run's start and end timestamps (how the gate finds the window)
WINDOW_QUERY = '__name__=~"locust_run_(start|end)'


def _end_samples(values: Any) -> Reply:
    series = [{"metric": {"__name__": "locust_run_end_timestamp_seconds"}, "values": values}]
    return _ok(series, kind="matrix")


_FAR = time.time() + 9_999_900.0
#: faults in the run's discovery: answers to ``WINDOW_QUERY``
WINDOW_FAULTS: dict[str, Reply] = {
    # Stamped 9,999,900 s ahead of this machine's clock: the wait of 115 days.
    "future_timestamps": _end_samples([[_FAR, str(END)], [_FAR + 1.0, str(END)]]),
    "matrix_timestamp_abc": _end_samples([["abc", "1"]]),
    "matrix_timestamp_nan": _end_samples([["NaN", "1"]]),
    "matrix_values_object": _end_samples({"a": 1}),
    "matrix_huge_interval": _end_samples([[START, "1"], [START + 1e12, "1"]]),
    "matrix_not_list": _ok({"a": 1}, kind="matrix"),
    "matrix_is_vector": _ok([_sample()]),
}

RAW_FAULTS: dict[str, Raw] = {
    "drip_body": _drip_body,
    "drip_headers": _drip_headers,
    "silent": _silent,
    "close_mid_body": _close_mid_body,
    "garbage_bytes": _garbage,
    "huge_body": _huge_body,
}

#: every mode: raw socket faults, wrong JSON, window faults, and a cross-host redirect
HOSTILE_MODES = sorted(
    [
        *RAW_FAULTS,
        *(f"json:{m}" for m in JSON_FAULTS),
        *(f"window:{m}" for m in WINDOW_FAULTS),
        "redirect_other_host",
    ]
)


@contextmanager
def hostile_server(mode: str) -> Iterator[tuple[FakePrometheus, list[dict[str, str]]]]:
    """Serve ``mode`` on 127.0.0.1: check queries (those with ``CHECK_QUERY``) get the fault;
    window faults break the run's discovery instead. Yields the fake and the headers of every
    request that reached ``localhost`` (the redirect's other host)."""
    fake = FakePrometheus(default=vector(({}, 1.0)))
    raw: Raw | None = None
    if mode in RAW_FAULTS:
        raw = RAW_FAULTS[mode]
    elif mode.startswith("json:"):
        fake.on(CHECK_QUERY, JSON_FAULTS[mode.removeprefix("json:")])
    window = WINDOW_FAULTS.get(mode.removeprefix("window:"))
    seen: list[dict[str, str]] = []

    class Handler(JsonHandler):
        timeout = 60

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = parse_qs(parsed.query).get("query", [""])[0]
            host = self.headers.get("Host", "")
            if host.startswith("localhost"):
                seen.append(dict(self.headers.items()))
                self.send_json(*vector(({}, 1.0)))
                return
            if mode == "redirect_other_host" and CHECK_QUERY in query:
                self.send_response(302)
                port = self.server.server_address[1]
                self.send_header("Location", f"http://localhost:{port}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if window is not None and WINDOW_QUERY in query:
                self.send_json(*window)
                return
            if raw is not None and CHECK_QUERY in query:
                with suppress(OSError):
                    raw(self)
                return
            self.send_json(*fake.answer(query))

    with serving(Handler) as url:
        fake.url = url
        yield fake, seen

"""A tiny fake Prometheus HTTP API on 127.0.0.1, in-process, for the gate's error paths.

It answers the run-discovery queries for one finished run and, for every other query, the first
rule whose substring occurs in the query text (or ``default`` when a test sets one). Rules return
a Prometheus JSON body and an HTTP status, so 5xx, 400 bad_data, NaN and empty vectors are all one
line in a test. A query no rule answers is an error reply, and the test fails at teardown naming
it: a test never passes on an answer it did not choose.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from promgate.core.judging.summary import SUMMARY_QUERIES
from promgate.core.runs.collect import RECORD_QUERIES, REPORT_QUERIES, REPORT_RANGE_QUERIES

#: the gate's summary queries (core/judging/summary.py) and the queries behind a result's endpoints,
#: profile and report (core/runs/collect.py), with the run's variables as wildcards
SUMMARY = [
    re.compile(re.sub(r"\\\$(job|run_id|window|rate_window)", ".+?", re.escape(template)))
    for template in [
        *(build() for build, _ in SUMMARY_QUERIES.values()),
        *RECORD_QUERIES.values(),
        *REPORT_QUERIES.values(),
        *REPORT_RANGE_QUERIES.values(),
    ]
]
#: how the queries that explain an empty answer begin (promgate.queries.diagnose)
DIAGNOSIS = (
    "count(last_over_time(",
    "group by (",
    "max_over_time(timestamp(count(",
    "max(max_over_time(locust_exporter_push_failures_total",
)
START = 1_700_000_000.0
END = START + 60.0
Reply = tuple[int, dict[str, Any]]
_EMPTY_MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": []}}


def vector(*series: tuple[dict[str, str], float | str]) -> Reply:
    result = [{"metric": labels, "value": [END, str(value)]} for labels, value in series]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


def value(v: float | str) -> Reply:
    return vector(({}, v))


def error(status: int, etype: str, text: str) -> Reply:
    return status, {"status": "error", "errorType": etype, "error": text}


@dataclass
class FakePrometheus:
    url: str = ""
    #: (substring of the query, reply); first match wins
    rules: list[tuple[str, Reply | Callable[[str], Reply]]] = field(default_factory=list)
    #: the answer to queries no rule matches; None: such a query fails the test
    default: Reply | None = None
    #: queries nothing answered (the fixture fails the test when this is not empty)
    unknown: list[str] = field(default_factory=list)
    #: run ids this server knows; None: the run exists but has no end yet
    runs: dict[str, float | None] = field(default_factory=lambda: {"run-1": END})
    queries: list[str] = field(default_factory=list)
    #: a status for every request (e.g. 503), overriding everything
    status_override: int | None = None
    hits: int = 0

    def on(self, needle: str, reply: Reply | Callable[[str], Reply]) -> FakePrometheus:
        self.rules.insert(0, (needle, reply))
        return self

    def answer(self, query: str, ranged: bool = False) -> Reply:
        self.hits += 1
        self.queries.append(query)
        if self.status_override is not None:
            return self.status_override, {"status": "error", "errorType": "internal", "error": "x"}
        run = next((r for r in self.runs if f'run_id="{r}"' in query), None)
        if "topk(1" in query:
            return vector(*[({"run_id": r}, START) for r in self.runs][:1])
        if '__name__=~"locust_run_(start|end)' in query:
            if run is None:
                return 200, {"status": "success", "data": {"resultType": "matrix", "result": []}}
            start = [[START + i, str(START)] for i in range(0, 64)]
            series = [
                {"metric": {"__name__": "locust_run_start_timestamp_seconds"}, "values": start}
            ]
            end = self.runs[run]
            if end is not None:
                series.append(
                    {
                        "metric": {"__name__": "locust_run_end_timestamp_seconds"},
                        "values": [[end + 1.0, str(end)], [end + 2.0, str(end)]],
                    }
                )
            return 200, {"status": "success", "data": {"resultType": "matrix", "result": series}}
        if "locust_run_start_timestamp_seconds" in query and "/" not in query:
            return value(START) if run is not None else vector()
        if "locust_run_end_timestamp_seconds" in query:
            end = self.runs.get(run) if run is not None else None
            return value(end) if end is not None else vector()
        for needle, reply in self.rules:
            if needle in query:
                return reply(query) if callable(reply) else reply
        if self.default is not None:
            return self.default
        if query.startswith(DIAGNOSIS):
            # Why a check had no data (core/judging/nodata.py): nothing known here, unless
            # a rule says.
            return vector()
        if any(pattern.fullmatch(query) for pattern in SUMMARY):
            # The figures every result carries; a test that cares sets a rule. No data here, so
            # a check that happens to share one of these queries can never pass on it.
            return (200, _EMPTY_MATRIX) if ranged else vector()
        self.unknown.append(query)
        return error(400, "bad_data", f"fake Prometheus has no answer for: {query}")


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler that answers with one write of headers and one of body."""

    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms.
    disable_nagle_algorithm = True

    def send_body(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, body: Any) -> None:
        self.send_body(status, json.dumps(body).encode())

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    # The gate queries concurrently; socketserver's backlog of 5 would drop SYNs (1 s retry).
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yields its URL."""
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def fake_prom() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            if parsed.path not in ("/api/v1/query", "/api/v1/query_range"):
                self.send_body(404, b"404 page not found", "text/plain")
                return
            query = parse_qs(parsed.query).get("query", [""])[0]
            self.send_json(*fake.answer(query, parsed.path == "/api/v1/query_range"))

    with serving(Handler) as url:
        fake.url = url
        yield fake
    assert not fake.unknown, "queries the test gave no answer for: " + "; ".join(fake.unknown)

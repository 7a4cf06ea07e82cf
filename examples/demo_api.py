"""Demo system under test: a small "Student Management System" API.

It counts every request it answers by method, route and status — the ground truth the tests
compare promgate's numbers with — and exposes the server-side view as Prometheus metrics
(``http_requests_total``, ``http_request_duration_seconds``), as the Locust CI/CD guide's
dashboard expects.

Routes: GET /health; GET/POST /students; GET /students/{id}; GET /courses; GET /courses/{id};
GET/POST /enrollments. Control: GET /__counts, POST /__reset, GET/POST /__config, GET /metrics.
``/__config`` takes ``{"fail_from": UNIX_TIME}``: from that moment on every route answers 500 (a
system under test that falls over mid-run; ``null`` heals it). With ``latency_sigma`` > 0 (global or
per route) a route's latency is log-normal with median ``latency_ms`` and that shape;
``latency_factor`` multiplies every latency (a per-run "machine" factor, or a slowed route).

    python examples/demo_api.py --port 8080 --latency-ms 5 --error-rate 0.02
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter

ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/health$"), "/health"),
    ("GET", re.compile(r"^/students$"), "/students"),
    ("POST", re.compile(r"^/students$"), "/students"),
    ("GET", re.compile(r"^/students/\d+$"), "/students/{id}"),
    ("GET", re.compile(r"^/courses$"), "/courses"),
    ("GET", re.compile(r"^/courses/\d+$"), "/courses/{id}"),
    ("GET", re.compile(r"^/enrollments$"), "/enrollments"),
    ("POST", re.compile(r"^/enrollments$"), "/enrollments"),
]


class State:
    """Configuration and counts, shared by the handler threads."""

    def __init__(self, latency_ms: float, jitter_ms: float, error_rate: float, seed: int | None):
        self.lock = threading.Lock()
        self.config: dict[str, Any] = {
            "latency_ms": latency_ms,
            "jitter_ms": jitter_ms,
            "error_rate": error_rate,
            "routes": {},  # route -> {"latency_ms": .., "error_rate": ..} overrides
            "fail_from": None,  # Unix time from which every route answers 500
            "latency_sigma": 0.0,  # > 0: log-normal latency, median latency_ms, this shape
            "latency_factor": 1.0,  # multiplies every latency (global x route)
        }
        self.counts: Counter[tuple[str, str, int]] = Counter()
        self.random = random.Random(seed)
        self.registry = CollectorRegistry()
        self.requests = PromCounter(
            "http_requests",
            "Requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Server-side request duration",
            ["method", "route"],
            registry=self.registry,
        )

    def setting(self, route: str, key: str) -> float:
        with self.lock:
            override = self.config["routes"].get(route, {})
            return float(override.get(key, self.config[key]))

    def failing(self) -> bool:
        with self.lock:
            fail_from = self.config.get("fail_from")
        return fail_from is not None and time.time() >= float(fail_from)

    def latency(self, route: str) -> float:
        """This request's latency in ms: uniform jitter over ``latency_ms``, or log-normal."""
        with self.lock:
            override = self.config["routes"].get(route, {})
            factor = float(self.config.get("latency_factor", 1.0))
            factor *= float(override.get("latency_factor", 1.0))
            sigma = float(override.get("latency_sigma", self.config.get("latency_sigma", 0.0)))
            median = float(override.get("latency_ms", self.config["latency_ms"]))
            jitter = float(override.get("jitter_ms", self.config["jitter_ms"]))
            if sigma > 0:
                return median * math.exp(self.random.gauss(0.0, sigma)) * factor
            return (median + self.random.random() * jitter) * factor

    def roll(self) -> float:
        with self.lock:
            return self.random.random()

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.counts[(method, route, status)] += 1
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real API server
        # Headers and body go out in two writes: with Nagle on, the body waits for the
        # client's delayed ACK and every response gains ~40 ms on Linux loopback.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            started = time.perf_counter()
            path = self.path.split("?", 1)[0]
            body = self._read_body()
            if path.startswith("/__") or path == "/metrics":
                self._control(method, path, body)
                return
            route = next((r for m, rx, r in ROUTES if m == method and rx.match(path)), None)
            if route is None:
                self._send(404, {"error": "not found"})
                state.record(method, "unmatched", 404, time.perf_counter() - started)
                return
            latency = state.latency(route)
            if latency > 0:
                time.sleep(latency / 1000)
            if state.failing() or state.roll() < state.setting(route, "error_rate"):
                status, payload = 500, {"error": "injected failure"}
            else:
                status, payload = (201 if method == "POST" else 200), _payload(route, path)
            self._send(status, payload)
            state.record(method, route, status, time.perf_counter() - started)

        def _control(self, method: str, path: str, body: bytes) -> None:
            if path == "/metrics":
                self._send(200, generate_latest(state.registry), "text/plain; version=0.0.4")
            elif path == "/__counts":
                with state.lock:
                    rows = [
                        {"method": m, "route": r, "status": s, "count": n}
                        for (m, r, s), n in sorted(state.counts.items())
                    ]
                self._send(200, rows)
            elif path == "/__reset" and method == "POST":
                with state.lock:
                    state.counts.clear()
                self._send(200, {"reset": True})
            elif path == "/__config":
                if method == "POST":
                    update = json.loads(body or b"{}")
                    with state.lock:
                        state.config.update(update)
                with state.lock:
                    self._send(200, state.config)
            else:
                self._send(404, {"error": "not found"})

    return Handler


def _payload(route: str, path: str) -> Any:
    if route == "/health":
        return {"status": "ok"}
    if route.endswith("{id}"):
        return {"id": int(path.rsplit("/", 1)[1]), "name": "Ada Lovelace"}
    return [{"id": i, "name": f"item {i}"} for i in range(10)]


def serve(host: str, port: int, state: State) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(state))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="promgate demo system under test")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--jitter-ms", type=float, default=10.0)
    parser.add_argument("--error-rate", type=float, default=0.0, help="0..1")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--port-file", type=Path, help="write the bound port here when ready")
    args = parser.parse_args(argv)
    state = State(args.latency_ms, args.jitter_ms, args.error_rate, args.seed)
    server = serve(args.host, args.port, state)
    port = server.server_address[1]
    if args.port_file:
        args.port_file.write_text(str(port))
    print(f"demo API listening on http://{args.host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

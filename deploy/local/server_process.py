"""A local server binary (Prometheus, Pushgateway, VictoriaMetrics) as a child process.

Written once for ``localstack.py`` and ``victoria.py``: find the binary, start it with its log
in the stack's folder, wait until its readiness URL answers, stop it (SIGTERM, then SIGKILL),
and query its Prometheus-compatible HTTP API.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests

__all__ = [
    "QueryApi",
    "Servers",
    "StackError",
    "find_binary",
    "free_port",
    "start_server",
    "terminate",
    "wait_until",
]


class StackError(RuntimeError):
    """The local stack could not start or stop."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1
) -> object:
    """Poll ``predicate`` until it returns something truthy; TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def terminate(
    proc: subprocess.Popen[Any] | None, timeout: float = 15, *, kill: bool = False
) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds: a child never outlives its owner.
    With ``kill``, SIGKILL at once: an outage, not a shutdown."""
    if proc is None or proc.poll() is not None:
        return
    if kill:
        proc.kill()
        proc.wait(timeout=10)
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def find_binary(*names: str, packages: str) -> str:
    """The first of ``names`` on PATH; StackError naming the Debian ``packages`` otherwise."""
    path = next((p for p in map(shutil.which, names) if p), None)
    if not path:
        raise StackError(
            f"local stack: {names[0]} not found (install it: apt-get install -y {packages}, "
            "or run `make setup`)"
        )
    return path


def start_server(
    argv: list[str], *, what: str, url: str, ready_path: str, log_path: Path, timeout: float
) -> subprocess.Popen[bytes]:
    """Start ``argv`` (output appended to ``log_path``, in its own session) and wait until
    ``url + ready_path`` answers 200. If it does not in ``timeout`` s: the child is stopped and
    StackError names ``what`` and the log."""
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready() -> bool:
        if proc.poll() is not None:
            raise StackError(f"{what} exited with {proc.returncode}")
        return requests.get(f"{url}{ready_path}", timeout=1).status_code == 200

    try:
        wait_until(ready, timeout, f"{what} on {url}")
    except TimeoutError as exc:
        terminate(proc)
        raise StackError(f"local stack: {what} did not start: {exc} (see {log.name})") from exc
    return proc


_S = TypeVar("_S", bound="Servers")


class Servers:
    """Child servers that ``start`` starts and ``stop`` stops; a context manager of both."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class QueryApi:
    """Instant and range queries of the Prometheus-compatible HTTP API at ``api_url``."""

    @property
    def api_url(self) -> str:
        raise NotImplementedError

    def query(self, expr: str, at: float | None = None) -> list[dict[str, object]]:
        """Instant query; returns the API's result list (StackError on an API error)."""
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._result("/api/v1/query", params)

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1.0
    ) -> list[dict[str, object]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._result("/api/v1/query_range", params)

    def _result(self, path: str, params: dict[str, str]) -> list[dict[str, object]]:
        body = requests.get(f"{self.api_url}{path}", params=params, timeout=30).json()
        if body.get("status") != "success":
            raise StackError(f"query failed: {body.get('error')} ({params['query']})")
        return list(body["data"]["result"])

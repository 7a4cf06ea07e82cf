"""Pull mode: the run's metrics on ``http://HOST:PORT/metrics`` from the master's gevent loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .options import ConfigError

__all__ = ["MetricsServer"]

logger = logging.getLogger(__name__)

#: ``render(compress)``: the current payload, gzipped when asked.
Render = Callable[[bool], bytes]


class MetricsServer:
    """A /metrics endpoint; ``start`` raises ConfigError when the address is taken."""

    def __init__(self, render: Render) -> None:
        self._render = render
        self._server: Any = None

    def start(self, host: str, port: int) -> None:
        from gevent.pywsgi import WSGIServer

        try:
            self._server = WSGIServer((host, port), self._app, log=None, error_log=logger)
            self._server.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on --prometheus-listen {host}:{port}: {exc} (pick a free port)"
            ) from exc
        logger.info("locust_prometheus: serving metrics on http://%s:%d/metrics", host, self.port)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics\n"]
        compress = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        try:
            body = self._render(compress)
        except Exception:
            logger.exception("locust_prometheus: /metrics failed")
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            # The exception's text stays in the log: it may name paths or internals.
            return [b"metrics failed (see the Locust log)\n"]
        headers = [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]
        if compress:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [body]

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int | None:
        return None if self._server is None else int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None

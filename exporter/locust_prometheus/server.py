"""Pull mode: the run's metrics on ``http://HOST:PORT/metrics`` from the master's gevent loop.

Loopback unless told otherwise (``options``); optionally behind basic auth (a ``USER:PASSWORD``
file) and TLS (a certificate and key), as Prometheus's own ``web.config.file`` offers.
"""

from __future__ import annotations

import base64
import hmac
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
        #: the ``Authorization`` header value /metrics requires; None: no auth
        self._expected: bytes | None = None

    def start(
        self, host: str, port: int, *, auth_file: str = "", cert_file: str = "", key_file: str = ""
    ) -> None:
        from gevent.pywsgi import WSGIServer

        if auth_file:
            self._expected = _basic_auth_header(auth_file)
        tls = {"certfile": cert_file, "keyfile": key_file} if cert_file else {}
        try:
            self._server = WSGIServer((host, port), self._app, log=None, error_log=logger, **tls)
            self._server.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on --prometheus-listen {host}:{port}: {exc} (pick a free port)"
            ) from exc
        scheme = "https" if cert_file else "http"
        logger.info(
            "locust_prometheus: serving metrics on %s://%s:%d/metrics%s",
            scheme,
            host,
            self.port,
            " (basic auth)" if auth_file else "",
        )

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics\n"]
        if self._expected is not None:
            given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, self._expected):
                start_response(
                    "401 Unauthorized",
                    [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Basic realm="metrics"')],
                )
                return [b"unauthorized\n"]
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


def _basic_auth_header(path: str) -> bytes:
    """``Basic base64(USER:PASSWORD)`` from the file's first line; ConfigError when unusable."""
    try:
        with open(path, encoding="utf-8") as fh:
            line = fh.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read --prometheus-listen-auth-file {path}: {exc}") from exc
    if ":" not in line or not line.split(":", 1)[0]:
        raise ConfigError(
            f"invalid --prometheus-listen-auth-file {path}: expected one line USER:PASSWORD"
        )
    return b"Basic " + base64.b64encode(line.encode("utf-8"))

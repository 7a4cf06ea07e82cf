"""The exporter's bearer token (``--prometheus-bearer-token-file``): sent on every request and
read again for each, so a token a sidecar rotates during the run is used from the next push."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_bearer_token_is_sent_and_reread_per_request(tmp_path: Path) -> None:
    """The Pushgateway cannot check bearer tokens (a proxy in front of it does): check what
    the exporter sends, with a recording HTTP server."""
    from locust_prometheus.options import ExporterConfig
    from locust_prometheus.pushgateway_http import Pusher, group_url, make_handler

    seen: list[tuple[str, str | None]] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((self.command, self.headers.get("Authorization")))
            self.send_response(202 if self.command == "DELETE" else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = do_DELETE = _record

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        token = tmp_path / "token"
        token.write_text("first-token\n")
        base = f"http://127.0.0.1:{server.server_port}"
        cfg = ExporterConfig(pushgateway=base, bearer_token_file=str(token))
        pusher = Pusher(group_url(base, "locust", "r"), handler=make_handler(cfg), timeout=5)
        pusher.put(b"x 1\n", budget=5)
        token.write_text("rotated-token")  # e.g. a sidecar renewing it during the run
        pusher.put(b"x 2\n", budget=5)
        pusher.delete(budget=5)
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [
        ("PUT", "Bearer first-token"),
        ("PUT", "Bearer rotated-token"),
        ("DELETE", "Bearer rotated-token"),
    ]


# -- a Pushgateway that never answers --------------------------------------------------------------

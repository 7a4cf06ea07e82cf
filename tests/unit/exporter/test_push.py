from __future__ import annotations

import base64
import io
import logging
import ssl
import time
import urllib.error
from pathlib import Path
from typing import Any

import gevent
import pytest
from locust import User, constant, task
from locust.env import Environment
from locust_prometheus import PrometheusExporter
from locust_prometheus.options import ConfigError, ExporterConfig
from locust_prometheus.pushgateway_http import FailureLog, Pusher, describe, group_url, make_handler


class U(User):
    wait_time = constant(1)

    @task
    def t(self) -> None:  # pragma: no cover
        pass


@pytest.mark.parametrize("value", ["plain", "a/b", "", "sp ace", 'q"\\\n', "ünï"])
def test_group_url_roundtrips_any_value(value: str) -> None:
    url = group_url("http://gw:9091/", "locust", value)
    prefix = "http://gw:9091/metrics/job@base64/"
    assert url.startswith(prefix)
    encoded = url.rsplit("/run_id@base64/", 1)[1]
    assert "/" not in encoded
    assert (base64.urlsafe_b64decode(encoded).decode() if encoded != "=" else "") == value


class Recorder:
    def __init__(self, failures: list[BaseException | None]) -> None:
        self.failures = failures
        self.calls: list[tuple[str, str, list[tuple[str, str]], bytes]] = []

    def __call__(
        self, url: str, method: str, timeout: float | None, headers: Any, data: bytes
    ) -> Any:
        def send() -> None:
            self.calls.append((url, method, headers, data))
            exc = self.failures.pop(0) if self.failures else None
            if exc is not None:
                raise exc

        return send


def test_retries_then_succeeds() -> None:
    rec = Recorder([ConnectionRefusedError(111, "refused"), None])
    Pusher("http://x/metrics", handler=rec, timeout=1, sleep=lambda s: None).put(b"x", budget=5)
    assert [c[1] for c in rec.calls] == ["PUT", "PUT"]


def test_client_errors_are_not_retried() -> None:
    err = urllib.error.HTTPError("http://x", 400, "Bad Request", {}, None)  # type: ignore[arg-type]
    rec = Recorder([err])
    with pytest.raises(urllib.error.HTTPError):
        Pusher("http://x", handler=rec, timeout=1, sleep=lambda s: None).put(b"x", budget=5)
    assert len(rec.calls) == 1


def test_failure_log_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = FailureLog("push", every=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO):
        for i in range(100):
            now[0] = i * 1.0
            log.failed(OSError("down"), "hint")
        log.succeeded()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # first, then one after 60 s
    assert "59 more failures" in warnings[1].getMessage()
    assert any("recovered after 100" in r.getMessage() for r in caplog.records)


def _exporter(handler: Recorder, **kw: Any) -> tuple[PrometheusExporter, Environment]:
    env = Environment(user_classes=[U])
    env.create_local_runner()
    cfg = ExporterConfig(pushgateway="http://gw", run_id="r/1", linger=0, **kw)
    exp = PrometheusExporter(cfg, handler=handler)
    exp.register(env)
    env.runner.stats.log_request("GET", "/", 5, 1)  # type: ignore[union-attr]
    return exp, env


def test_lifecycle_push_final_delete() -> None:
    rec = Recorder([])
    exp, env = _exporter(rec, push_interval=60)
    env.events.test_start.fire(environment=env)
    exp.channel.loop.join(timeout=0.5)  # type: ignore[union-attr]
    env.events.test_stop.fire(environment=env)
    env.events.quit.fire(exit_code=0)
    methods = [c[1] for c in rec.calls]
    assert methods == ["PUT", "PUT", "PUT", "DELETE"]
    final = rec.calls[2][3].decode()
    assert "locust_run_end_timestamp_seconds " in final
    assert 'locust_requests_total{method="GET",name="/"} 1' in final
    assert "locust_exporter_pushes_total 2" in final
    assert rec.calls[0][0].endswith("/run_id@base64/ci8x")


def test_each_test_of_one_process_is_its_own_run() -> None:
    # The web UI's "New test" in one Locust process: runs must not merge into one group.
    rec = Recorder([])
    exp, env = _exporter(rec, push_interval=60)
    urls: list[set[str]] = []
    for _ in range(2):
        env.events.test_start.fire(environment=env)
        exp.channel.loop.join(timeout=0.5)  # type: ignore[union-attr]
        env.events.test_stop.fire(environment=env)
        urls.append({c[0] for c in rec.calls if c[1] == "PUT"} - set().union(*urls))
    assert exp.config.run_id == "r/1-2"
    assert len(urls[0]) == len(urls[1]) == 1 and urls[0] != urls[1]
    env.events.quit.fire(exit_code=0)
    deleted = {c[0] for c in rec.calls if c[1] == "DELETE"}
    assert deleted == urls[0] | urls[1]  # the first run's group too, after its linger


def test_keep_skips_delete_and_failures_never_escape(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder([OSError("down")] * 20)
    exp, env = _exporter(rec, keep=True, push_timeout=0.1)
    exp.channel.pusher.attempts = 2  # type: ignore[union-attr]
    exp.channel.pusher._sleep = lambda s: None  # type: ignore[union-attr]
    env.events.test_stop.fire(environment=env)
    env.events.quit.fire(exit_code=0)
    assert "DELETE" not in [c[1] for c in rec.calls]
    assert exp.health.failures == 2
    assert not any("Uncaught" in r.getMessage() for r in caplog.records)


def test_zero_budget_means_one_attempt() -> None:
    # After a failed final push, the quit push gets budget 0: one quick attempt, not a new
    # round of retries (0 must not fall back to the push interval's budget).
    rec = Recorder([OSError("down")] * 5)
    exp, _ = _exporter(rec, push_interval=60, push_timeout=0.1)
    exp.channel.pusher._sleep = lambda s: None  # type: ignore[union-attr]
    assert exp.push(final=True, budget=0.0) is False
    assert len(rec.calls) == 1


def test_untrusted_server_certificate_is_not_retried_and_says_what_to_do() -> None:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    rec = Recorder([urllib.error.URLError(cause)] * 3)
    with pytest.raises(urllib.error.URLError) as info:
        Pusher("https://x", handler=rec, timeout=1, sleep=lambda s: None).put(b"x", budget=5)
    assert len(rec.calls) == 1
    text = describe(info.value)
    assert "CERTIFICATE_VERIFY_FAILED" in text and "--prometheus-ca-file" in text


def test_refused_client_certificate_is_not_retried_and_says_what_to_do() -> None:
    alert = ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate")
    alert.reason = "SSLV3_ALERT_BAD_CERTIFICATE"  # as OpenSSL sets it
    rec = Recorder([alert] * 3)
    with pytest.raises(ssl.SSLError) as info:
        Pusher("https://x", handler=rec, timeout=1, sleep=lambda s: None).put(b"x", budget=5)
    assert len(rec.calls) == 1
    assert "--prometheus-cert-file" in describe(info.value)


def test_unauthorized_names_the_credential_options() -> None:
    body = io.BytesIO(b"Unauthorized\n")
    err = urllib.error.HTTPError("http://x", 401, "Unauthorized", {}, body)  # type: ignore[arg-type]
    text = describe(err)
    assert text.startswith("HTTP 401 Unauthorized: Unauthorized")
    assert "--prometheus-basic-auth-user" in text


@pytest.mark.parametrize(
    ("field", "message"),
    [("ca_file", "cannot load --prometheus-ca-file"), ("cert_file", "--prometheus-cert-file")],
)
def test_unreadable_tls_files_are_config_errors(tmp_path: Path, field: str, message: str) -> None:
    missing = str(tmp_path / "missing.pem")
    kw = {field: missing} if field == "ca_file" else {field: missing, "key_file": missing}
    with pytest.raises(ConfigError, match=message):
        make_handler(ExporterConfig(pushgateway="https://gw", **kw))


def test_an_attempt_that_never_completes_is_cut_at_the_push_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A server trickling bytes defeats socket timeouts; the exporter's deadline must not.
    def stuck(url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
        return lambda: gevent.sleep(30)

    exp, _ = _exporter(stuck, push_timeout=0.2)  # type: ignore[arg-type]
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert exp.push(final=True, budget=0.0) is False
    assert time.monotonic() - started < 2
    assert "no complete answer within 0.2s" in caplog.text


def _http_error(code: int, reason: str) -> urllib.error.HTTPError:
    # What urllib (and so make_handler's send) raises for a non-2xx answer.
    body = io.BytesIO(f"{reason}\n".encode())
    return urllib.error.HTTPError("http://gw/metrics", code, reason, {}, body)  # type: ignore[arg-type]


def test_5xx_is_retried_then_succeeds() -> None:
    rec = Recorder([_http_error(503, "Service Unavailable"), None])
    sleeps: list[float] = []
    Pusher("http://gw/metrics", handler=rec, timeout=1, sleep=sleeps.append).put(b"x", budget=5)
    assert [c[1] for c in rec.calls] == ["PUT", "PUT"]
    assert [c[3] for c in rec.calls] == [b"x", b"x"]  # the same payload, sent again
    assert sleeps == [0.25]  # one backoff step between the attempts


def test_5xx_that_persists_makes_bounded_attempts_and_one_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder([_http_error(503, "Service Unavailable") for _ in range(10)])
    sleeps: list[float] = []
    pusher = Pusher("http://gw/metrics", handler=rec, timeout=1, attempts=3, sleep=sleeps.append)
    with pytest.raises(urllib.error.HTTPError) as info:
        pusher.put(b"x", budget=60)
    assert info.value.code == 503
    assert len(rec.calls) == 3  # the attempts bound, well within the budget
    assert sleeps == [0.25, 0.5]
    assert len(rec.failures) == 7  # nothing else was consumed

    # Through the exporter: one failed push, one warning, the status in it, never an exception.
    rec = Recorder([_http_error(503, "Service Unavailable") for _ in range(10)])
    exp, _ = _exporter(rec, push_interval=60)
    exp.channel.pusher._sleep = lambda s: None  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING):
        assert exp.push() is False
    assert len(rec.calls) == 3
    assert exp.health.failures == 1 and exp.health.pushes == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 503 Service Unavailable: Service Unavailable" in warnings[0]


def test_real_handler_retries_a_real_503() -> None:
    # The same with make_handler's urllib request against a local HTTP server: urllib turns
    # the 503 into the HTTPError the retry policy sees.
    import http.server
    import threading

    statuses = [503, 200]
    seen: list[bytes] = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            seen.append(self.rfile.read(int(self.headers["Content-Length"])))
            code = statuses.pop(0)
            body = b"busy\n" if code == 503 else b""
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics/job/x"
        handler = make_handler(ExporterConfig(pushgateway=url))
        Pusher(url, handler=handler, timeout=5, sleep=lambda s: None).put(b"payload", budget=10)
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [b"payload", b"payload"] and statuses == []

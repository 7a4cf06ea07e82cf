"""HTTP to the Pushgateway: group URL, auth/TLS handlers, retries, and log rate limiting.

Handlers have prometheus_client's signature ``handler(url, method, timeout, headers, data)``
returning a callable that sends, so ``prometheus_client.exposition.basic_auth_handler`` and
friends can be injected as they are.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from .options import ConfigError, ExporterConfig
from .redact import redact_urls

__all__ = ["Deadline", "FailureLog", "Handler", "Pusher", "describe", "group_url", "make_handler"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Handler(Protocol):
    def __call__(
        self,
        url: str,
        method: str,
        timeout: float | None,
        headers: list[tuple[str, str]],
        data: bytes,
    ) -> Callable[[], None]: ...


#: ``deadline(seconds)`` bounds a whole attempt. Socket timeouts bound each read or write only,
#: so a server that trickles a byte now and then would otherwise hold a push forever.
Deadline = Callable[[float], AbstractContextManager[object]]


def _no_deadline(seconds: float) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


def _b64(value: str) -> str:
    # The Pushgateway spells the empty value "=" (base64 of nothing, padded).
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii") or "="


def group_url(gateway: str, job: str, run_id: str) -> str:
    """The group's URL; values always base64-encoded so any text (slashes, empty) is safe."""
    return f"{gateway.rstrip('/')}/metrics/job@base64/{_b64(job)}/run_id@base64/{_b64(run_id)}"


def _ssl_context(config: ExporterConfig) -> ssl.SSLContext | None:
    """The TLS context, or ConfigError (exit code 2 before any load) if a file is unusable:
    a typo in a path must not surface as a traceback, nor as push failures during the run."""
    if not (config.cert_file or config.ca_file or config.insecure_skip_verify):
        return None
    try:
        context = ssl.create_default_context(cafile=config.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load --prometheus-ca-file {config.ca_file!r}: {exc} "
            "(give a readable PEM file of CA certificates)"
        ) from exc
    if config.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.cert_file:
        try:
            context.load_cert_chain(certfile=config.cert_file, keyfile=config.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load --prometheus-cert-file {config.cert_file!r} with "
                f"--prometheus-key-file {config.key_file!r}: {exc} "
                "(give readable PEM files; the key must belong to the certificate)"
            ) from exc
    return context


def make_handler(config: ExporterConfig) -> Handler:
    """A handler with the configured auth, TLS and extra headers (``--prometheus-header``);
    the bearer token file is read per request so a rotated token is picked up."""
    context = _ssl_context(config)
    opener = urllib.request.build_opener(
        *([urllib.request.HTTPSHandler(context=context)] if context else [])
    )
    basic = None
    if config.basic_auth_user:
        raw = f"{config.basic_auth_user}:{config.basic_auth_password}".encode()
        basic = "Basic " + base64.b64encode(raw).decode("ascii")
    signer = None
    if config.sigv4_region:
        from .sigv4 import SigV4Signer  # botocore: only when signing is asked for

        signer = SigV4Signer(config.sigv4_region, config.sigv4_profile)

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        def send() -> None:
            request = urllib.request.Request(url, data=data or None, method=method)
            pairs = [*headers, *config.headers]
            if basic:
                pairs.append(("Authorization", basic))
            if config.bearer_token_file:
                with open(config.bearer_token_file, encoding="utf-8") as fh:
                    pairs.append(("Authorization", f"Bearer {fh.read().strip()}"))
            if signer is not None:
                # Last: the signature covers the body as sent and every header above.
                pairs = signer.sign(method, url, pairs, data)
            for key, value in pairs:
                request.add_header(key, value)
            with opener.open(request, timeout=timeout) as response:
                response.read()

        return send

    return handler


# TLS alerts by which the server rejects our client certificate (OpenSSL's reason codes).
_CLIENT_CERT_ALERTS = frozenset(
    {"SSLV3_ALERT_BAD_CERTIFICATE", "TLSV13_ALERT_CERTIFICATE_REQUIRED",
     "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV1_ALERT_UNKNOWN_CA"}
)  # fmt: skip


def _cause(exc: BaseException) -> BaseException:
    # urllib wraps connection-time errors in URLError; the reason is the real one.
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return exc.reason
    return exc


def _tls_rejected(exc: BaseException) -> str:
    """Which side refused the TLS handshake over certificates ("" if that is not the error);
    such failures are configuration errors, so they are neither retried nor worth a retry."""
    cause = _cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return "server"
    if isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None) in _CLIENT_CERT_ALERTS:
        return "client"
    return ""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    return isinstance(exc, OSError) and not _tls_rejected(exc)


def describe(exc: BaseException) -> str:
    """One line for the log: the HTTP status and the Pushgateway's own message if any, and
    which option to check when the cause is a credential or certificate; never a password of
    a URL."""
    return redact_urls(_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        try:
            body = exc.read().decode("utf-8", "replace").strip().replace("\n", " ")[:300]
        except Exception:
            body = ""
        text = f"HTTP {exc.code} {exc.reason}" + (f": {body}" if body else "")
        if exc.code in (401, 403):
            text += (
                " (check --prometheus-basic-auth-user/--prometheus-basic-auth-password, "
                "--prometheus-bearer-token-file or the AWS credentials of "
                "--prometheus-sigv4-region)"
            )
        return text
    if isinstance(exc, urllib.error.URLError):
        text = str(exc.reason)
    else:
        text = f"{type(exc).__name__}: {exc}"
    rejected = _tls_rejected(exc)
    if rejected == "server":
        text += (
            " (the Pushgateway's certificate is not trusted: give its CA with "
            "--prometheus-ca-file, or --prometheus-insecure-skip-verify)"
        )
    elif rejected == "client":
        text += (
            " (the Pushgateway refused the client certificate: check --prometheus-cert-file "
            "and --prometheus-key-file)"
        )
    return text


class Pusher:
    """PUT and DELETE of one group, with bounded retries."""

    def __init__(
        self,
        url: str,
        *,
        handler: Handler,
        timeout: float,
        gzip: bool = False,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline = _no_deadline,
    ) -> None:
        self.url = url
        self.handler = handler
        self.timeout = timeout
        self.gzip = gzip
        self.attempts = attempts
        self._sleep = sleep
        self._deadline = deadline

    def _call(
        self, method: str, data: bytes, headers: Sequence[tuple[str, str]], budget: float
    ) -> None:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(budget),
            wait=wait_exponential(multiplier=0.25, min=0.25, max=2.0),
            retry=retry_if_exception(_retryable),
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt, self._deadline(self.timeout):
                # The handler may append auth headers: give each attempt its own list.
                self.handler(self.url, method, self.timeout, list(headers), data)()

    def put(self, payload: bytes, *, budget: float) -> None:
        """Replace the whole group with ``payload`` (already gzipped when ``gzip``)."""
        headers = [("Content-Type", CONTENT_TYPE)]
        if self.gzip:
            headers.append(("Content-Encoding", "gzip"))
        self._call("PUT", payload, headers, budget)

    def delete(self, *, budget: float) -> None:
        self._call("DELETE", b"", [], budget)


class FailureLog:
    """Logs the first failure, then at most one summary per ``every`` seconds, and the recovery."""

    def __init__(
        self, what: str, every: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what = what
        self.every = every
        self.clock = clock
        self.failures = 0
        self._suppressed = 0
        self._last_logged = 0.0

    def failed(self, exc: BaseException, hint: str) -> None:
        self.failures += 1
        now = self.clock()
        if self.failures == 1 or now - self._last_logged >= self.every:
            extra = f"; {self._suppressed} more failures not logged" if self._suppressed else ""
            logger.warning("%s failed: %s (%s%s)", self.what, describe(exc), hint, extra)
            self._last_logged = now
            self._suppressed = 0
        else:
            self._suppressed += 1

    def succeeded(self) -> None:
        if self.failures:
            logger.info("%s recovered after %d failed attempt(s)", self.what, self.failures)
        self.failures = 0
        self._suppressed = 0

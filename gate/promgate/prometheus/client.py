"""A small Prometheus HTTP API client: instant queries with bounded retries.

The HTTP session is injectable (``session=``), so authentication, proxies and test doubles are
parameters, not code paths. Transient failures (connection errors, timeouts, 429, 5xx, the
server's own query timeout) are retried with exponential backoff by tenacity; what is left is
raised as ``PrometheusUnavailable`` or ``QueryError``, never mistaken for a failed threshold.
"""

from __future__ import annotations

import json
from typing import Any

import requests
import tenacity

from ..errors import PrometheusUnavailable, QueryError, QuerySyntaxError, UsageError
from ..textsafe import redact_url
from .aws_sigv4 import TOKEN_HEADER, AwsSigV4Auth, check_region
from .http_values import check_base_url, check_header, check_secret_text
from .response import matrix_series, parse_answer, vector_samples
from .settings import PrometheusSettings
from .transport import HeaderSafeSession, fetch
from .types import Sample, Series

__all__ = ["PrometheusClient", "build_session", "normalize_url"]


class _Transient(Exception):
    """Worth retrying; carries the final error raised when retries run out."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def normalize_url(url: str) -> str:
    """``localhost:9090`` -> ``http://localhost:9090`` (the exporter reads its URLs the same way);
    a URL with another scheme, or no host, is refused."""
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise UsageError(f"bad Prometheus URL: {url!r} (expected http://host:port or host:port)")
    return check_base_url(f"{scheme.lower()}://{rest}".rstrip("/"))


def build_session(settings: PrometheusSettings) -> requests.Session:
    """A session carrying the config's auth, TLS options and extra headers. With
    ``sigv4_region`` the AWS credentials are resolved here, once (``UsageError`` without any)."""
    session = HeaderSafeSession(settings.headers)
    for name, value in settings.headers.items():
        check_header(name, value)
    session.headers.update({"User-Agent": "promgate", **dict(settings.headers)})
    if settings.username is not None:
        user, password = _auth_text(settings.username), _auth_text(settings.password or "")
        session.auth = (user, password)  # type: ignore[assignment]  # requests takes bytes too
    token = settings.bearer_token
    if settings.bearer_token_file:
        try:
            with open(settings.bearer_token_file, encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as exc:
            raise UsageError(f"cannot read bearer_token_file: {exc}") from None
    if token:
        check_secret_text(token, "bearer token")
        session.headers["Authorization"] = f"Bearer {token}"
    if settings.sigv4_region:
        if settings.username is not None or token or "Authorization" in session.headers:
            raise UsageError(
                "bad prometheus auth: AWS SigV4 signing excludes basic_auth, a bearer token and "
                "an Authorization header (choose one)"
            )
        region = check_region(settings.sigv4_region)
        session.auth = AwsSigV4Auth(region, settings.sigv4_profile or "")
        session.secret_headers.add(TOKEN_HEADER.lower())
    elif settings.sigv4_profile:
        raise UsageError(
            "bad prometheus sigv4 profile: it needs a region (--prometheus-sigv4-region or "
            "prometheus: {sigv4: {region: ...}}), which turns signing on"
        )
    if settings.insecure_skip_verify:
        session.verify = False
    elif settings.ca_file:
        session.verify = settings.ca_file
    if settings.cert_file:
        session.cert = (
            (settings.cert_file, settings.key_file) if settings.key_file else settings.cert_file
        )
    return session


class PrometheusClient:
    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        retry_wait: float = 0.25,
    ) -> None:
        self.url = normalize_url(url)
        #: the URL as every message and result shows it: without user:password@
        self.shown_url = redact_url(self.url)
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout
        self.retries = max(1, retries)
        self.retry_wait = retry_wait
        #: Prometheus's own warnings (e.g. a partial response from Thanos or Cortex): the data
        #: may be incomplete, so the gate reports them instead of judging silently.
        self.warnings: list[str] = []
        #: seconds until the engine answers with what it received (prometheus.ingestion_delay)
        self.ingestion_delay = 0.0

    @classmethod
    def from_settings(cls, url: str, settings: PrometheusSettings) -> PrometheusClient:
        client = cls(
            url,
            session=build_session(settings),
            timeout=settings.timeout,
            retries=settings.retries,
            retry_wait=settings.retry_wait,
        )
        client.ingestion_delay = settings.ingestion_delay
        return client

    # -- API -----------------------------------------------------------------------------
    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Evaluate an instant query; a vector or scalar result as samples (NaN kept)."""
        data = self._get("/api/v1/query", _params(expr, at), expr)
        samples = vector_samples(data)
        if samples is not None:
            return samples
        raise QueryError(
            f"query returned a {str(data.get('resultType'))[:20]}: {_short(expr)} "
            "(a check needs an instant vector or scalar)"
        )

    def query_series(self, expr: str, at: float | None = None) -> list[Series]:
        """Evaluate a range selector (``metric{...}[5m]``) and return its raw samples."""
        return _matrix(self._get("/api/v1/query", _params(expr, at), expr), expr)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """``/api/v1/query_range``: one series per label set, points every ``step`` seconds."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return _matrix(self._get("/api/v1/query_range", params, expr), expr)

    # -- plumbing ------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        for secret in _secrets(self.session):
            text = text.replace(secret, "***")
        return text

    def _get(self, path: str, params: dict[str, str], expr: str) -> dict[str, Any]:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retries),
            wait=tenacity.wait_exponential(multiplier=self.retry_wait, max=4),
            retry=tenacity.retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(path, params, expr)
        except _Transient as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover - tenacity returns or raises

    def _get_once(self, path: str, params: dict[str, str], expr: str) -> dict[str, Any]:
        url = self.url + path
        try:
            # verify= per request: requests lets REQUESTS_CA_BUNDLE override a session's verify
            # (requests#3829), which would silently drop ca_file and insecure_skip_verify.
            resp = fetch(self.session, url, params, self.timeout, self.session.verify)
        except requests.exceptions.SSLError as exc:
            raise PrometheusUnavailable(
                f"Prometheus TLS error at {self.shown_url}: {_reason(exc)} (check ca_file or "
                "insecure_skip_verify)"
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(
                PrometheusUnavailable(
                    f"Prometheus unreachable at {self.shown_url}: {_reason(exc)} "
                    f"(after {self.retries} attempts)",
                    option="prometheus",
                )
            ) from None
        except requests.RequestException as exc:
            raise PrometheusUnavailable(f"Prometheus request failed: {_reason(exc)}") from None
        try:
            body = json.loads(resp.body)
        except (ValueError, RecursionError):
            body = None
        answer = parse_answer(body)
        if answer is None and resp.status in (401, 403):
            # An auth layer's own answer, not Prometheus's JSON (Amazon's: a signature refused).
            said = self._redact(" ".join(resp.body[:300].decode("utf-8", "replace").split()))
            raise PrometheusUnavailable(
                f"Prometheus refused access at {self.shown_url}: HTTP {resp.status}"
                f"{': ' + said if said else ''} (check basic_auth, bearer_token or sigv4)"
            )
        if answer is None:
            error = PrometheusUnavailable(
                f"not a Prometheus API at {self.shown_url}: HTTP {resp.status} from {path} "
                "(is the URL Prometheus's?)",
                option="prometheus",
            )
            if resp.status >= 500 or resp.status == 429:
                raise _Transient(error)
            raise error
        if answer.ok:
            for warning in answer.warnings:
                note = f"Prometheus warned: {self._redact(warning)} ({_short(expr)})"
                if note not in self.warnings:
                    self.warnings.append(note)  # list.append is atomic: queries run in threads
            return dict(answer.data)
        etype, error_text = answer.error_type, self._redact(answer.error)
        if resp.status in (401, 403):
            raise PrometheusUnavailable(
                f"Prometheus refused access: HTTP {resp.status} {error_text} "
                "(check basic_auth, bearer_token or sigv4)"
            )
        if etype == "bad_data" or resp.status == 400:
            raise QuerySyntaxError(f"Prometheus rejected the query: {error_text}: {_short(expr)}")
        message = f"query failed ({etype or resp.status}): {error_text}: {_short(expr)}"
        if etype in ("timeout", "unavailable") or resp.status >= 500 or resp.status == 429:
            raise _Transient(
                PrometheusUnavailable(
                    f"Prometheus failing after {self.retries} attempts: {message}"
                )
            )
        raise QueryError(message)


def _auth_text(text: str) -> str | bytes:
    # Beyond ASCII, UTF-8 as Prometheus reads it: requests encodes a str as Latin-1 and fails.
    return text if text.isascii() else text.encode()


def _secrets(session: requests.Session) -> list[str]:
    """The credentials ``session`` sends: a server echoing one back never gets it printed."""
    found = [str(v) for k, v in session.headers.items() if k.lower() != "user-agent"]
    if isinstance(session.auth, tuple):
        found += [x.decode() if isinstance(x, bytes) else str(x) for x in session.auth[1:]]
    found += [str(v).removeprefix("Bearer ") for k, v in session.headers.items()]
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _params(expr: str, at: float | None) -> dict[str, str]:
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    return params


def _matrix(data: dict[str, Any], expr: str) -> list[Series]:
    series = matrix_series(data)
    if series is None:
        raise QueryError(f"expected a range vector from {_short(expr)}")
    return series


def _short(expr: str, limit: int = 160) -> str:
    flat = " ".join(expr.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reason(exc: Exception) -> str:
    text = str(exc)
    # requests nests urllib3's reason deep inside; the tail names the cause.
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "No route to host",
        "Temporary failure in name resolution",
    ):
        if marker in text:
            return marker
    return " ".join(text.split())[:200]

"""Delivering a few samples by Prometheus remote write 1.0 (``check --remote-write-results``,
``runs pin|exclude --remote-write``): a ``WriteRequest`` (protobuf), snappy-compressed, POSTed once.

The message is declared here as a descriptor, as the exporter declares its own (the gate never
imports the exporter): no ``protoc`` step, no generated file. The gate sends a handful of series
once per judgement, so it builds the messages plainly; the exporter's hand framing exists for
its 50,000 series a send.

What a receiver may take later (connection errors, timeouts, 5xx, 408, 429 with its
``Retry-After``) is retried by tenacity; what it never will (400: out of order, too old, a label it
refuses; other 4xx) is raised at once with the receiver's reason.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import tenacity

from ..errors import PrometheusUnavailable
from ..textsafe import redact_url

__all__ = ["MAX_RETRY_AFTER", "RemoteSample", "encode_write_request", "remote_write"]

#: (labels, value, timestamp in ms): labels include ``__name__``
RemoteSample = tuple[Sequence[tuple[str, str]], float, int]

#: the longest ``Retry-After`` honoured (seconds): a receiver cannot park the gate for long
MAX_RETRY_AFTER = 30.0
#: statuses worth another attempt (the remote-write spec: 5xx and 429 are retryable)
_RETRY_STATUS = frozenset({408, 429})

_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


@functools.cache
def _write_request_class() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(
        name="promgate/remote_write.proto", package="prometheus", syntax="proto3"
    )
    t = descriptor_pb2.FieldDescriptorProto
    rep, opt = t.LABEL_REPEATED, t.LABEL_OPTIONAL
    shapes = {
        "Label": (("name", 1, opt, t.TYPE_STRING, ""), ("value", 2, opt, t.TYPE_STRING, "")),
        "Sample": (("value", 1, opt, t.TYPE_DOUBLE, ""), ("timestamp", 2, opt, t.TYPE_INT64, "")),
        "TimeSeries": (
            ("labels", 1, rep, t.TYPE_MESSAGE, ".prometheus.Label"),
            ("samples", 2, rep, t.TYPE_MESSAGE, ".prometheus.Sample"),
        ),
        "WriteRequest": (("timeseries", 1, rep, t.TYPE_MESSAGE, ".prometheus.TimeSeries"),),
    }
    for name, fields in shapes.items():
        m = f.message_type.add(name=name)
        for fname, number, label, ftype, type_name in fields:
            field = m.field.add(name=fname, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name
    # A pool of its own: no clash with another declaration of prometheus.* in the process.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


def encode_write_request(samples: Iterable[RemoteSample]) -> bytes:
    """The remote-write HTTP body of ``samples``: one series each, labels sorted by name as the
    protocol requires, snappy's block format around the serialized ``WriteRequest``."""
    import cramjam

    request = _write_request_class()()
    for labels, value, stamp in samples:
        series = request.timeseries.add()
        for name, text in sorted(labels):
            series.labels.add(name=name, value=text)
        series.samples.add(value=value, timestamp=stamp)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


class _Retry(Exception):
    """A failed attempt worth repeating; ``error`` is raised when the attempts run out."""

    def __init__(self, error: PrometheusUnavailable, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def remote_write(
    session: requests.Session,
    url: str,
    samples: Sequence[RemoteSample],
    *,
    what: str,
    option: str,
    timeout: float = 10.0,
    attempts: int = 4,
    first_wait: float = 0.25,
) -> None:
    """POST ``samples`` to the remote-write endpoint ``url`` with ``session``'s auth, TLS and
    headers; ``PrometheusUnavailable`` (exit 3) naming ``what`` when they are not delivered."""
    body = encode_write_request(samples)
    exponential = tenacity.wait_exponential(multiplier=first_wait, max=4)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        given = exc.retry_after if isinstance(exc, _Retry) else None
        return given if given is not None else float(exponential(state))

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        wait=wait,
        retry=tenacity.retry_if_exception_type(_Retry),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                _post(session, url, body, what, option, timeout, attempts)
    except _Retry as exc:
        raise exc.error from None


def _post(
    session: requests.Session,
    url: str,
    body: bytes,
    what: str,
    option: str,
    timeout: float,
    attempts: int,
) -> None:
    shown = redact_url(url)
    try:
        # verify= per request: requests lets REQUESTS_CA_BUNDLE override a session's verify
        # (requests#3829), which would silently drop ca_file and insecure_skip_verify.
        resp = session.post(
            url, data=body, headers=_HEADERS, timeout=timeout, verify=session.verify
        )
    except requests.exceptions.SSLError as exc:
        raise PrometheusUnavailable(
            f"remote write of {what} to {shown}: TLS error: {_short(str(exc))} (check ca_file "
            "or insecure_skip_verify)",
            option=option,
        ) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Retry(
            PrometheusUnavailable(
                f"remote write of {what} to {shown} failed after {attempts} attempts: "
                f"{_short(str(exc))} (is the receiver up?)",
                option=option,
            )
        ) from None
    except requests.RequestException as exc:
        raise PrometheusUnavailable(
            f"remote write of {what} to {shown} failed: {_short(str(exc))}", option=option
        ) from None
    with resp:
        if resp.status_code < 300:
            return
        reason = _short(resp.text) or resp.reason or ""
        status = f"HTTP {resp.status_code}" + (f": {reason}" if reason else "")
        if resp.status_code >= 500 or resp.status_code in _RETRY_STATUS:
            raise _Retry(
                PrometheusUnavailable(
                    f"remote write of {what} to {shown} failed after {attempts} attempts: "
                    f"{status} (is the receiver healthy?)",
                    option=option,
                ),
                _retry_after(resp.headers.get("Retry-After")),
            )
        hint = {
            401: "check basic_auth, bearer_token or sigv4",
            403: "check the credentials' write permission, or the sigv4 region",
            404: "is it the write endpoint, e.g. /api/v1/write or /api/v1/push?",
        }.get(resp.status_code, "rejected, not retried")
        raise PrometheusUnavailable(
            f"remote write of {what} to {shown} refused: {status} ({hint})", option=option
        )


def _retry_after(text: str | None) -> float | None:
    """A ``Retry-After`` in seconds or as an HTTP date, bounded by ``MAX_RETRY_AFTER``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

"""The remote-write sink: batches of changed series, a bounded queue, and a sender greenlet.

``put`` never waits for the network during the run: the batch is encoded in gevent's native
thread pool (as the Pushgateway payload is) and queued; one sender greenlet delivers the queue in
order, retrying what a receiver may take later (connection errors, 5xx, 408, 429 with its
``Retry-After``) and dropping, reported once per reason, what it never will (400 and other 4xx:
out-of-order samples, a rejected label). A dropped batch makes the next one a full send, so
counters stay exact. The final ``put`` waits (bounded) until the queue is delivered; ``delete``
ends every series with a staleness marker.
"""

from __future__ import annotations

import collections
import email.utils
import logging
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay
from tenacity.wait import wait_exponential

from .exposition import Unformatted
from .pushgateway_http import Deadline, FailureLog, Handler, _no_deadline, _retryable, describe
from .remote_series import Batch, SeriesDelta
from .remote_write_proto import compress

__all__ = ["MAX_QUEUED_BATCHES", "RemoteWriter"]

logger = logging.getLogger(__name__)

#: Batches waiting while the receiver is away; beyond it the oldest is dropped (and the next
#: batch is a full one): memory stays bounded however long an outage lasts.
MAX_QUEUED_BATCHES = 32
#: The longest ``Retry-After`` honoured, so a receiver cannot park the sender for long.
MAX_RETRY_AFTER = 30.0
_HEADERS = (
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ("User-Agent", "locust-prometheus"),
)


def retry_after(exc: BaseException | None) -> float | None:
    """The seconds of a 429/503's ``Retry-After`` (seconds or an HTTP date), if any."""
    if not isinstance(exc, urllib.error.HTTPError) or exc.headers is None:
        return None
    text = (exc.headers.get("Retry-After") or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _WaitRetryAfter:
    """tenacity's wait: the receiver's ``Retry-After`` when it gives one, else exponential."""

    def __init__(self) -> None:
        self._exponential = wait_exponential(multiplier=0.25, min=0.25, max=4.0)

    def __call__(self, state: RetryCallState) -> float:
        given = retry_after(state.outcome.exception() if state.outcome else None)
        if given is not None:
            return min(given, MAX_RETRY_AFTER)
        return float(self._exponential(state))


@dataclass(frozen=True)
class _Queued:
    body: bytes
    series: int
    final: bool


class RemoteWriter:
    """Sends one run's series to a remote-write URL; duck-types ``push.Pusher`` for the channel."""

    def __init__(
        self,
        url: str,
        *,
        handler: Handler,
        timeout: float,
        interval: float,
        job: str,
        run_id: str,
        sleep: Callable[[float], None] = gevent.sleep,
        deadline: Deadline = _no_deadline,
        offload: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        self.url = url
        self.handler = handler
        self.timeout = timeout
        #: one send cycle (its retries included) lasts at most this; then it counts as a failure
        self.cycle = max(interval, timeout)
        self.delta = SeriesDelta(job, run_id)
        self.failure_log = FailureLog("locust_prometheus: remote write")
        self._sleep = sleep
        self._deadline = deadline
        self._offload = offload or (lambda work: gevent.get_hub().threadpool.apply(work))
        self._queue: collections.deque[_Queued] = collections.deque()
        self._inflight: _Queued | None = None
        self._wake = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._idle.set()
        self._sender: gevent.Greenlet | None = None
        self._rejections: set[str] = set()
        #: send cycles that failed (outage) and batches the receiver rejected
        self.failures = 0
        self.dropped_batches = 0
        self.sent_batches = 0
        self.last_duration = 0.0
        self.last_bytes = 0
        self.ended = False

    # -- the channel's side ------------------------------------------------------------------

    def put(
        self,
        payload: bytes | Unformatted,
        *,
        budget: float,
        final: bool = False,
        at: float = 0.0,
    ) -> None:
        """Queue the series of ``payload`` (the text format, or ``exposition.unformatted``'s)
        that changed, stamped ``at`` (seconds). Final: send every series and wait up to
        ``budget`` for the queue to be delivered; raises TimeoutError if it was not."""
        stamp_at = at or time.time()
        self._enqueue(lambda: self.delta.batch(payload, stamp_at, full=final), final=final)
        if final and not self.wait_delivered(budget):
            raise TimeoutError(
                f"the final batch was not delivered within {budget:g}s "
                f"({len(self._queue) + (self._inflight is not None)} batch(es) pending)"
            )

    def delete(self, *, budget: float) -> None:
        """End every series of the run (staleness markers), wait for it (bounded), stop."""
        try:
            if not self.ended:
                self.ended = True
                self._enqueue(self.delta.stale, final=True)
            if not self.wait_delivered(budget):
                raise TimeoutError(f"the staleness markers were not delivered within {budget:g}s")
        finally:
            self.stop()

    def wait_delivered(self, budget: float) -> bool:
        return bool(self._idle.wait(timeout=max(0.0, budget))) and not self._pending()

    def stop(self) -> None:
        if self._sender is not None:
            self._sender.kill(block=True, timeout=self.timeout + 1)
            self._sender = None

    # -- queue and sender --------------------------------------------------------------------

    def _pending(self) -> bool:
        return bool(self._queue) or self._inflight is not None

    def _enqueue(self, make: Callable[[], Batch], *, final: bool) -> None:
        def work() -> tuple[bytes, int]:
            raw, series = make()
            return compress(raw), series

        body, series = self._offload(work)
        if len(self._queue) >= MAX_QUEUED_BATCHES:
            self._queue.popleft()
            self._lost("queue full: the oldest batch was dropped")
        self._queue.append(_Queued(body, series, final))
        self._idle.clear()
        self._wake.set()
        if self._sender is None:
            self._sender = gevent.spawn(self._run)

    def _lost(self, why: str) -> None:
        self.dropped_batches += 1
        # A lost batch may hold the only sample of a change: the next batch sends every series.
        self.delta.full_next = True
        logger.debug("locust_prometheus: remote write: %s", why)

    def _run(self) -> None:
        while True:
            if self._inflight is None:
                if not self._queue:
                    self._idle.set()
                    self._wake.clear()
                    self._wake.wait()
                    continue
                self._inflight = self._queue.popleft()
            batch = self._inflight
            started = time.monotonic()
            try:
                self._send(batch.body)
            except Exception as exc:
                self.failures += 1
                if _retryable(exc):
                    # An outage: the batch stays first in line; the queue behind it is bounded.
                    self.failure_log.failed(exc, "batch kept and retried; the load continues")
                    self._sleep(min(1.0, self.cycle))
                    continue
                self._inflight = None
                self._lost("rejected")
                self._report_rejection(exc, batch)
                continue
            self._inflight = None
            self.sent_batches += 1
            self.last_duration = time.monotonic() - started
            self.last_bytes = len(batch.body)
            self.failure_log.succeeded()

    def _send(self, body: bytes) -> None:
        retrying = Retrying(
            stop=stop_after_delay(self.cycle),
            wait=_WaitRetryAfter(),
            retry=retry_if_exception(_retryable),
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt, self._deadline(self.timeout):
                self.handler(self.url, "POST", self.timeout, list(_HEADERS), body)()

    def _report_rejection(self, exc: BaseException, batch: _Queued) -> None:
        """Once per reason: the same rejection every interval would flood the log."""
        reason = describe(exc)
        key = reason[:120]
        if key in self._rejections or len(self._rejections) >= 20:
            return
        self._rejections.add(key)
        logger.warning(
            "locust_prometheus: remote write rejected a batch of %d series: %s (dropped, not "
            "retried; further rejections for this reason are counted in "
            "locust_exporter_push_failures_total, not logged)",
            batch.series,
            reason,
        )

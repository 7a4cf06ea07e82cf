"""The push channel of one run: the push loop, each push's accounting, the final push, delete."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import gevent
import gevent.lock

from .exposition import Health, Unformatted
from .options import ExporterConfig
from .pushgateway_http import FailureLog, Handler, Pusher, describe, group_url, make_handler
from .remote_write import RemoteWriter

__all__ = ["FINAL_PUSH_BUDGET", "PushChannel", "Render", "RenderUnformatted"]

logger = logging.getLogger(__name__)

#: Cap on each shutdown push (final PUT, DELETE), so a dead Pushgateway cannot hold up exit
#: for more than about this plus ``--prometheus-linger``.
FINAL_PUSH_BUDGET = 10.0

#: ``render(health, final=..., compress=...)``: the payload to push.
Render = Callable[..., bytes]
#: ``render(health, final=...)``: the samples to remote-write (``Renderer.render_unformatted``).
RenderUnformatted = Callable[..., Unformatted]


@contextlib.contextmanager
def _attempt_deadline(seconds: float) -> Iterator[None]:
    """Bound one whole HTTP attempt. The socket timeout bounds each read only, and a server
    that answers a byte at a time would hold the push, and Locust's exit, for ever. The
    TimeoutError is raised in the pushing greenlet and retried like a socket timeout."""
    with gevent.Timeout(seconds, TimeoutError(f"no complete answer within {seconds:g}s")):
        yield


class PushChannel:
    """Pushes to the group of ``config.run_id``; ``retarget`` moves it to a new run's group."""

    def __init__(
        self,
        config: ExporterConfig,
        render: Render,
        handler: Handler | None,
        stamp: Callable[[], float] = time.time,
        render_unformatted: RenderUnformatted | None = None,
    ) -> None:
        self.config = config
        self._render = render
        #: remote write's: it compares values and needs no text of the endpoints' lines
        self._render_unformatted = render_unformatted
        self._handler = handler
        #: when the last rendered payload's statistics were taken (remote write's timestamps)
        self._stamp = stamp
        self.pusher = self._make_pusher()
        self.health = Health()
        self.failure_log = FailureLog(
            "locust_prometheus: "
            + ("remote write" if config.remote_write else "push to the Pushgateway")
        )
        #: whether any push of this group got through (then there is a group to delete)
        self.pushed_ok = False
        self.loop: gevent.Greenlet | None = None
        self._lock = gevent.lock.Semaphore()

    def _make_pusher(self) -> Pusher | RemoteWriter | None:
        config = self.config
        if config.remote_write:
            return RemoteWriter(
                config.remote_write,
                handler=self._handler or make_handler(config),
                timeout=config.push_timeout,
                interval=config.push_interval,
                job=config.job,
                run_id=config.run_id,
                deadline=_attempt_deadline,
            )
        if not config.pushgateway:
            return None
        return Pusher(
            group_url(config.pushgateway, config.job, config.run_id),
            handler=self._handler or make_handler(config),
            timeout=config.push_timeout,
            gzip=config.gzip,
            sleep=gevent.sleep,
            deadline=_attempt_deadline,
        )

    @property
    def remote(self) -> bool:
        return isinstance(self.pusher, RemoteWriter)

    @property
    def sink(self) -> str:
        return "remote write" if self.config.remote_write else "the Pushgateway"

    def retarget(self, config: ExporterConfig) -> Pusher | RemoteWriter | None:
        """Push to ``config``'s group from now on, with fresh health; returns the old pusher."""
        previous = self.pusher
        self.config = config
        self.pusher = self._make_pusher()
        self.health = Health()
        self.pushed_ok = False
        return previous

    def push(self, *, final: bool = False, budget: float | None = None) -> bool:
        """One PUT of the whole group (Pushgateway), or one batch of the changed series queued
        (remote write; a final one is waited for). Never raises; returns whether it was
        accepted (queued, for a remote write during the run)."""
        pusher = self.pusher
        if pusher is None:
            return False
        with self._lock:
            started = time.monotonic()
            size = 0
            try:
                if budget is None:
                    budget = max(self.config.push_interval, self.config.push_timeout)
                # budget 0 is meaningful (one attempt only), so no `budget or default` here.
                if isinstance(pusher, RemoteWriter):
                    samples: bytes | Unformatted = (
                        self._render(self.health, final=final, compress=False)
                        if self._render_unformatted is None
                        else self._render_unformatted(self.health, final=final)
                    )
                    pusher.put(samples, budget=budget, final=final, at=self._stamp())
                else:
                    data = self._render(self.health, final=final, compress=self.config.gzip)
                    size = len(data)
                    pusher.put(data, budget=budget)
            except Exception as exc:
                self._account(started, size, failed=True)
                self.failure_log.failed(
                    exc, f"run id {self.config.run_id}; the load test continues"
                )
                logger.debug("locust_prometheus: push failure", exc_info=True)
                return False
            self._account(started, size, failed=False)
            self.failure_log.succeeded()
            self.pushed_ok = True
            return True

    def _account(self, started: float, size: int, *, failed: bool) -> None:
        h = self.health
        writer = self.pusher
        if isinstance(writer, RemoteWriter):
            # Sends happen in the writer's own greenlet: its figures are the health's.
            self.health = Health(
                pushes=h.pushes + 1,
                failures=writer.failures,
                last_duration=writer.last_duration,
                last_bytes=writer.last_bytes,
            )
            return
        self.health = Health(
            pushes=h.pushes + 1,
            failures=h.failures + int(failed),
            last_duration=time.monotonic() - started,
            last_bytes=size,
        )

    def delete(self) -> bool:
        if self.pusher is None:
            return False
        try:
            self.pusher.delete(budget=FINAL_PUSH_BUDGET)
        except Exception as exc:
            if self.remote:
                logger.warning(
                    "locust_prometheus: the staleness markers of run_id %s were not written: %s "
                    "(its series end 5 minutes after their last sample instead)",
                    self.config.run_id,
                    describe(exc),
                )
                return False
            logger.warning(
                "locust_prometheus: delete of the group failed: %s (it stays in the Pushgateway; "
                "delete run_id %s by hand or let it be replaced)",
                describe(exc),
                self.config.run_id,
            )
            return False
        if self.remote:
            logger.info("locust_prometheus: ended the series of run_id=%s", self.config.run_id)
            return True
        logger.info(
            "locust_prometheus: deleted group run_id=%s from the Pushgateway", self.config.run_id
        )
        return True

    def start_loop(self) -> None:
        if self.pusher is not None and self.loop is None:
            self.loop = gevent.spawn(self._push_loop)

    def _push_loop(self) -> None:
        try:
            while True:
                self.push()
                gevent.sleep(self.config.push_interval)
        except KeyboardInterrupt as exc:
            # Ctrl-C lands in whichever greenlet runs Python code, often this one (reading a
            # push's answer). Left to gevent, it reaches the main greenlet, where Locust shuts
            # down, only after a traceback of this greenlet "failed": hand it over directly.
            gevent.get_hub().handle_system_error(KeyboardInterrupt, exc, exc.__traceback__)

    def stop_loop(self) -> None:
        if self.loop is not None:
            self.loop.kill(block=True, timeout=self.config.push_timeout + 1)
            self.loop = None


def delete_later(pusher: Pusher | RemoteWriter, ended: float, linger: float) -> None:
    """Delete a finished run's group once its linger has passed (run in its own greenlet)."""
    gevent.sleep(max(0.0, ended + linger - time.time()))
    try:
        pusher.delete(budget=FINAL_PUSH_BUDGET)
    except Exception as exc:
        logger.warning(
            "locust_prometheus: delete of a finished run's group failed: %s", describe(exc)
        )

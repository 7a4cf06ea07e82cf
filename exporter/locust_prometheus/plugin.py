"""The Locust plugin: listeners that push the run's metrics while it runs and clean up after."""

from __future__ import annotations

import contextlib
import gzip
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import gevent
from prometheus_client.registry import Collector

from . import __about__
from .exposition import Health, encode, families
from .model import CardinalityGuard, build_model
from .options import ConfigError, ExporterConfig
from .push import FailureLog, Handler, Pusher, describe, group_url, make_handler
from .snapshot import RunSnapshot, take_snapshot

__all__ = ["PrometheusExporter"]

logger = logging.getLogger(__name__)

#: Cap on each shutdown push (final PUT, DELETE), so a dead Pushgateway cannot hold up exit
#: for more than about this plus ``--prometheus-linger``.
FINAL_PUSH_BUDGET = 10.0
#: How long a master waits after test_stop for every worker's next statistics report (Locust's
#: workers report every 3 s) before the final push: the first push that carries the end
#: timestamp must already hold the workers' last requests, or a gate judging it sees too few.
WORKER_REPORT_WAIT = 7.0


@contextlib.contextmanager
def _attempt_deadline(seconds: float) -> Iterator[None]:
    """Bound one whole HTTP attempt. The socket timeout bounds each read only, and a server
    that answers a byte at a time would hold the push, and Locust's exit, for ever. The
    TimeoutError is raised in the pushing greenlet and retried like a socket timeout."""
    with gevent.Timeout(seconds, TimeoutError(f"no complete answer within {seconds:g}s")):
        yield


class PrometheusExporter:
    """Pushes Locust's aggregated statistics to a Pushgateway (and/or serves them on /metrics).

    Use ``register(environment)`` on the master or local runner; ``import locust_prometheus``
    does that for you from Locust's ``init`` event when ``--prometheus-pushgateway`` is set.
    """

    def __init__(self, config: ExporterConfig, *, handler: Handler | None = None) -> None:
        self.config = config
        self.guard = CardinalityGuard(config.max_endpoints)
        self._handler = handler
        self.pusher = self._make_pusher()
        #: the run id given or generated at start; later tests of the same process add -2, -3
        self._base_run_id = config.run_id
        self._tests = 0
        self._cleanups: list[gevent.Greenlet] = []
        self.health = Health()
        self.failure_log = FailureLog(
            "locust_prometheus: push to the Pushgateway",
        )
        self.info: dict[str, str] = {}
        self.environment: Any = None
        self.end_time: float | None = None
        self._loop: gevent.Greenlet | None = None
        self._lock = gevent.lock.Semaphore()
        self._pushed_ok = False
        self._server: Any = None
        self._quitting_snapshot: RunSnapshot | None = None
        #: worker id -> when its last statistics report reached the master
        self._reports: dict[str, float] = {}
        self._finisher: gevent.Greenlet | None = None

    def _make_pusher(self) -> Pusher | None:
        config = self.config
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

    # -- registration ------------------------------------------------------------------------

    def register(self, environment: Any) -> None:
        """Attach to ``environment``'s events; call once, from the master or local runner."""
        self.environment = environment
        self.info = self._run_info(environment)
        environment.events.test_start.add_listener(self._on_test_start)
        environment.events.test_stop.add_listener(self._on_test_stop)
        environment.events.quitting.add_listener(self._on_quitting)
        environment.events.quit.add_listener(self._on_quit)
        environment.events.worker_report.add_listener(self._on_worker_report)
        self._write_run_id_file()
        if self.config.listen is not None:
            self._start_server(*self.config.listen)
        where = f"pushing to {self.config.pushgateway}" if self.pusher else "not pushing"
        logger.info(
            "locust_prometheus: run id %s (job %s), %s every %gs",
            self.config.run_id,
            self.config.job,
            where,
            self.config.push_interval,
        )

    def _run_info(self, environment: Any) -> dict[str, str]:
        import locust

        info = {
            "testplan": self.config.testplan,
            "environment": self.config.environment,
            "host": str(getattr(environment, "host", "") or ""),
            "locust_version": str(getattr(locust, "__version__", "")),
            "exporter_version": __about__.__version__,
        }
        info.update(self.config.labels)
        return info

    # -- rendering ---------------------------------------------------------------------------

    def snapshot(self, *, final: bool = False) -> RunSnapshot:
        """Locust's statistics now; call from the gevent loop (it does not yield)."""
        return take_snapshot(self.environment, final=final, end_time=self.end_time)

    def encode(self, snapshot: RunSnapshot, health: Health) -> bytes:
        """Payload for ``snapshot``; CPU-bound, so run it off the loop (see ``render``)."""
        return encode(build_model(snapshot, self.guard), self.info, health)

    def render(self, *, final: bool = False, compress: bool = False) -> bytes:
        """Snapshot in the loop, encode in a native thread, so the loop keeps serving users."""
        snap = self.snapshot(final=final)
        if final and self._quitting_snapshot is not None and _stripped(snap):
            # Locust's --json/--json-file zero every endpoint at shutdown (serialize_stats uses
            # get_stripped_report); the copy from the quitting event still has them.
            snap = self._quitting_snapshot
        health = self.health
        work: Callable[[], bytes] = lambda: self._encode_maybe_gzip(snap, health, compress)  # noqa: E731
        return gevent.get_hub().threadpool.apply(work)  # type: ignore[no-any-return]

    def _encode_maybe_gzip(self, snap: RunSnapshot, health: Health, compress: bool) -> bytes:
        data = self.encode(snap, health)
        # zlib releases the GIL while it works, so compression also stays off the loop.
        return gzip.compress(data, compresslevel=5) if compress else data

    def collector(self) -> Collector:
        """A prometheus_client collector of the same metrics (for a registry of your own)."""
        exporter = self

        class _Collector(Collector):
            def collect(self) -> Iterable[Any]:
                model = build_model(
                    exporter.snapshot(final=exporter.end_time is not None), exporter.guard
                )
                return families(model, exporter.info, exporter.health)

        return _Collector()

    # -- pushing -----------------------------------------------------------------------------

    def push(self, *, final: bool = False, budget: float | None = None) -> bool:
        """One PUT of the whole group. Never raises; returns whether it was accepted."""
        if self.pusher is None:
            return False
        with self._lock:
            started = time.monotonic()
            size = 0
            try:
                data = self.render(final=final, compress=self.config.gzip)
                size = len(data)
                if budget is None:
                    budget = max(self.config.push_interval, self.config.push_timeout)
                # budget 0 is meaningful (one attempt only), so no `budget or default` here.
                self.pusher.put(data, budget=budget)
            except Exception as exc:
                self._account(started, size, failed=True)
                self.failure_log.failed(
                    exc, f"run id {self.config.run_id}; the load test continues"
                )
                logger.debug("locust_prometheus: push failure", exc_info=True)
                return False
            self._account(started, size, failed=False)
            self.failure_log.succeeded()
            self._pushed_ok = True
            return True

    def _account(self, started: float, size: int, *, failed: bool) -> None:
        h = self.health
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
            logger.warning(
                "locust_prometheus: delete of the group failed: %s (it stays in the Pushgateway; "
                "delete run_id %s by hand or let it be replaced)",
                describe(exc),
                self.config.run_id,
            )
            return False
        logger.info(
            "locust_prometheus: deleted group run_id=%s from the Pushgateway", self.config.run_id
        )
        return True

    def _push_loop(self) -> None:
        while True:
            self.push()
            gevent.sleep(self.config.push_interval)

    def _stop_loop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=True, timeout=self.config.push_timeout + 1)
            self._loop = None

    # -- listeners (never raise: an exception here would change Locust's exit code) --------------

    def _write_run_id_file(self) -> None:
        if not self.config.run_id_file:
            return
        try:
            with open(self.config.run_id_file, "w", encoding="utf-8") as fh:
                fh.write(self.config.run_id + "\n")
        except OSError as exc:
            raise ConfigError(
                f"cannot write --prometheus-run-id-file {self.config.run_id_file!r}: {exc} "
                "(check the directory exists and is writable)"
            ) from exc

    def _next_run(self) -> None:
        """A new test in the same process (the web UI's "New test"): its own run id and group,
        so runs never merge; the previous group is deleted after its linger, as at quit."""
        if self._cancel_finisher():
            # The previous test's final push was still waiting for worker reports: make it
            # now, to the previous group, before this test takes over.
            self.push(final=True, budget=FINAL_PUSH_BUDGET)
        previous, ended = self.pusher, self.end_time or time.time()
        self.config = replace(self.config, run_id=f"{self._base_run_id}-{self._tests}")
        self.pusher = self._make_pusher()
        self.health = Health()
        self._pushed_ok = False
        if previous is not None and not self.config.keep:
            self._cleanups.append(gevent.spawn(self._delete_later, previous, ended))
        logger.info(
            "locust_prometheus: new test in this process: run id %s (job %s)",
            self.config.run_id,
            self.config.job,
        )
        try:
            self._write_run_id_file()
        except ConfigError as exc:
            logger.warning("locust_prometheus: %s", exc)  # pushing goes on under the new id

    def _delete_later(self, pusher: Pusher, ended: float) -> None:
        gevent.sleep(max(0.0, ended + self.config.linger - time.time()))
        try:
            pusher.delete(budget=FINAL_PUSH_BUDGET)
        except Exception as exc:
            logger.warning(
                "locust_prometheus: delete of a finished run's group failed: %s", describe(exc)
            )

    def _on_test_start(self, **_: Any) -> None:
        try:
            self._tests += 1
            if self._tests > 1:
                self._next_run()
            self.end_time = None
            self._reports.clear()  # workers of an earlier test may be gone
            if self.pusher is not None and self._loop is None:
                self._loop = gevent.spawn(self._push_loop)
        except Exception:
            logger.exception("locust_prometheus: could not start pushing (the load test continues)")

    def _on_worker_report(self, *, client_id: str, **_: Any) -> None:
        # Locust merges the report into the master's stats in an earlier listener.
        self._reports[client_id] = time.time()

    def _on_test_stop(self, **_: Any) -> None:
        try:
            self._stop_loop()
            self.end_time = time.time()
            workers = self._workers()
            if workers:
                # A master: workers' last requests reach it after test_stop (in headless mode
                # test_stop fires before the workers are even told to quit).
                self._finisher = gevent.spawn(
                    self._final_after_worker_reports, self.end_time, workers
                )
            else:
                self.push(final=True, budget=FINAL_PUSH_BUDGET)
        except Exception:
            logger.exception("locust_prometheus: final push failed (the load test is unaffected)")

    def _workers(self) -> set[str]:
        """Ids of the workers that reported during the run or are connected (masters only)."""
        clients = getattr(getattr(self.environment, "runner", None), "clients", None)
        connected = {str(node.id) for node in getattr(clients, "all", [])}
        return set(self._reports) | connected

    def _final_after_worker_reports(self, stopped_at: float, workers: set[str]) -> None:
        deadline = time.monotonic() + WORKER_REPORT_WAIT
        while time.monotonic() < deadline and any(
            self._reports.get(w, 0.0) <= stopped_at for w in workers
        ):
            gevent.sleep(0.05)
        self.push(final=True, budget=FINAL_PUSH_BUDGET)

    def _cancel_finisher(self) -> bool:
        """Stop a final push that waits for worker reports; whether one was waiting."""
        if self._finisher is None:
            return False
        self._finisher.kill(block=True, timeout=1)
        self._finisher = None
        return True

    def _on_quitting(self, **_: Any) -> None:
        try:
            self._quitting_snapshot = self.snapshot(final=True)
        except Exception:
            logger.debug("locust_prometheus: snapshot at quitting failed", exc_info=True)

    def _on_quit(self, **_: Any) -> None:
        try:
            self._stop_loop()
            # At quit the master has received all it ever will: the final push is made below,
            # now, not after the wait for worker reports.
            self._cancel_finisher()
            if self.end_time is None:
                self.end_time = time.time()
            # Workers' last reports reach the master after test_stop; this push carries them.
            # After an earlier failed final push, one quick attempt is enough.
            budget = FINAL_PUSH_BUDGET if self.failure_log.failures == 0 else 0.0
            ok = self.push(final=True, budget=budget)
            wait = (ok and not self.config.keep) or self._server is not None
            if wait and self.config.linger > 0:
                logger.info(
                    "locust_prometheus: waiting %gs (--prometheus-linger) for a scrape, then %s",
                    self.config.linger,
                    "deleting the group" if ok and not self.config.keep else "closing /metrics",
                )
                try:
                    gevent.sleep(self.config.linger)
                except KeyboardInterrupt:
                    logger.info("locust_prometheus: interrupted; cleaning up now")
            if self._pushed_ok and not self.config.keep:
                self.delete()
            # Earlier tests' groups: their lingers started long ago, so this is short.
            gevent.joinall(self._cleanups, timeout=self.config.linger + FINAL_PUSH_BUDGET)
        except Exception:
            logger.exception("locust_prometheus: shutdown failed (the load test is unaffected)")
        finally:
            self._stop_server()

    # -- pull mode -----------------------------------------------------------------------------

    def _start_server(self, host: str, port: int) -> None:
        from gevent.pywsgi import WSGIServer

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            if environ.get("PATH_INFO", "/") not in ("/metrics", "/"):
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found: try /metrics\n"]
            compress = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
            try:
                body = self.render(final=self.end_time is not None, compress=compress)
            except Exception as exc:
                logger.exception("locust_prometheus: /metrics failed")
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                return [f"metrics failed: {exc}\n".encode()]
            headers = [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]
            if compress:
                headers.append(("Content-Encoding", "gzip"))
            start_response("200 OK", headers)
            return [body]

        try:
            self._server = WSGIServer((host, port), app, log=None, error_log=logger)
            self._server.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on --prometheus-listen {host}:{port}: {exc} (pick a free port)"
            ) from exc
        logger.info(
            "locust_prometheus: serving metrics on http://%s:%d/metrics",
            host,
            self._server.server_port,
        )

    @property
    def listen_port(self) -> int | None:
        return None if self._server is None else int(self._server.server_port)

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None


def _stripped(snap: RunSnapshot) -> bool:
    return snap.total.num_requests > sum(e.num_requests for e in snap.entries)

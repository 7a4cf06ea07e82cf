"""The Locust plugin: a small façade whose listeners drive the exporter's parts.

The parts, one concern each: ``render`` (statistics to payload), ``pushing`` (push loop, each
push's accounting, final push and delete), ``server`` (/metrics), ``workers`` (a master's wait
for its workers' last reports), ``runs`` (a run id per test of the process) and ``shutdown``
(Locust's shutdown once, though these listeners yield inside it).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import gevent

from . import __about__
from .exposition import Health, Unformatted
from .links import dashboard_link
from .options import ExporterConfig
from .profile_labels import profile_labels
from .pushgateway_http import Handler
from .pushing import FINAL_PUSH_BUDGET, PushChannel, delete_later
from .redact import redact_urls
from .render import Renderer
from .run_ids import RunIds, write_run_id_file
from .server import MetricsServer
from .shutdown import ShutdownOnce
from .snapshot import RunSnapshot
from .steady import watch_steady
from .workers import WorkerReports

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

__all__ = ["PrometheusExporter"]

logger = logging.getLogger(__name__)


class PrometheusExporter:
    """Pushes Locust's aggregated statistics to a Pushgateway (and/or serves them on /metrics).

    Use ``register(environment)`` on the master or local runner; ``import locust_prometheus``
    does that for you from Locust's ``init`` event when ``--prometheus-pushgateway`` is set.
    """

    def __init__(self, config: ExporterConfig, *, handler: Handler | None = None) -> None:
        self.renderer = Renderer(config.max_endpoints)
        self.channel = PushChannel(
            config,
            self._render_for_push,
            handler,
            stamp=lambda: self.renderer.taken_at,
            render_unformatted=self._render_unformatted,
        )
        self.server = MetricsServer(self._render_for_server)
        self.reports = WorkerReports()
        self.runs = RunIds(config.run_id)
        self.shutdown = ShutdownOnce()
        #: set at test_stop (or quit), cleared at test_start
        self.end_time: float | None = None
        #: deletes of earlier tests' groups, each waiting for its linger
        self._cleanups: list[gevent.Greenlet] = []
        #: the quit path has begun (it yields; a second ``quit`` must not run it again)
        self._quitting = False

    # -- the public surface, kept from the single-class exporter -----------------------------

    @property
    def config(self) -> ExporterConfig:
        return self.channel.config

    @property
    def health(self) -> Health:
        return self.channel.health

    @property
    def environment(self) -> Any:
        return self.renderer.environment

    @environment.setter
    def environment(self, environment: Any) -> None:
        self.renderer.environment = environment
        self.renderer.info = run_info(self.config, environment)

    def snapshot(self, *, final: bool = False) -> RunSnapshot:
        """Locust's statistics now; call from the gevent loop (it does not yield)."""
        return self.renderer.snapshot(final=final, end_time=self.end_time)

    def encode(self, snapshot: RunSnapshot, health: Health) -> bytes:
        """Payload for ``snapshot``; CPU-bound, so run it off the loop (see ``render``)."""
        return self.renderer.encode(snapshot, health)

    def render(self, *, final: bool = False, compress: bool = False) -> bytes:
        """The payload now: snapshot in the loop, encoding in a native thread."""
        return self.renderer.render(
            self.health, final=final, end_time=self.end_time, compress=compress
        )

    def collector(self) -> Collector:
        """A prometheus_client collector of the same metrics (for a registry of your own)."""
        return self.renderer.collector(lambda: self.health, lambda: self.end_time)

    def push(self, *, final: bool = False, budget: float | None = None) -> bool:
        """One PUT of the whole group. Never raises; returns whether it was accepted."""
        return self.channel.push(final=final, budget=budget)

    def delete(self) -> bool:
        return self.channel.delete()

    def _render_for_push(self, health: Health, *, final: bool, compress: bool) -> bytes:
        return self.renderer.render(health, final=final, end_time=self.end_time, compress=compress)

    def _render_unformatted(self, health: Health, *, final: bool) -> Unformatted:
        return self.renderer.render_unformatted(health, final=final, end_time=self.end_time)

    def _render_for_server(self, compress: bool) -> bytes:
        return self.render(final=self.end_time is not None, compress=compress)

    # -- registration ------------------------------------------------------------------------

    def register(self, environment: Any) -> None:
        """Attach to ``environment``'s events; call once, from the master or local runner."""
        self.environment = environment
        environment.events.test_start.add_listener(self._on_test_start)
        environment.events.test_stop.add_listener(self._on_test_stop)
        environment.events.quitting.add_listener(self._on_quitting)
        environment.events.quit.add_listener(self._on_quit)
        watch_steady(environment)
        environment.events.worker_report.add_listener(self._on_worker_report)
        self._collect_reports_before_quit(getattr(environment, "runner", None))
        write_run_id_file(self.config)
        if self.config.listen is not None:
            self.server.start(
                *self.config.listen,
                auth_file=self.config.listen_auth_file,
                cert_file=self.config.listen_cert_file,
                key_file=self.config.listen_key_file,
            )
        target = redact_urls(self.config.remote_write or self.config.pushgateway)
        verb = "remote write to" if self.config.remote_write else "pushing to"
        where = f"{verb} {target}" if self.channel.pusher else "not pushing"
        logger.info(
            "locust_prometheus: run id %s (job %s), %s every %gs",
            self.config.run_id,
            self.config.job,
            where,
            self.config.push_interval,
        )

    # -- listeners (never raise: an exception here would change Locust's exit code) --------------

    def _on_test_start(self, **_: Any) -> None:
        try:
            new = self.runs.next_test(self.config)
            if new is not None:
                self._next_run(new)
            self.end_time = None
            self.reports.new_test()
            if self.config.grafana_url:
                logger.info(
                    "locust_prometheus: dashboard %s",
                    dashboard_link(self.config.grafana_url, self.config.run_id, time.time()),
                )
            self.channel.start_loop()
        except Exception:
            logger.exception("locust_prometheus: could not start pushing (the load test continues)")

    def _next_run(self, config: ExporterConfig) -> None:
        """Move pushing to ``config``'s group; the previous group is deleted after its linger."""
        if self.reports.cancel():
            # The previous test's final push was still waiting for worker reports: make it
            # now, to the previous group, before this test takes over.
            self.push(final=True, budget=FINAL_PUSH_BUDGET)
        ended = self.end_time or time.time()
        previous = self.channel.retarget(config)
        if previous is not None and not config.keep:
            self._cleanups.append(gevent.spawn(delete_later, previous, ended, config.linger))

    def _on_worker_report(self, *, client_id: str, **_: Any) -> None:
        self.reports.reported(client_id)

    def _on_test_stop(self, **_: Any) -> None:
        try:
            self.channel.stop_loop()
            self.end_time = time.time()
            self.renderer.refresh_quitting_snapshot(self.end_time)
            workers = self.reports.workers(getattr(self.environment, "runner", None))
            if workers:
                # A master: workers' last requests reach it after test_stop (in headless mode
                # test_stop fires before the workers are even told to quit).
                self.reports.then(
                    self.end_time, workers, lambda: self.push(final=True, budget=FINAL_PUSH_BUDGET)
                )
            else:
                self.push(final=True, budget=FINAL_PUSH_BUDGET)
        except Exception:
            logger.exception("locust_prometheus: final push failed (the load test is unaffected)")

    def _on_quitting(self, **_: Any) -> None:
        if not self.shutdown.enter(bound=self._shutdown_bound()):
            return  # Locust's second shutdown(): the first one does all of it, once
        self._collect_last_reports()
        options = getattr(self.environment, "parsed_options", None)
        if options is not None and not (
            getattr(options, "json", False) or getattr(options, "json_file", None)
        ):
            return  # only Locust's JSON output zeroes the statistics: no copy needed
        try:
            self.renderer.keep_quitting_snapshot(self.end_time)
        except Exception:
            logger.debug("locust_prometheus: snapshot at quitting failed", exc_info=True)

    def _collect_reports_before_quit(self, runner: Any) -> None:
        """At the end of ``-t`` a headless master calls ``runner.quit()`` before ``quitting``
        fires, and that quit gives the workers' last reports only 0.5 s: on a busy machine the
        requests of those reports are lost to Locust's summary and to the final push. A master's
        ``quit`` collects them first (bounded by WORKER_REPORT_WAIT), then does Locust's own."""
        if runner is None or getattr(runner, "clients", None) is None:
            return  # a local runner: its statistics are its own
        locust_quit = runner.quit

        def quit() -> None:
            self._collect_last_reports()
            locust_quit()

        runner.quit = quit

    def _collect_last_reports(self) -> None:
        """A master quitting mid-test (the end of ``-t``; SIGTERM or Ctrl-C: how ``promgate run``
        stops a run) tells its workers to quit and gives their last reports 0.5 s; on a busy
        machine those arrive later and their requests are lost to Locust's summary and to the
        final push. Tell them here, before Locust does, and wait (bounded) until each has left."""
        runner = getattr(self.environment, "runner", None)
        if getattr(runner, "state", None) not in ("spawning", "running"):
            return  # not mid-test (stopped already, or collected already), or no runner
        clients = getattr(runner, "clients", None)
        workers = {str(node.id) for node in getattr(clients, "all", [])}
        if runner is None or clients is None or not workers:
            return  # a local runner: its statistics are its own
        try:
            from locust.rpc import Message

            # Locust's own quit order: stop dispatching (no users re-sent to the workers left),
            # then tell the workers to quit; only the wait for their reports is longer.
            runner.stop(send_stop_to_client=False)
            for worker in workers:
                runner.server.send_to_client(Message("quit", None, worker))  # type: ignore[no-untyped-call]
            # A worker's quit message follows its last report: gone means reported.
            self.reports.wait_for(workers, lambda w: w not in clients)
        except Exception:
            logger.exception("locust_prometheus: collecting the workers' last reports failed")

    def _shutdown_bound(self) -> float:
        """The longest the exporter's part of one Locust shutdown can take, with a margin."""
        return self.reports.wait + 2 * self.config.linger + 3 * FINAL_PUSH_BUDGET + 30.0

    def _on_quit(self, **_: Any) -> None:
        if self.shutdown.done or self._quitting:
            return  # the final push, linger and DELETE happen once
        self._quitting = True
        try:
            self.channel.stop_loop()
            # At quit the master has received all it ever will: the final push is made below,
            # now, not after the wait for worker reports.
            self.reports.cancel()
            if self.end_time is None:
                self.end_time = time.time()
            # Workers' last reports reach the master after test_stop; this push carries them.
            # After an earlier failed final push, one quick attempt is enough.
            budget = FINAL_PUSH_BUDGET if self.channel.failure_log.failures == 0 else 0.0
            ok = self.push(final=True, budget=budget)
            # Remote write has no scrape to wait for: its series end at once (staleness markers).
            self._linger(deleting=ok and not self.config.keep and not self.channel.remote)
            if self.channel.pushed_ok and not self.config.keep:
                self.delete()
            # Earlier tests' groups: their lingers started long ago, so this is short.
            gevent.joinall(self._cleanups, timeout=self.config.linger + FINAL_PUSH_BUDGET)
        except Exception:
            logger.exception("locust_prometheus: shutdown failed (the load test is unaffected)")
        finally:
            self.server.stop()
            self.shutdown.finished()

    def _linger(self, *, deleting: bool) -> None:
        """Give Prometheus time to scrape the final values (push or /metrics) before they go."""
        if not (deleting or self.server.running) or self.config.linger <= 0:
            return
        logger.info(
            "locust_prometheus: waiting %gs (--prometheus-linger) for a scrape, then %s",
            self.config.linger,
            "deleting the group" if deleting else "closing /metrics",
        )
        try:
            gevent.sleep(self.config.linger)
        except KeyboardInterrupt:
            logger.info("locust_prometheus: interrupted; cleaning up now")


def run_info(config: ExporterConfig, environment: Any) -> dict[str, str]:
    """The labels of locust_run_info."""
    import locust

    info = {
        "testplan": config.testplan,
        "environment": config.environment,
        "host": str(getattr(environment, "host", "") or ""),
        "locust_version": str(getattr(locust, "__version__", "")),
        "exporter_version": __about__.__version__,
        **profile_labels(environment),
    }
    info.update(config.labels)
    return info

"""Finding a run's window in Prometheus and waiting until its final push has been scraped.

The window comes from the exporter's ``locust_run_start_timestamp_seconds`` and
``locust_run_end_timestamp_seconds`` (present only in the final push). The first sample of the
end series is the first scrape that saw the final values; the gate evaluates one scrape interval
after it, never at the end timestamp itself, which can miss that last scrape.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import queries
from ..defaults import LOOKBACK, WAIT_TIMEOUT
from ..errors import RunNotFinished, RunNotFound, UsageError
from .client import PrometheusClient
from .templating import check_duration, escape_string
from .types import RunWindow

__all__ = ["find_latest_run", "resolve_run", "run_selector"]

#: Once the final scrape is this old (s), the interval no longer matters: everything is in.
OLD_RUN = 60.0
#: Used when a run has too few samples to measure the scrape interval from.
FALLBACK_INTERVAL = 1.0


def run_selector(run_id: str, job: str) -> str:
    return f'job="{escape_string(job)}", run_id="{escape_string(run_id)}"'


def find_latest_run(client: PrometheusClient, job: str, lookback: str) -> str:
    """The run id of the job's newest run (by start time) within ``lookback``."""
    expr = queries.latest_run(f'job="{escape_string(job)}"', check_duration(lookback))
    samples = [s for s in client.query(expr) if "run_id" in s.labels]
    if not samples:
        raise RunNotFound(
            f"no runs found: no locust_run_start_timestamp_seconds for job {job!r} in the last "
            f"{lookback} (does the exporter push to the Pushgateway Prometheus scrapes?)",
            option="job",
        )
    return samples[0].labels["run_id"]


@dataclass(frozen=True)
class _Waiter:
    """One ``resolve_run``'s waits: the run's series, the clock and the deadline they share."""

    client: PrometheusClient
    run_id: str
    job: str
    sel: str
    lookback: str
    wait_timeout: float
    began: float
    say: Callable[[str], None]
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    @property
    def deadline(self) -> float:
        return self.began + self.wait_timeout

    def start(self) -> float:
        """The run's start; a run normally shows up at once, a little patience covers a run
        shorter than one scrape."""
        appear_deadline = self.began + min(self.wait_timeout, 5.0 + self.client.ingestion_delay)
        start = _value(self.client, queries.run_start(self.sel, self.lookback))
        while start is None:
            if self.clock() >= appear_deadline:
                raise RunNotFound(
                    f"unknown run: no series for run_id {self.run_id!r} and job {self.job!r} in "
                    f"the last {self.lookback} (is the run id right, and the job?)",
                    option="run_id",
                )
            self.sleep(0.5)
            start = _value(self.client, queries.run_start(self.sel, self.lookback))
        return start

    def end(self) -> float:
        """The run's end, in its final push: waits for Locust to finish, saying so every 5 s."""
        end = _value(self.client, queries.run_end(self.sel, self.lookback))
        last_note = self.began
        while end is None:
            now = self.clock()
            if now >= self.deadline:
                raise RunNotFinished(
                    f"run not finished: run {self.run_id!r} has no end timestamp after waiting "
                    f"{self.wait_timeout:.0f}s (is Locust still running?)",
                    option="wait_timeout",
                )
            if now - last_note >= 5.0:
                self.say(
                    f"promgate: waiting for run {self.run_id!r} to finish ({now - self.began:.0f}s"
                    f" of {self.wait_timeout:.0f}s)"
                )
                last_note = now
            self.sleep(min(1.0, max(0.05, self.deadline - now)))
            end = _value(self.client, queries.run_end(self.sel, self.lookback))
        return end

    def final_scrape(self, start: float, end: float) -> tuple[float, float]:
        """(the first scrape that saw the final push, the scrape interval)."""

        def scrapes(at: float) -> tuple[float | None, float | None]:
            """The run's raw samples up to ``at``, reaching back past its start."""
            reach = max(1, math.ceil(at - min(start, end))) + 60
            return _scrapes(self.client, self.sel, reach, at)

        now = self.clock()
        first_end, interval = scrapes(min(now, end + 600.0))
        if first_end is None:  # clock skew beyond 10 minutes: look at everything up to now
            first_end, interval = scrapes(now)
        # A run shorter than two scrapes has no interval to measure yet: wait for the next
        # scrape rather than guess (bounded; an old run's data is complete whatever the interval).
        while interval is None:
            now = self.clock()
            if now >= self.deadline or first_end is None or now - first_end > OLD_RUN:
                interval = FALLBACK_INTERVAL
                break
            self.sleep(0.25)
            first_end, interval = scrapes(now)
        return (first_end if first_end is not None else now), interval

    def until_scraped(self, eval_time: float, interval: float) -> None:
        """Waits until ``eval_time``, refusing a wait beyond the deadline by more than one
        scrape interval (at most a minute)."""
        delay = self.client.ingestion_delay
        if eval_time > self.deadline + delay + min(max(1.0, interval), OLD_RUN):
            # Samples stamped in the future (a clock far ahead, or a hostile server) would make
            # the wait outlast the wait timeout: the run is not judged.
            raise RunNotFinished(
                f"run not finished: run {self.run_id!r} is to be judged at "
                f"{eval_time - self.clock():.0f}s from now, beyond the wait of "
                f"{self.wait_timeout:.0f}s (are Prometheus's and this machine's clocks apart?)",
                option="wait_timeout",
            )
        if eval_time > self.clock():
            self.say(
                f"promgate: run {self.run_id!r} finished; waiting "
                f"{eval_time - self.clock():.1f}s for one more scrape"
            )
            while self.clock() < eval_time:
                self.sleep(min(0.5, max(0.01, eval_time - self.clock())))


def resolve_run(
    client: PrometheusClient,
    run_id: str,
    job: str,
    *,
    lookback: str = LOOKBACK,
    wait_timeout: float = WAIT_TIMEOUT,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> RunWindow:
    """Wait (bounded) for the run's final push to be scraped and return its window."""
    if not wait_timeout >= 0:  # NaN would never time out
        raise UsageError(f"bad wait timeout {wait_timeout!r} (expected seconds >= 0)")
    check_duration(lookback)  # pasted into range selectors
    sel = run_selector(run_id, job)
    say = progress or (lambda _msg: None)
    wait = _Waiter(client, run_id, job, sel, lookback, wait_timeout, clock(), say, clock, sleep)
    start = wait.start()
    end = wait.end()
    final_scrape, interval = wait.final_scrape(start, end)
    # An engine with an ingestion delay shows everything that much later (VictoriaMetrics,
    # hosted stores): every wait is longer by it.
    eval_time = final_scrape + max(1.0, interval) + client.ingestion_delay
    wait.until_scraped(eval_time, interval)
    window = math.ceil(eval_time - start + 2 * interval) + 10
    return RunWindow(run_id, job, start, end, final_scrape, interval, eval_time, max(window, 1))


def _value(client: PrometheusClient, expr: str) -> float | None:
    for sample in client.query(expr):
        if math.isfinite(sample.value):
            return sample.value
    return None


def _scrapes(
    client: PrometheusClient, sel: str, reach: int, at: float
) -> tuple[float | None, float | None]:
    """(first scrape that saw the end, median scrape interval) from the raw samples."""
    expr = queries.run_timestamp_samples(sel, f"{reach}s")
    first_end: float | None = None
    steps: list[float] = []
    for series in client.query_series(expr, at):
        stamps = sorted(t for t, _ in series.points)
        if series.labels.get("__name__") == "locust_run_end_timestamp_seconds" and stamps:
            first_end = stamps[0] if first_end is None else min(first_end, stamps[0])
        steps.extend(b - a for a, b in itertools.pairwise(stamps) if b > a)
    return first_end, (statistics.median(steps) if steps else None)

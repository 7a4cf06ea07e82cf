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
    say = progress or (lambda _msg: None)
    check_duration(lookback)  # pasted into range selectors below
    sel = run_selector(run_id, job)
    began = clock()
    deadline = began + wait_timeout
    # An engine with an ingestion delay shows everything that much later (VictoriaMetrics,
    # hosted stores): every wait below is longer by it.
    delay = client.ingestion_delay
    # A run normally shows up at once; a little patience covers a run shorter than one scrape.
    appear_deadline = began + min(wait_timeout, 5.0 + delay)
    start = _value(client, queries.run_start(sel, lookback))
    while start is None:
        if clock() >= appear_deadline:
            raise RunNotFound(
                f"unknown run: no series for run_id {run_id!r} and job {job!r} in the last "
                f"{lookback} (is the run id right, and the job?)",
                option="run_id",
            )
        sleep(0.5)
        start = _value(client, queries.run_start(sel, lookback))
    end = _value(client, queries.run_end(sel, lookback))
    last_note = began
    while end is None:
        now = clock()
        if now >= deadline:
            raise RunNotFinished(
                f"run not finished: run {run_id!r} has no end timestamp after waiting "
                f"{wait_timeout:.0f}s (is Locust still running?)",
                option="wait_timeout",
            )
        if now - last_note >= 5.0:
            say(
                f"promgate: waiting for run {run_id!r} to finish ({now - began:.0f}s of "
                f"{wait_timeout:.0f}s)"
            )
            last_note = now
        sleep(min(1.0, max(0.05, deadline - now)))
        end = _value(client, queries.run_end(sel, lookback))

    now = clock()
    at = min(now, end + 600.0)
    reach = max(1, math.ceil(at - min(start, end))) + 60
    first_end, interval = _scrapes(client, sel, reach, at)
    if first_end is None:  # clock skew beyond 10 minutes: look at everything up to now
        reach = max(1, math.ceil(now - min(start, end))) + 60
        first_end, interval = _scrapes(client, sel, reach, now)
    # A run shorter than two scrapes has no interval to measure yet: wait for the next scrape
    # rather than guess (bounded; an old run's data is complete whatever the interval).
    while interval is None:
        now = clock()
        if now >= deadline or first_end is None or now - first_end > OLD_RUN:
            interval = FALLBACK_INTERVAL
            break
        sleep(0.25)
        reach = max(1, math.ceil(now - min(start, end))) + 60
        first_end, interval = _scrapes(client, sel, reach, now)
    final_scrape = first_end if first_end is not None else now
    eval_time = final_scrape + max(1.0, interval) + delay
    if eval_time > deadline + delay + min(max(1.0, interval), OLD_RUN):
        # Samples stamped in the future (a clock far ahead, or a hostile server) would make the
        # wait below outlast the wait timeout: it may run over by one scrape interval (at most
        # a minute) to see the final scrape, never more, and the run is not judged.
        raise RunNotFinished(
            f"run not finished: run {run_id!r} is to be judged at {eval_time - clock():.0f}s from "
            f"now, beyond the wait of {wait_timeout:.0f}s (are Prometheus's and this machine's "
            "clocks apart?)",
            option="wait_timeout",
        )
    if eval_time > clock():
        say(
            f"promgate: run {run_id!r} finished; waiting {eval_time - clock():.1f}s for one more "
            "scrape"
        )
        while clock() < eval_time:
            sleep(min(0.5, max(0.01, eval_time - clock())))
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

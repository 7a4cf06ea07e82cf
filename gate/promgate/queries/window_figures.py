"""Figures over a part of a run (``window:`` steady, skip, last) and Apdex.

A window is ``($win_start, $win_end]`` (Unix seconds, for ``@``), ``$win_seconds`` long
(``$win_range``: the same span as a PromQL duration, to the millisecond). Counters are read **at
the window's edges**: at the end the last scrape (``last_over_time(...[$window] @ $win_end)``),
at the start the first scrape inside the window (the counter's smallest value in it,
``min_over_time(...[$win_range] @ $win_end)``: a run's counters only grow), and the window's
figure is their difference. That is the exact increase between those two scrapes, with none of
``increase()``'s extrapolation. A series with no sample inside the window (remote write sends
only what changed) starts from its last value before the window; one first seen inside it
counts from 0 (``A - (B or A * 0)``). Percentiles come from the difference of the cumulative
bucket counts, so they are the window's own distribution, on Locust's rounding grid.
"""

from __future__ import annotations

from ._expr import RUN, WINDOW, _by, _comma, _sel

__all__ = [
    "HISTOGRAM_BOUNDS_MS",
    "apdex",
    "apdex_bracket",
    "le_label",
    "le_matcher",
    "run_steady",
    "window_avg_response_time",
    "window_error_ratio",
    "window_failures",
    "window_loadgen_cpu",
    "window_max_users",
    "window_node_cpu",
    "window_node_memory",
    "window_quantile",
    "window_requests",
    "window_rps",
]

#: The exporter's histogram bounds in ms (``locust_request_duration_seconds``, docs/metrics.md),
#: on Locust's rounding grid; a test holds this copy equal to the exporter's.
HISTOGRAM_BOUNDS_MS: tuple[int, ...] = (
    1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 30000, 60000,
)  # fmt: skip

START = "$win_start"
END = "$win_end"
SECONDS = "$win_seconds"
RANGE = "$win_range"


def le_label(ms: int) -> str:
    """The ``le`` label value the exporter writes for a bound of ``ms`` (Python's ``repr`` of
    seconds, as prometheus_client writes it: ``0.05``, ``2.0``)."""
    return repr(ms / 1000.0)


def le_matcher(ms: int) -> str:
    """The matcher for the bucket of bound ``ms`` as stored: the exporter writes ``le="2.0"``,
    but the Pushgateway re-exposes it as Go formats floats (``le="2"``) and remote write keeps
    the exporter's text, so a whole-second bound matches both."""
    label = le_label(ms)
    if label.endswith(".0"):
        return f'le=~"{label[:-2]}|{label[:-2]}[.]0"'
    return f'le="{label}"'


def _delta(metric: str, by: str, sel: str = RUN, extra: str = "", window: str = WINDOW) -> str:
    series = _sel(metric, sel, extra)
    end = f"sum{_by(by)}(last_over_time({series}[{window}] @ {END}))"
    # A run's counters only grow: the smallest value in the window is its first scrape's. A
    # series without a sample in the window (remote write sends a series only when it changed)
    # takes its last value before it, per series, before the sum.
    first = f"min_over_time({series}[{RANGE}] @ {END})"
    before = f"last_over_time({series}[{window}] @ {START})"
    start = f"sum{_by(by)}({first} or {before})"
    return f"({end} - ({start} or {end} * 0))"


def window_requests(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Requests completed in the window (Locust's ``# reqs`` between its edges)."""
    return _delta("locust_requests_total", by, sel, window=window)


def window_failures(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    return _delta("locust_request_failures_total", by, sel, window=window)


def window_error_ratio(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    return f"{window_failures(sel, window, by)} / {window_requests(sel, window, by)}"


def window_rps(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Requests in the window over its length in seconds."""
    return f"{window_requests(sel, window, by)} / {SECONDS}"


def window_avg_response_time(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    total = _delta("locust_request_duration_seconds_sum", by, sel, window=window)
    count = _delta("locust_request_duration_seconds_count", by, sel, window=window)
    return f"{total} / {count}"


def window_quantile(q: float | str, sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """The window's quantile from its own bucket counts: linear within the bucket that holds
    it, so within that bucket's width of Locust's percentile of the same requests."""
    metric = "locust_request_duration_seconds_bucket"
    buckets = _delta(metric, f"le{_comma(by)}", sel, window=window)
    return f"histogram_quantile({q}, {buckets})"


def window_max_users(sel: str = RUN) -> str:
    return f"max_over_time(sum({_sel('locust_users', sel)})[{RANGE}:1s] @ {END})"


def window_loadgen_cpu(sel: str = RUN) -> str:
    return f"max(avg_over_time({_sel('locust_loadgen_cpu_percent', sel)}[{RANGE}] @ {END}))"


def window_node_cpu(node_sel: str = "") -> str:
    idle = _sel("node_cpu_seconds_total", node_sel, 'mode="idle"')
    return f"100 * (1 - avg(rate({idle}[{RANGE}] @ {END})))"


def window_node_memory(node_sel: str = "") -> str:
    avail = f"avg_over_time({_sel('node_memory_MemAvailable_bytes', node_sel)}[{RANGE}] @ {END})"
    total = f"avg_over_time({_sel('node_memory_MemTotal_bytes', node_sel)}[{RANGE}] @ {END})"
    return f"100 * (1 - avg({avail}) / avg({total}))"


def apdex(
    t_ms: int, sel: str = RUN, window: str = WINDOW, by: str = "", *, windowed: bool = False
) -> str:
    """Apdex for threshold T: (satisfied + tolerating / 2) / all = (N(<=T) + N(<=4T)) / 2 / N,
    from the run's (or with ``windowed``, the window's) bucket counts. Exact when T and 4T are
    both bucket bounds; otherwise N(<=x) is interpolated linearly inside the bucket holding x
    (``apdex_bracket``)."""

    def count(metric: str, extra: str = "") -> str:
        if windowed:
            return _delta(metric, by, sel, extra, window)
        return f"sum{_by(by)}(max_over_time({_sel(metric, sel, extra)}[{window}]))"

    bucket = "locust_request_duration_seconds_bucket"

    def at_most(ms: int) -> str:
        low, high = apdex_bracket(ms)
        upper = count(bucket, le_matcher(high))
        if low == high:
            return upper
        share = (ms - low) / (high - low)
        if low == 0:  # below the first bound: nothing is at or under 0 ms
            return f"({upper} * {share:.6g})"
        lower = count(bucket, le_matcher(low))
        return f"({lower} * {1 - share:.6g} + {upper} * {share:.6g})"

    total = count("locust_request_duration_seconds_count")
    return f"({at_most(t_ms)} + {at_most(4 * t_ms)}) / 2 / {total}"


def apdex_bracket(ms: int) -> tuple[int, int]:
    """The histogram bounds around ``ms``: ``(ms, ms)`` on a bound (exact), else the bucket
    ``(low, high]`` that holds it (``low`` 0 below the first bound). ``ValueError`` beyond the
    last bound, where no bucket closes."""
    if ms in HISTOGRAM_BOUNDS_MS:
        return ms, ms
    if not 0 < ms < HISTOGRAM_BOUNDS_MS[-1]:
        raise ValueError(f"{ms} ms is outside the histogram (1 ms to {HISTOGRAM_BOUNDS_MS[-1]} ms)")
    high = min(b for b in HISTOGRAM_BOUNDS_MS if b > ms)
    low = max((b for b in HISTOGRAM_BOUNDS_MS if b < ms), default=0)
    return low, high


def run_steady(sel: str = RUN, window: str = WINDOW) -> str:
    """When all users were running (the exporter's ``spawning_complete`` moment)."""
    return f"max(last_over_time({_sel('locust_run_steady_timestamp_seconds', sel)}[{window}]))"

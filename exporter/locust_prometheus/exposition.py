"""The metrics of docs/metrics.md, in two encodings of the same model.

``encode`` writes the Prometheus text format directly; it is the hot path of every push because
prometheus_client's ``generate_latest`` costs ~10x more for 1,000 endpoints (see
docs/performance.md and bench/bench_exporter_push.py). ``families`` yields prometheus_client metric
families of the same samples, for registries and as the reference the tests compare ``encode`` to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .chunks import ChunkCache
from .model import (
    BUCKET_BOUNDS_MS,
    LIVE_PERCENTILES,
    EndpointRow,
    ErrorRow,
    Model,
    percentile_labels,
)

if TYPE_CHECKING:
    # prometheus_client is imported when families() is called: importing it costs every
    # Locust process that loads the plugin ~0.1 s, and pushing never needs it.
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.metrics_core import Metric

__all__ = [
    "ENDPOINT_FAMILIES",
    "HELP",
    "EndpointSeries",
    "EndpointValues",
    "Health",
    "Unformatted",
    "encode",
    "endpoint_series",
    "families",
    "unformatted",
]

#: name (as exposed) -> (type, help)
HELP: dict[str, tuple[str, str]] = {
    "locust_requests_total": ("counter", "Requests completed (Locust's # reqs)."),
    "locust_request_failures_total": ("counter", "Failed requests (Locust's # fails)."),
    "locust_errors_total": ("counter", "Failures by normalized error text."),
    "locust_request_duration_seconds": ("histogram", "Response time on Locust's rounding grid."),
    "locust_response_bytes_total": ("counter", "Response bytes (Locust's total content length)."),
    "locust_response_time_percentile_seconds": ("gauge", "Locust's whole-run percentile."),
    "locust_response_time_max_seconds": ("gauge", "Locust's max response time for the endpoint."),
    "locust_current_requests_per_second": ("gauge", "Locust's current RPS (its live window)."),
    "locust_current_failures_per_second": ("gauge", "Locust's current failures/s (live window)."),
    "locust_current_response_time_percentile_seconds": (
        "gauge", "Locust's current-window percentile (about the last 10 s)."),
    "locust_run_response_time_percentile_seconds": ("gauge", "Whole-run percentile, all requests."),
    "locust_run_current_response_time_percentile_seconds": (
        "gauge", "Current-window percentile, all requests (about the last 10 s)."),
    "locust_run_response_time_max_seconds": ("gauge", "Locust's max response time, all requests."),
    "locust_users": ("gauge", "Current users by user class; 0 in the final push."),
    "locust_workers": ("gauge", "Workers by state (distributed mode)."),
    "locust_run_start_timestamp_seconds": ("gauge", "When the run's statistics started."),
    "locust_run_last_request_timestamp_seconds": ("gauge", "Time of the last request."),
    "locust_run_end_timestamp_seconds": ("gauge", "When the run ended (final push only)."),
    "locust_run_steady_timestamp_seconds": ("gauge", "When all users were running."),
    "locust_run_info": ("gauge", "Run description; value 1."),
    "locust_loadgen_cpu_percent": ("gauge", "CPU use of each load-generator process."),
    "locust_loadgen_memory_bytes": ("gauge", "Resident memory of each load-generator process."),
    "locust_exporter_pushes_total": ("counter", "Pushes attempted before this one."),
    "locust_exporter_push_failures_total": ("counter", "Pushes that failed after their retries."),
    "locust_exporter_last_push_duration_seconds": ("gauge", "Wall time of the previous push."),
    "locust_exporter_last_push_bytes": ("gauge", "Payload size of the previous push."),
    "locust_exporter_dropped_endpoints_total": ("counter", "Endpoints folded into __other__."),
}  # fmt: skip

#: prometheus_client's floatToGoString is repr for these bounds (no exponent below 1e6); the test
#: comparing encode with prometheus_client holds the two to the same text.
_LE: list[str] = [repr(b / 1000.0) for b in BUCKET_BOUNDS_MS]


#: One endpoint's values, one tuple per family of ENDPOINT_FAMILIES (``()``: no lines).
EndpointValues = tuple[tuple[object, ...], ...]


@functools.lru_cache(maxsize=65536)
def _seconds(ms: float) -> str:
    """The text of ``ms / 1000.0``. Percentiles are response-time keys on Locust's rounding
    grid, so the same few values recur in every push: format each once."""
    return repr(ms / 1000.0)


@dataclass(frozen=True, slots=True)
class Health:
    pushes: int = 0
    failures: int = 0
    last_duration: float = 0.0
    last_bytes: int = 0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@functools.lru_cache(maxsize=8192)
def _endpoint_labels(method: str, name: str) -> str:
    return f'method="{_escape(method)}",name="{_escape(name)}"'


@functools.lru_cache(maxsize=8192)
def _endpoint_key(method: str, name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An endpoint's label text and label pairs."""
    return _endpoint_labels(method, name), (("method", method), ("name", name))


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _labels(pairs: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items())


def encode(
    model: Model, info: Mapping[str, str], health: Health, cache: ChunkCache | None = None
) -> bytes:
    """The model in the Prometheus text format (0.0.4), one group per metric family.

    With the same ``cache`` from push to push, endpoints whose numbers did not change reuse
    their text (see chunks.py); the result is the same text as without one.
    """
    out: list[str] = []
    w = out.append

    def header(name: str) -> None:
        kind, help_text = HELP[name]
        w(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")

    chunks = ChunkCache() if cache is None else cache
    qlabels = tuple(percentile_labels(model.snapshot.percentiles))
    live = tuple(percentile_labels(LIVE_PERCENTILES))
    chunks.layout((qlabels, live))
    templates = functools.partial(_endpoint_templates, qlabels, live)
    # One row of texts per endpoint, one text per family of ENDPOINT_FAMILIES.
    rows = [
        chunks.texts(_endpoint_labels(r.method, r.name), _endpoint_values(r), templates)
        for r in model.endpoints
    ]
    columns = list(zip(*rows, strict=True)) or [()] * len(ENDPOINT_FAMILIES)
    for name, column in zip(ENDPOINT_FAMILIES, columns, strict=True):
        header(name)
        w("".join(column))
        if name == "locust_response_bytes_total":
            header("locust_errors_total")
            for e in model.errors:
                w(_error_line(e))

    for name, samples in _run_families(model, info, health):
        header(name)
        _run_lines(name, samples, w)
    return "".join(out).encode("utf-8")


def _endpoint_values(r: EndpointRow) -> EndpointValues:
    """The ``%s`` arguments of one endpoint's templates, one tuple per family."""
    return (
        (r.requests,), (r.failures,), (r.content_bytes,),
        (*r.buckets, r.requests, r.sum_seconds, r.requests),
        tuple(map(_seconds, r.quantiles_ms)), (_seconds(r.max_ms),),
        (float(r.current_rps),), (float(r.current_fail_per_sec),),
        () if r.current_ms is None else tuple(map(_seconds, r.current_ms)),
    )  # fmt: skip


def _error_line(e: ErrorRow) -> str:
    return (f'locust_errors_total{{{_endpoint_labels(e.method, e.name)},'
            f'error="{_escape(e.error)}"}} {e.count}\n')  # fmt: skip


def _run_lines(
    name: str, samples: list[tuple[dict[str, str], float]], w: Callable[[str], object]
) -> None:
    for labelset, value in samples:
        lab = _labels(labelset)
        w(f"{name}{{{lab}}} {_num(value)}\n" if lab else f"{name} {_num(value)}\n")


@dataclass(frozen=True, slots=True)
class Unformatted:
    """``encode``'s samples with the endpoints' lines left unformatted, for remote write.

    ``endpoints``: each endpoint's label text, its label pairs, and its values per family of
    ``ENDPOINT_FAMILIES`` (what ``encode`` formats into its lines, one value per line, in
    order); ``series``: the series of those lines per family (``endpoint_series``), the same
    for every endpoint; ``other``: the remaining families (errors, run-wide) in the text
    format, without comments.
    """

    series: tuple[tuple[EndpointSeries, ...], ...]
    endpoints: list[tuple[str, tuple[tuple[str, str], ...], EndpointValues]]
    other: bytes


def unformatted(model: Model, info: Mapping[str, str], health: Health) -> Unformatted:
    """The samples of ``encode(model, info, health)``, the endpoints' as values (see
    ``Unformatted``): remote write compares values, so their text need not be written."""
    qlabels = tuple(percentile_labels(model.snapshot.percentiles))
    live = tuple(percentile_labels(LIVE_PERCENTILES))
    out = [_error_line(e) for e in model.errors]
    for name, samples in _run_families(model, info, health):
        _run_lines(name, samples, out.append)
    return Unformatted(
        series=endpoint_series(qlabels, live),
        endpoints=[
            (*_endpoint_key(r.method, r.name), _endpoint_values(r)) for r in model.endpoints
        ],
        other="".join(out).encode("utf-8"),
    )


#: The per-endpoint families, in the order they are written (errors follow the bytes).
ENDPOINT_FAMILIES = (
    "locust_requests_total",
    "locust_request_failures_total",
    "locust_response_bytes_total",
    "locust_request_duration_seconds",
    "locust_response_time_percentile_seconds",
    "locust_response_time_max_seconds",
    "locust_current_requests_per_second",
    "locust_current_failures_per_second",
    "locust_current_response_time_percentile_seconds",
)
#: One series of an endpoint: its name, and the labels it has besides the endpoint's.
EndpointSeries = tuple[str, tuple[tuple[str, str], ...]]


@functools.lru_cache(maxsize=8)
def endpoint_series(
    percentiles: tuple[str, ...], live: tuple[str, ...]
) -> tuple[tuple[EndpointSeries, ...], ...]:
    """Each endpoint's series in each of ENDPOINT_FAMILIES, one per line and value, in order:
    what its text templates and remote write's series are both made from."""
    req, fail, size, h, q, m, rps, fps, c = ENDPOINT_FAMILIES
    return (
        ((req, ()),), ((fail, ()),), ((size, ()),),
        (*[(f"{h}_bucket", (("le", le),)) for le in [*_LE, "+Inf"]], (f"{h}_sum", ()),
         (f"{h}_count", ())),
        tuple((q, (("percentile", p),)) for p in percentiles),
        ((m, ()),), ((rps, ()),), ((fps, ()),),
        tuple((c, (("percentile", p),)) for p in live),
    )  # fmt: skip


def _endpoint_templates(
    percentiles: tuple[str, ...], live: tuple[str, ...], labels: str
) -> tuple[str, ...]:
    """One endpoint's lines in each of ENDPOINT_FAMILIES, a ``%s`` for each value."""
    return tuple(
        "".join(
            f"{name}{{{labels}{''.join(f',{k}={_template_quoted(v)}' for k, v in extra)}}} %s\n"
            for name, extra in family
        )
        for family in endpoint_series(percentiles, live)
    )


def _template_quoted(value: str) -> str:
    return f'"{_escape(value)}"'.replace("%", "%%")


def _run_families(
    model: Model, info: Mapping[str, str], health: Health
) -> list[tuple[str, list[tuple[dict[str, str], float]]]]:
    s = model.snapshot
    qlabels = percentile_labels(s.percentiles)
    totals = model.total_quantiles_ms
    current = model.total_current_ms
    live = percentile_labels(LIVE_PERCENTILES) if current is not None else []
    fams: list[tuple[str, list[tuple[dict[str, str], float]]]] = [
        ("locust_run_response_time_percentile_seconds",
         [({"percentile": ql}, v / 1000.0) for ql, v in zip(qlabels, totals, strict=True)]),
        ("locust_run_current_response_time_percentile_seconds",
         [({"percentile": ql}, v / 1000.0) for ql, v in zip(live, current or [], strict=True)]),
        ("locust_run_response_time_max_seconds", [({}, model.total_max_ms / 1000.0)]),
        ("locust_users", [({"user_class": k}, v) for k, v in s.users.items()]),
        ("locust_run_start_timestamp_seconds", [({}, s.start_time)]),
        ("locust_run_last_request_timestamp_seconds", [({}, s.last_request_timestamp)]),
        ("locust_run_info", [(dict(info), 1)]),
        ("locust_loadgen_cpu_percent", [({"worker": w}, cpu) for w, cpu, _ in s.loadgen]),
        ("locust_loadgen_memory_bytes", [({"worker": w}, mem) for w, _, mem in s.loadgen]),
        ("locust_exporter_pushes_total", [({}, health.pushes)]),
        ("locust_exporter_push_failures_total", [({}, health.failures)]),
        ("locust_exporter_last_push_duration_seconds", [({}, health.last_duration)]),
        ("locust_exporter_last_push_bytes", [({}, health.last_bytes)]),
        ("locust_exporter_dropped_endpoints_total", [({}, model.dropped_endpoints)]),
    ]  # fmt: skip
    if s.workers is not None:
        fams.append(("locust_workers", [({"state": k}, v) for k, v in s.workers.items()]))
    if s.end_time is not None:
        fams.append(("locust_run_end_timestamp_seconds", [({}, s.end_time)]))
    if s.steady_time is not None:
        fams.append(("locust_run_steady_timestamp_seconds", [({}, s.steady_time)]))
    return fams


def families(model: Model, info: Mapping[str, str], health: Health) -> Iterator[Metric]:
    """The same samples as ``encode`` as prometheus_client metric families."""
    yield from _endpoint_counters(model)
    yield _duration_histogram(model)
    yield from _endpoint_gauges(model)
    yield from _run_metrics(model, info, health)


_ENDPOINT = ["method", "name"]


def _endpoint_counters(model: Model) -> Iterator[Metric]:
    """Requests, failures and response bytes per endpoint, and errors per endpoint and error."""
    from prometheus_client.core import CounterMetricFamily

    for name, attr in (
        ("locust_requests", "requests"),
        ("locust_request_failures", "failures"),
        ("locust_response_bytes", "content_bytes"),
    ):
        c = CounterMetricFamily(name, HELP[name + "_total"][1], labels=_ENDPOINT)
        for r in model.endpoints:
            c.add_metric([r.method, r.name], getattr(r, attr))
        yield c
    c = CounterMetricFamily(
        "locust_errors", HELP["locust_errors_total"][1], labels=[*_ENDPOINT, "error"]
    )
    for e in model.errors:
        c.add_metric([e.method, e.name, e.error], e.count)
    yield c


def _duration_histogram(model: Model) -> Metric:
    from prometheus_client.core import HistogramMetricFamily

    h = HistogramMetricFamily(
        "locust_request_duration_seconds",
        HELP["locust_request_duration_seconds"][1],
        labels=_ENDPOINT,
    )
    for r in model.endpoints:
        buckets = [
            *zip(_LE, (float(b) for b in r.buckets), strict=True),
            ("+Inf", float(r.requests)),
        ]
        h.add_metric([r.method, r.name], buckets, r.sum_seconds)
    return h


def _endpoint_gauges(model: Model) -> Iterator[Metric]:
    """Per endpoint: Locust's whole-run percentiles and maximum, and its current figures."""
    eps = model.endpoints
    qlabels = percentile_labels(model.snapshot.percentiles)
    g = _gauge("locust_response_time_percentile_seconds", [*_ENDPOINT, "percentile"])
    for r in eps:
        for ql, v in zip(qlabels, r.quantiles_ms, strict=True):
            g.add_metric([r.method, r.name, ql], v / 1000.0)
    yield g
    g = _gauge("locust_response_time_max_seconds", _ENDPOINT)
    for r in eps:
        g.add_metric([r.method, r.name], r.max_ms / 1000.0)
    yield g
    for name, attr in (
        ("locust_current_requests_per_second", "current_rps"),
        ("locust_current_failures_per_second", "current_fail_per_sec"),
    ):
        g = _gauge(name, _ENDPOINT)
        for r in eps:
            g.add_metric([r.method, r.name], getattr(r, attr))
        yield g
    live = percentile_labels(LIVE_PERCENTILES)
    g = _gauge("locust_current_response_time_percentile_seconds", [*_ENDPOINT, "percentile"])
    for r in eps:
        if r.current_ms is not None:
            for ql, v in zip(live, r.current_ms, strict=True):
                g.add_metric([r.method, r.name, ql], v / 1000.0)
    yield g


def _run_metrics(model: Model, info: Mapping[str, str], health: Health) -> Iterator[Metric]:
    """The run's and the exporter's own families (``_run_families``)."""
    from prometheus_client.core import CounterMetricFamily

    for name, samples in _run_families(model, info, health):
        kind, text = HELP[name]
        keys = list(samples[0][0]) if samples else []
        fam: Metric
        if kind == "counter":
            fam = CounterMetricFamily(name.removesuffix("_total"), text, labels=keys)
        else:
            fam = _gauge(name, keys)
        for labelset, value in samples:
            fam.add_metric([labelset[k] for k in keys], value)
        yield fam


def _gauge(name: str, labels: list[str]) -> GaugeMetricFamily:
    from prometheus_client.core import GaugeMetricFamily

    return GaugeMetricFamily(name, HELP[name][1], labels=labels)

"""Named checks over the canonical PromQL in ``promgate.queries``; never a copy of a query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from .. import queries
from .outcomes import Policy
from .units import UnitName

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    name: str
    #: the unit the expression's values come in
    unit: UnitName
    description: str
    build: Callable[[], str]
    #: "fail" for the run's own metrics; host metrics need node_exporter, which may be absent
    no_data: Policy = "fail"
    #: the unit a check on this preset shows and reads bare numbers in, when it sets no
    #: ``unit:``; None: the query's own unit. Error rates are shown in percent, like Locust
    #: and every threshold people write, and converted from the query's ratio when judged.
    display: UnitName | None = None

    @property
    def query(self) -> str:
        return self.build()

    @property
    def shown_unit(self) -> UnitName:
        return self.display or self.unit


_LIST = [
    Preset(
        "requests_total", "count", "requests over the run (Locust's # reqs)", queries.requests_total
    ),
    Preset(
        "failures_total",
        "count",
        "failed requests over the run (Locust's # fails)",
        queries.failures_total,
    ),
    Preset(
        "error_rate",
        "ratio",
        "failures / requests over the run (a ratio; shown in percent)",
        queries.error_ratio,
        display="percent",
    ),
    Preset("rps", "rps", "Locust's whole-run requests per second", queries.locust_rps),
    Preset(
        "avg_response_time",
        "seconds",
        "mean response time (Locust's Avg)",
        queries.avg_response_time,
    ),
    Preset("max_response_time", "seconds", "Locust's max response time", queries.max_response_time),
    Preset("max_users", "count", "peak users over the run", queries.max_users),
    Preset(
        "loadgen_cpu",
        "percent",
        "mean CPU of the busiest load-generator process",
        queries.loadgen_cpu_avg,
    ),
    Preset(
        "host_cpu",
        "percent",
        "host CPU from node_exporter, averaged over the run",
        queries.node_cpu_percent,
        no_data="skip",
    ),
    Preset(
        "host_memory",
        "percent",
        "host memory from node_exporter, averaged over the run",
        queries.node_memory_percent,
        no_data="skip",
    ),
]
for _q, _label in ((0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99")):
    _LIST.append(
        Preset(
            _label,
            "seconds",
            f"Locust's own whole-run {_label} (its summary)",
            partial(queries.locust_quantile, _q),
        )
    )
    _LIST.append(
        Preset(
            f"{_label}_hist",
            "seconds",
            f"whole-run {_label} from the histogram (within one bucket)",
            partial(queries.histogram_quantile_run, _q),
        )
    )

# Per endpoint (labels method, name): several series, judged each on its own by default.
_LIST += [
    Preset(
        "endpoint_p95",
        "seconds",
        "Locust's own whole-run p95 of each endpoint",
        partial(queries.endpoint_quantile, 0.95),
    ),
    Preset(
        "endpoint_p99",
        "seconds",
        "Locust's own whole-run p99 of each endpoint",
        partial(queries.endpoint_quantile, 0.99),
    ),
    Preset(
        "endpoint_error_rate",
        "ratio",
        "failures / requests of each endpoint (a ratio; shown in percent)",
        partial(queries.error_ratio, by="method, name"),
        display="percent",
    ),
]

# Apdex for a threshold T (the check's ``t:``; config/windows.py builds the query for it):
# exact from the bucket counts when T and 4T are both bounds. The query shown is for T = 500ms.
_LIST += [
    Preset(
        "apdex",
        "ratio",
        "Apdex (satisfied + tolerating/2) / all, for the check's t:",
        partial(queries.apdex, 500),
    ),
    Preset(
        "endpoint_apdex",
        "ratio",
        "Apdex of each endpoint, for the check's t:",
        partial(queries.apdex, 500, by="method, name"),
    ),
]

# Judged by core/regression/latency_regression.py (run vs baseline distributions), not by a
# threshold on a value: the query shown is the histogram it compares; Locust's percentiles give
# the shifts.
_LIST.append(
    Preset(
        "latency_regression",
        "seconds",
        "median and p95 shift of each endpoint and of all requests vs the baseline, "
        "significant and beyond the history's spread",
        queries.endpoint_buckets,
        # An endpoint with too few requests to judge says so and warns; it never passes.
        no_data="warn",
    )
)

PRESETS: dict[str, Preset] = {p.name: p for p in _LIST}

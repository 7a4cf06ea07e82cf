"""The gate's results as gauges for a Pushgateway (docs/metrics.md, "Gate results"), and the
same gauges as remote-write samples; the delivery itself is ``cli.pushgateway``."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Gauge

from ..core.model.result import GateResult
from ..prometheus.remote_write_client import RemoteSample
from ..queries import RESULTS_JOB

__all__ = ["registry_samples", "results_registry"]


def results_registry(result: GateResult) -> CollectorRegistry:
    """The gauges pushed for ``result``; check names are label values, escaped by the client."""
    registry = CollectorRegistry()
    verdict = Gauge("promgate_verdict", "0 pass, 1 warning, 2 fail", registry=registry)
    check_verdict = Gauge(
        "promgate_check_verdict",
        "0 pass, 1 warning, 2 fail, 3 skipped",
        ["check"],
        registry=registry,
    )
    check_value = Gauge(
        "promgate_check_value",
        "the value judged (reduced to one number)",
        ["check"],
        registry=registry,
    )
    stamp = Gauge("promgate_timestamp_seconds", "when the gate ran", registry=registry)
    verdict.set(result.verdict.code)
    for check in result.checks:
        check_verdict.labels(check.name).set(check.verdict.code)
        check_value.labels(check.name).set(check.value if check.value is not None else math.nan)
    stamp.set(result.generated_at)
    return registry


def registry_samples(
    registry: CollectorRegistry, grouping: dict[str, str], at: float
) -> list[RemoteSample]:
    """``registry``'s gauges as remote-write samples stamped ``at`` (Unix seconds), labelled as
    Prometheus stores them when it scrapes the Pushgateway group (``honor_labels``): job
    ``promgate``, the grouping key, and the group's ``push_time_seconds``."""
    group = {"job": RESULTS_JOB, **grouping}
    stamp = int(at * 1000)
    out: list[RemoteSample] = []
    for family in registry.collect():
        for sample in family.samples:
            labels = {**group, **sample.labels, "__name__": sample.name}
            out.append((tuple(labels.items()), float(sample.value), stamp))
    push_time = {**group, "__name__": "push_time_seconds"}
    out.append((tuple(push_time.items()), at, stamp))
    return out

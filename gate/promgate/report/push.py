"""The gate's results as gauges for a Pushgateway (docs/metrics.md, "Gate results"); the push
itself is ``cli.pushgateway``."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Gauge

from ..core.result import GateResult

__all__ = ["results_registry"]


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

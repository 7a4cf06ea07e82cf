"""Pushing the gate's results to a Pushgateway (docs/metrics.md, "Gate results")."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from ..core.result import GateResult
from ..errors import PrometheusUnavailable, UsageError
from ..prometheus.http_values import check_base_url
from ..textsafe import redact_url

__all__ = ["check_push_url", "push_results", "results_registry"]


def check_push_url(url: str) -> str:
    """The Pushgateway URL of ``--push-results``, checked before the run is judged: a bad one
    found after the verdict would turn a reported pass into an error."""
    try:
        return check_base_url(url if "://" in url else f"http://{url}", "Pushgateway URL")
    except UsageError as exc:
        raise UsageError(exc.message, option="push_results") from None


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


def push_results(result: GateResult, url: str, timeout: float = 10.0) -> None:
    """PUT the result's gauges to the Pushgateway at ``url`` (job ``promgate``, the run's id)."""
    check_push_url(url)
    registry = results_registry(result)
    try:
        push_to_gateway(
            url,
            job="promgate",
            registry=registry,
            grouping_key={"run_id": result.run_id},
            timeout=timeout,
        )
    except (OSError, ValueError) as exc:
        raise PrometheusUnavailable(
            f"pushing results to {redact_url(url)} failed: {exc} (is the Pushgateway up?)",
            option="push_results",
        ) from None

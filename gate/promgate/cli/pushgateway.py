"""Pushing the gate's results to a Pushgateway (``--push-results``; docs/metrics.md, "Gate
results"): the gauges are ``report.push.results_registry``, the HTTP is here."""

from __future__ import annotations

from prometheus_client import push_to_gateway

from ..core.result import GateResult
from ..errors import PrometheusUnavailable, UsageError
from ..prometheus.http_values import check_base_url
from ..report.push import results_registry
from ..textsafe import redact_url

__all__ = ["check_push_url", "push_results"]


def check_push_url(url: str) -> str:
    """The Pushgateway URL of ``--push-results``, checked before the run is judged: a bad one
    found after the verdict would turn a reported pass into an error."""
    try:
        return check_base_url(url if "://" in url else f"http://{url}", "Pushgateway URL")
    except UsageError as exc:
        raise UsageError(exc.message, option="push_results") from None


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

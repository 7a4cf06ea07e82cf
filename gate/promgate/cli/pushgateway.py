"""Delivering the gate's results (docs/metrics.md, "Gate results"): to a Pushgateway
(``--push-results``) or by remote write (``--remote-write-results``). The gauges are
``report.push.results_registry``, the HTTP is here and in ``prometheus.remote_write_client``."""

from __future__ import annotations

import requests
from prometheus_client import push_to_gateway

from ..core.model.result import GateResult
from ..errors import PrometheusUnavailable, UsageError
from ..prometheus.http_values import check_base_url
from ..prometheus.remote_write_client import remote_write
from ..report.push import registry_samples, results_registry
from ..textsafe import redact_url

__all__ = ["check_push_url", "check_remote_write_url", "push_results", "write_results"]


def check_push_url(url: str, option: str = "push_results", what: str = "Pushgateway URL") -> str:
    """The Pushgateway URL of ``--push-results``, checked before the run is judged: a bad one
    found after the verdict would turn a reported pass into an error."""
    try:
        return check_base_url(url if "://" in url else f"http://{url}", what)
    except UsageError as exc:
        raise UsageError(exc.message, option=option) from None


def check_remote_write_url(url: str, option: str = "remote_write_results") -> str:
    """A remote-write URL (``--remote-write-results``, ``runs --remote-write``), checked before
    anything is judged or written; ``host:port/path`` means ``http://``."""
    return check_push_url(url, option, "remote-write URL")


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


def write_results(
    result: GateResult,
    url: str,
    session: requests.Session,
    attempts: int = 4,
    timeout: float = 10.0,
) -> None:
    """Remote-write the result's gauges to ``url`` with ``session`` (the ``prometheus:`` block's
    auth, TLS and headers): the series a Pushgateway scrape would give, stamped at the verdict."""
    url = check_remote_write_url(url)
    samples = registry_samples(
        results_registry(result), {"run_id": result.run_id}, result.generated_at
    )
    remote_write(
        session,
        url,
        samples,
        what=f"the verdict of run {result.run_id!r}",
        option="remote_write_results",
        timeout=timeout,
        attempts=attempts,
    )

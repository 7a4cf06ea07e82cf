"""Links to where people look: the run's Grafana dashboard (``--grafana-url``)."""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from ...errors import UsageError
from ...prometheus.types import RunWindow

__all__ = ["DASHBOARD_UID", "check_grafana_url", "dashboard_url"]

#: uid of the per-run dashboard (grafana/dashboards/locust-run.json); the exporter's
#: ``--prometheus-grafana-url`` links to the same one.
DASHBOARD_UID = "promgate-locust-run"


def check_grafana_url(grafana_url: str) -> str:
    """``grafana_url`` if it is an http(s) URL with a host, else ``UsageError``."""
    parts = urlsplit(grafana_url)
    odd = any(not ch.isprintable() or ch.isspace() or ch in '<>"`\\' for ch in grafana_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or odd:
        raise UsageError(
            f"bad Grafana URL {grafana_url!r} (expected http(s)://host[:port][/path])",
            option="grafana_url",
        )
    return grafana_url


def dashboard_url(grafana_url: str, run: RunWindow) -> str:
    """The run's dashboard over the run's time range (Unix milliseconds, Grafana's unit)."""
    check_grafana_url(grafana_url)
    query = urlencode(
        {"var-run_id": run.run_id, "from": int(run.start * 1000), "to": int(run.end * 1000)},
        quote_via=quote,
    )
    return f"{grafana_url.rstrip('/')}/d/{DASHBOARD_UID}?{query}"

"""Links to where people look: the run's Grafana dashboard."""

from __future__ import annotations

from urllib.parse import quote, urlencode

__all__ = ["DASHBOARD_UID", "dashboard_link"]

#: uid of the per-run dashboard (grafana/dashboards/locust-run.json).
DASHBOARD_UID = "promgate-locust-run"


def dashboard_link(grafana_url: str, run_id: str, start: float, end: float | None = None) -> str:
    """The run's dashboard from ``start`` to ``end`` (Unix seconds); ``to=now`` while it runs."""
    query = urlencode(
        {
            "var-run_id": run_id,
            "from": int(start * 1000),
            "to": "now" if end is None else int(end * 1000),
        },
        quote_via=quote,
    )
    return f"{grafana_url.rstrip('/')}/d/{DASHBOARD_UID}?{query}"

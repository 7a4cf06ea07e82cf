"""The collapsed "System under test" row: the service's own view of the same requests.

Reads ``http_requests_total`` and ``http_request_duration_seconds`` (labels method, route, status),
as ``examples/demo_api.py`` exposes them; ``$sut_job`` picks the scrape job.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from promgate import queries as q

from dashgen.common import ERROR_RATIO, P95_SECONDS, query_variable, target, timeseries_panel

ROUTE_LEGEND = "{{method}} {{route}}"


def variables() -> list[db.QueryVariable]:
    return [query_variable("sut_job", "service job", q.sut_job_label_values())]


def row() -> db.Row:
    win = "$__rate_interval"
    panels = [
        timeseries_panel(
            "Server requests per second by route",
            [target(q.http_requests_per_second(q.SUT, win), ROUTE_LEGEND)],
            "reqps",
        ),
        timeseries_panel(
            "Server error rate (5xx) by route",
            [target(q.http_error_ratio(q.SUT, win), ROUTE_LEGEND)],
            "percentunit",
            ERROR_RATIO,
        ),
        timeseries_panel(
            "Server latency p95 by route",
            [target(q.http_quantile(0.95, q.SUT, win, "method, route"), ROUTE_LEGEND)],
            "s",
            P95_SECONDS,
        ),
        timeseries_panel(
            "p95: client (Locust) vs server",
            [
                target(q.histogram_quantile_window(0.95, q.RUN, win), "client (Locust)", "A"),
                target(q.http_quantile(0.95, q.SUT, win), "server", "B"),
            ],
            "s",
            P95_SECONDS,
            desc="The gap is network, queueing and the load generator itself.",
        ),
    ]
    row = db.Row("System under test").collapsed(True)
    for panel in panels:
        row = row.with_panel(panel)
    return row

"""The "Locust run" dashboard: one run, live and whole-run, per endpoint, and its load generator."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, heatmap, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table as tb
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import heatmap as hm
from promgate import queries as q

from dashgen import sut
from dashgen.common import (
    DATASOURCE,
    ERROR_RATIO,
    LOADGEN_CPU_PERCENT,
    P95_SECONDS,
    P99_SECONDS,
    QUANTILES,
    RUN_DASHBOARD_UID,
    RUNS_DASHBOARD_UID,
    dashboard,
    datasource_variable,
    merged_table,
    override,
    query_variable,
    run_variable,
    stat_panel,
    target,
    timeseries_panel,
)
from dashgen.common import (
    annotation as prom_annotation,
)

RUN = q.RUN
#: Per-endpoint panels follow the endpoint picker; run-wide figures ignore it.
EP = f'{q.RUN}, name=~"$endpoint"'
ENDPOINT_LEGEND = "{{method}} {{name}}"


def variables() -> list[db.DatasourceVariable | db.QueryVariable | db.CustomVariable]:
    quantile = (
        db.CustomVariable("quantile")
        .label("quantile")
        .values(",".join(QUANTILES))
        .options([dm.VariableOption(selected=v == "0.95", text=v, value=v) for v in QUANTILES])
        .current(dm.VariableOption(selected=True, text="0.95", value="0.95"))
    )
    return [
        datasource_variable(),
        query_variable("job", "job", q.job_label_values()),
        run_variable("run_id", "run", q.run_ids('job="$job"', "$__range")),
        query_variable("endpoint", "endpoint", q.endpoint_label_values(RUN), multi=True),
        quantile,
        *sut.variables(),
    ]


def summary_row() -> list[object]:
    rng = "$__range"
    return [
        db.Row("Whole run (the time range should cover the run)"),
        stat_panel("Requests", q.requests_total(RUN, rng), "short", desc="Locust's # reqs"),
        stat_panel("Failures", q.failures_total(RUN, rng), "short", desc="Locust's # fails"),
        stat_panel("Error rate", q.error_ratio(RUN, rng), "percentunit", ERROR_RATIO),
        stat_panel(
            "p95 (Locust)",
            q.locust_quantile(0.95, RUN, rng),
            "s",
            P95_SECONDS,
            desc="Locust's own whole-run 95th percentile, as its summary prints it.",
        ),
        stat_panel("p99 (Locust)", q.locust_quantile(0.99, RUN, rng), "s", P99_SECONDS),
        stat_panel(
            "Average RPS",
            q.locust_rps(RUN, rng),
            "reqps",
            desc="Requests over (last request - start), as Locust computes it.",
        ),
        stat_panel(
            "Peak RPS",
            q.peak_rps(RUN, rng, "$__interval"),
            "reqps",
            desc="Locust's highest current RPS (its live figure) during the range.",
        ),
        stat_panel("Peak users", q.max_users(RUN, rng, "$__interval"), "short"),
    ]


def all_and_per_endpoint(
    title: str,
    overall: str,
    per_endpoint: str,
    unit: str,
    levels: tuple[float, float],
    desc: str = "",
) -> timeseries.Panel:
    """A live figure: all requests (A), and each endpoint (B)."""
    return timeseries_panel(
        title,
        [target(overall, "all", "A"), target(per_endpoint, ENDPOINT_LEGEND, "B")],
        unit,
        levels,
        desc=desc,
    )


#: What every live panel shows, in its description.
LIVE = (
    "Locust's own live figure (its web UI's current value: about the last 10 s), as last "
    "pushed; see docs/metrics.md for its bound."
)


def live_row() -> list[object]:
    win = "$__rate_interval"
    return [
        db.Row("Live"),
        timeseries_panel(
            "Users",
            [
                target(q.users_by_class(RUN), "{{user_class}}", "A"),
                target(q.users(RUN), "total", "B"),
            ],
            "short",
        ),
        timeseries_panel(
            "Requests and failures per second",
            [
                target(q.live_requests_per_second(RUN), "requests/s", "A"),
                target(q.live_failures_per_second(RUN), "failures/s", "B"),
            ],
            "reqps",
            desc=LIVE,
        ),
        timeseries_panel(
            "Requests per second by endpoint",
            [target(q.live_requests_per_second(EP, "method, name"), ENDPOINT_LEGEND)],
            "reqps",
            desc=LIVE,
        ),
        all_and_per_endpoint(
            "Error rate (sliding window)",
            q.live_error_ratio(RUN),
            q.live_error_ratio(EP, "method, name"),
            "percentunit",
            ERROR_RATIO,
            LIVE,
        ),
        all_and_per_endpoint(
            "Latency p95 (sliding window)",
            q.live_percentile(0.95, RUN),
            q.live_endpoint_percentile(0.95, EP),
            "s",
            P95_SECONDS,
            LIVE,
        ),
        all_and_per_endpoint(
            "Latency p99 (sliding window)",
            q.live_percentile(0.99, RUN),
            q.live_endpoint_percentile(0.99, EP),
            "s",
            P99_SECONDS,
            LIVE,
        ),
        timeseries_panel(
            "Latency quantiles, all requests",
            [
                target(q.live_percentile(0.5, RUN), "p50", "A"),
                target(q.live_percentile(0.95, RUN), "p95", "B"),
                target(q.live_percentile(0.99, RUN), "p99", "C"),
                target(q.locust_quantile("$quantile", RUN, win), "Locust's $quantile so far", "E"),
            ],
            "s",
            desc="A-C: Locust's current-window percentiles (about the last 10 s); E: Locust's "
            "percentile over the whole run so far.",
        ),
        heatmap.Panel()
        .title("Latency heatmap")
        .description("Requests per response-time bucket and interval (buckets on Locust's grid).")
        .datasource(DATASOURCE)
        .with_target(target(q.duration_heatmap(EP, win), "{{le}}", fmt="heatmap"))
        .height(8)
        .span(12)
        .calculate(False)
        .unit("s")
        .color(
            heatmap.HeatmapColorOptions()
            .mode(hm.HeatmapColorMode.SCHEME)
            .scheme("Oranges")
            .fill("dark-orange")
        )
        .cell_values(heatmap.CellValues().unit("short")),
        timeseries_panel(
            "Load-generator CPU",
            [target(q.loadgen_cpu(RUN), "{{worker}}")],
            "percent",
            LOADGEN_CPU_PERCENT,
            desc="Above 90 % Locust measures its own queueing: add workers.",
            span=8,
        ),
        timeseries_panel(
            "Load-generator memory",
            [target(q.loadgen_memory(RUN), "{{worker}}")],
            "bytes",
            span=8,
        ),
        timeseries_panel("Workers", [target(q.workers(RUN), "{{state}}")], "short", span=8),
    ]


def endpoints_row() -> list[object]:
    rng = "$__range"
    names = {
        "requests": "Requests",
        "failures": "Failures",
        "error_ratio": "Fail %",
        "avg": "Avg",
        "p50": "p50",
        "p95": "p95",
        "p99": "p99",
        "rps": "RPS",
    }
    endpoints = merged_table("Endpoints (Locust's summary)", q.endpoint_table(EP, rng), names)
    endpoints = endpoints.overrides(
        [
            override("Fail %", unit="percentunit"),
            *(override(col, unit="s") for col in ("Avg", "p50", "p95", "p99")),
            override("RPS", unit="reqps", decimals=2),
        ]
    )
    errors = (
        tb.Panel()
        .title("Failures by error")
        .datasource(DATASOURCE)
        .with_target(target(q.errors_by_error(EP, rng), instant=True, fmt="table"))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": {"Time": True}, "renameByName": {"Value": "Failures"}},
            )
        )
        .height(9)
        .span(12)
    )
    by_quantile = (
        bargauge.Panel()
        .title("Locust's $quantile by endpoint (whole run)")
        .datasource(DATASOURCE)
        .with_target(
            target(q.endpoint_quantile("$quantile", EP, rng), ENDPOINT_LEGEND, instant=True)
        )
        .unit("s")
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .height(9)
        .span(12)
    )
    return [db.Row("Endpoints (whole run)"), endpoints, errors, by_quantile]


def run_annotations() -> list[db.AnnotationQuery]:
    return [
        prom_annotation("Run start", q.run_start_ms(RUN), "green"),
        prom_annotation("Run end", q.run_end_ms(RUN), "red"),
        # The gate's `window: steady`, shaded: from spawning_complete to the end.
        prom_annotation("Steady (all users running)", q.steady_region(RUN), "blue", region=True),
    ]


def build() -> db.Dashboard:
    dash = (
        dashboard(
            "Locust run",
            RUN_DASHBOARD_UID,
            "One Locust run exported by promgate: live, whole run, per endpoint.",
            "now-30m",
            db.DashboardLink("All runs")
            .url(f"/d/{RUNS_DASHBOARD_UID}")
            .keep_time(True)
            .include_vars(True),
        )
        .refresh("5s")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .variables(variables())  # type: ignore[arg-type]
        .annotations(run_annotations())  # type: ignore[arg-type]
    )
    for item in [*summary_row(), *live_row(), *endpoints_row()]:
        dash = dash.with_row(item) if isinstance(item, db.Row) else dash.with_panel(item)  # type: ignore[arg-type]
    return dash.with_row(sut.row())

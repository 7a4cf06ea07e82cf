"""The "Locust runs" dashboard: one row per run, and run A against run B per endpoint."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, table
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm
from promgate import queries as q

from dashgen.common import (
    DATASOURCE,
    ERROR_RATIO,
    P95_SECONDS,
    RUN_DASHBOARD_UID,
    RUNS_DASHBOARD_UID,
    dashboard,
    datasource_variable,
    merged_table,
    override,
    query_variable,
    run_variable,
    target,
    warn_crit,
)

JOB = 'job="$job"'
RNG = "$__range"

#: The gate's verdict (promgate_verdict) as text and colour.
VERDICTS = [
    {"type": "value", "options": {
        "0": {"text": "pass", "color": "green", "index": 0},
        "1": {"text": "warning", "color": "orange", "index": 1},
        "2": {"text": "fail", "color": "red", "index": 2},
    }},
]  # fmt: skip

# Opens the run dashboard on this run with the run's own time range (link_from/link_to are the
# run's start and last request in ms, with a margin; hidden columns of the same row). Run ids and
# job names may hold spaces, "/", "&": every text value is percent-encoded.
RUN_LINK = (
    f"/d/{RUN_DASHBOARD_UID}/locust-run?var-datasource=${{datasource:percentencode}}"
    "&var-job=${job:percentencode}&var-run_id=${__value.raw:percentencode}"
    "&from=${__data.fields.link_from}&to=${__data.fields.link_to}"
)
RUN_A = f'{JOB}, run_id="$run_a"'
RUN_B = f'{JOB}, run_id="$run_b"'


def variables() -> list[db.DatasourceVariable | db.QueryVariable]:
    # Run A defaults to the newest run, run B to the run just before it: a first look compares
    # the latest run with its predecessor, never a run with itself.
    return [
        datasource_variable(),
        query_variable("job", "job", q.job_label_values()),
        run_variable("run_a", "run A", q.run_ids(JOB, RNG)),
        run_variable("run_b", "run B (earlier)", q.run_ids_before(RUN_A, JOB, RNG)),
    ]


def runs_table() -> table.Panel:
    names = {
        "start": "Start",
        "duration": "Duration",
        "requests": "Requests",
        "error_ratio": "Error %",
        "p95": "p95 (Locust)",
        "peak_users": "Peak users",
        "rps": "Avg RPS",
        "verdict": "Gate",
        "link_from": "link_from",
        "link_to": "link_to",
    }
    link = db.DashboardLink("Open this run").url(RUN_LINK)
    return (
        merged_table("Runs (in the time range)", q.runs_table(JOB, RNG), names)
        .overrides(
            [
                override("run_id", links=[link.build()]),
                override("Start", unit="dateTimeAsIso"),
                override("Duration", unit="s"),
                override(
                    "Error %",
                    unit="percentunit",
                    thresholds=warn_crit(ERROR_RATIO).build(),
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
                override(
                    "p95 (Locust)",
                    unit="s",
                    thresholds=warn_crit(P95_SECONDS).build(),
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
                override("Avg RPS", unit="reqps", decimals=2),
                override(
                    "Gate",
                    mappings=VERDICTS,
                    **{"custom.cellOptions": {"type": "color-background"}},
                ),
                override("link_from", **{"custom.hidden": True}),
                override("link_to", **{"custom.hidden": True}),
            ]
        )
        .sort_by([cb.TableSortByFieldState().display_name("Start").desc(True)])
    )


def p95_by_run() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("p95 (Locust) by run")
        .datasource(DATASOURCE)
        .with_target(target(q.runs_table(JOB, RNG)["p95"], "{{run_id}}", instant=True))
        .unit("s")
        .thresholds(warn_crit(P95_SECONDS))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .height(8)
        .span(24)
    )


def comparison() -> table.Panel:
    # Run B is the earlier run: the change is from B to A (what the newer run changed).
    columns = q.compare_endpoints(RUN_B, RUN_A, RNG)
    names: dict[str, str] = {}
    overrides: list[Any] = []
    for key in columns:
        metric, _, which = key.rpartition("_")
        label = {"a": "B", "b": "A", "change": "Δ %"}[which]
        names[key] = f"{metric} {label}"
        if which == "change":
            overrides.append(override(names[key], unit="percent", decimals=1))
        elif metric in {"avg", "p95", "p99"}:
            overrides.append(override(names[key], unit="s"))
        elif metric == "error_ratio":
            overrides.append(override(names[key], unit="percentunit"))
    title = "Run A vs the earlier run B per endpoint (both runs inside the time range)"
    desc = "Per endpoint: run B (earlier), run A, and Δ %, the change from B to A."
    return merged_table(title, columns, names).description(desc).overrides(overrides)


def build() -> db.Dashboard:
    return (
        dashboard(
            "Locust runs",
            RUNS_DASHBOARD_UID,
            "Every Locust run in the time range, the gate's verdict, and A/B comparison.",
            "now-7d",
            db.DashboardLink("Locust run").url(f"/d/{RUN_DASHBOARD_UID}").include_vars(True),
        )
        .refresh("")
        .variables(variables())  # type: ignore[arg-type]
        .with_row(db.Row("Runs"))
        .with_panel(runs_table())
        .with_panel(p95_by_run())
        .with_row(db.Row("Run A vs run B"))
        .with_panel(comparison())
    )

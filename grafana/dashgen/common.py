"""Shared pieces of the dashboards: datasource, targets, panel presets, variables, thresholds.

Every PromQL expression passed in here comes from ``promgate.queries``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat
from promgate import levels

#: The dashboard variable every panel, target, query variable and annotation reads its
#: datasource from, so the dashboards work with any Prometheus datasource of any Grafana.
DATASOURCE_VAR = "datasource"
DATASOURCE_REF = {"type": "prometheus", "uid": f"${{{DATASOURCE_VAR}}}"}
DATASOURCE = dm.DataSourceRef(type_val=DATASOURCE_REF["type"], uid=DATASOURCE_REF["uid"])
#: The provisioned datasource (grafana/provisioning/datasources/promgate.yml): the variable's
#: default in the provisioned dashboards.
PROVISIONED_UID = "promgate-prometheus"
PROVISIONED_NAME = "Prometheus"

RUN_DASHBOARD_UID = "promgate-locust-run"
RUNS_DASHBOARD_UID = "promgate-runs"

# (warning, critical): one table in promgate.levels, shared with the alert rules.
P95_SECONDS, P99_SECONDS = levels.P95_SECONDS, levels.P99_SECONDS
ERROR_RATIO, LOADGEN_CPU_PERCENT = levels.ERROR_RATIO, levels.LOADGEN_CPU_PERCENT

#: Locust's PERCENTILES_TO_REPORT as the exporter labels them (str(float)).
QUANTILES = ["0.5", "0.66", "0.75", "0.8", "0.9", "0.95", "0.98", "0.99", "0.999", "0.9999", "1.0"]


def target(
    expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, fmt: str = ""
) -> prometheus.Dataquery:
    query = (
        prometheus.Dataquery()
        .expr(expr)
        .ref_id(ref)
        .datasource(DATASOURCE)
        .legend_format(legend or "__auto")
    )
    query = query.instant() if instant else query.range()
    if fmt:
        query = query.format(PromQueryFormat(fmt))
    return query


def table_targets(columns: dict[str, str]) -> list[prometheus.Dataquery]:
    """One instant table query per column; refId is the column's key, so the merge transformation
    names each value column "Value #<key>"."""
    return [target(expr, ref=key, instant=True, fmt="table") for key, expr in columns.items()]


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


def warn_crit(levels: tuple[float, float]) -> db.ThresholdsConfig:
    warning, critical = levels
    return thresholds((None, "green"), (warning, "orange"), (critical, "red"))


def stat_panel(
    title: str, expr: str, unit: str, levels: tuple[float, float] | None = None, desc: str = ""
) -> stat.Panel:
    """A whole-run figure: an instant query over the dashboard's time range."""
    panel = (
        stat.Panel()
        .title(title)
        .description(desc)
        .datasource(DATASOURCE)
        .with_target(target(expr, instant=True))
        .unit(unit)
        .height(4)
        .span(3)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value("no data")
    )
    if levels:
        panel = panel.thresholds(warn_crit(levels)).color_mode(cm.BigValueColorMode.BACKGROUND)
    else:
        panel = panel.thresholds(thresholds((None, "blue"))).color_mode(cm.BigValueColorMode.VALUE)
    return panel


def timeseries_panel(
    title: str,
    targets: list[prometheus.Dataquery],
    unit: str,
    levels: tuple[float, float] | None = None,
    desc: str = "",
    span: int = 12,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(desc)
        .datasource(DATASOURCE)
        .targets(targets)  # type: ignore[arg-type]
        .unit(unit)
        .height(8)
        .span(span)
        .line_width(1)
        .fill_opacity(10)
        .show_points(cm.VisibilityMode.NEVER)
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max", "lastNotNull"])
        )
        .tooltip(
            cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)
        )
    )
    if levels:
        # Dashed lines at the warning and critical values, as the gate judges them.
        panel = panel.thresholds(warn_crit(levels)).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED)
        )
    return panel


def merged_table(title: str, columns: dict[str, str], names: dict[str, str]) -> table.Panel:
    """Several instant queries joined into one row per label set (Grafana's merge)."""
    rename = {f"Value #{key}": label for key, label in names.items()}
    return (
        table.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .targets(table_targets(columns))  # type: ignore[arg-type]
        .height(9)
        .span(24)
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": {"Time": True}, "renameByName": rename},
            )
        )
    )


def datasource_variable() -> db.DatasourceVariable:
    """The Prometheus datasource picker; it defaults to the provisioned datasource (the importable
    variant binds it to the datasource chosen at import, see generate.py)."""
    return (
        db.DatasourceVariable(DATASOURCE_VAR)
        .label("Prometheus")
        .type("prometheus")
        .current(dm.VariableOption(selected=True, text=PROVISIONED_NAME, value=PROVISIONED_UID))
    )


def query_variable(name: str, label: str, query: str, *, multi: bool = False) -> db.QueryVariable:
    var = (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        var = var.multi(True).include_all(True).all_value(".*")
    return var


def run_variable(name: str, label: str, expr: str) -> db.QueryVariable:
    """A run id picker, newest first: ``expr`` returns one series per run valued by its start
    (already sorted descending), and the variable keeps the query's order."""
    return (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"query_result({expr})")
        .regex('/run_id="([^"]+)"/')
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.DISABLED)
    )


def override(name: str, **props: object) -> db.DashboardFieldConfigSourceOverrides:
    return (
        db.DashboardFieldConfigSourceOverrides()
        .matcher(dm.MatcherConfig(id_val="byName", options=name))
        .properties(
            [dm.DynamicConfigValue(id_val=key, value=value) for key, value in props.items()]
        )
    )


class _PromAnnotation(dm.AnnotationQuery):
    """The SDK's annotation model lacks the Prometheus annotation options; add them."""

    def __init__(self, *, region: bool = False) -> None:
        super().__init__()
        self.region = region

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        # The expression's value is the event time in ms (one event however many steps see it);
        # a region instead spans the consecutive steps at which the expression has a value.
        payload.update(
            {"useValueForTime": not self.region, "step": "$__interval", "titleFormat": self.name}
        )
        return payload


def annotation(name: str, expr: str, color: str, *, region: bool = False) -> db.AnnotationQuery:
    builder = db.AnnotationQuery()
    builder._internal = _PromAnnotation(region=region)
    return builder.name(name).datasource(DATASOURCE).expr(expr).enable(True).icon_color(color)


def dashboard(
    title: str, uid: str, description: str, since: str, link: db.DashboardLink
) -> db.Dashboard:
    """A promgate dashboard: its tags, time range up to now, browser time, and ``link`` (to the
    other dashboard) as an icon."""
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["promgate", "locust", "load-testing"])
        .time(since, "now")
        .timezone("browser")
        .link(link.type(dm.DashboardLinkType.LINK).icon("dashboard"))
    )

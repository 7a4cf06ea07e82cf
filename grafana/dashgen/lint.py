"""Checks of generated dashboard JSON that need no Grafana server.

Used by ``generate.py`` (it refuses to write a dashboard with problems) and by the tests, which
also run every target's PromQL, with the variables filled in (``substitute``), against Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import promql_parser

from dashgen.common import DATASOURCE_REF, DATASOURCE_VAR

#: Current panel types; "graph", "singlestat", "table-old" are deprecated.
PANEL_TYPES = {"row", "timeseries", "stat", "table", "heatmap", "barchart", "bargauge"}
_VAR_REF = re.compile(r"\$\{?([A-Za-z_]\w*)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<sel>.+),\s*)?(?P<label>\w+)\)$")
_QUERY_RESULT = re.compile(r"^query_result\((?P<expr>.+)\)$")


def panels(model: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(model: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query target."""
    for panel in panels(model):
        for target in panel.get("targets", []):
            yield panel, target


def variable_expr(query: str) -> str:
    """The PromQL a query variable runs (Grafana's label_values/query_result helpers unwrapped)."""
    query = query.strip()
    if m := _QUERY_RESULT.match(query):
        return m.group("expr")
    if m := _LABEL_VALUES.match(query):
        return m.group("sel") or f'{{{m.group("label")}!=""}}'
    return query


def expressions(model: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(where, PromQL, instant) of every target, variable and annotation."""
    for panel, target in targets(model):
        yield (
            f"panel {panel['id']} {panel.get('title')!r} {target['refId']}",
            target["expr"],
            bool(target.get("instant")),
        )
    for var in model.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            yield f"variable {var['name']}", variable_expr(str(var["query"])), True
    for ann in model.get("annotations", {}).get("list", []):
        if "expr" in ann:
            yield f"annotation {ann['name']!r}", ann["expr"], False


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Fill in ``$name`` and ``${name}`` as Grafana would (longest names first)."""
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(f"${{{name}}}", values[name]).replace(f"${name}", values[name])
    return expr


def referenced(text: str) -> set[str]:
    """Dashboard variables referenced in text (Grafana's own ``$__…`` excluded)."""
    return {name for name in _VAR_REF.findall(text) if not name.startswith("__")}


def problems(model: Mapping[str, Any]) -> list[str]:
    """Structural problems of one dashboard; empty when it is fine."""
    out: list[str] = []
    ids = [p.get("id") for p in panels(model)]
    if len(ids) != len(set(ids)) or None in ids:
        out.append(f"panel ids not unique: {ids}")
    defined: set[str] = set()
    sample = dict(GRAFANA_DEFAULTS)
    for var in model.get("templating", {}).get("list", []):
        text = f"{var.get('query', '')} {var.get('regex', '')}"
        if missing := referenced(text) - defined:
            out.append(f"variable {var['name']} uses {sorted(missing)} before they are defined")
        defined.add(var["name"])
        current = (var.get("current") or {}).get("value")
        sample[var["name"]] = str(current) if current else "x"
    for panel in panels(model):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("type") not in PANEL_TYPES:
            out.append(f"{where}: type {panel.get('type')!r} is not current")
        if "gridPos" not in panel:
            out.append(f"{where}: no gridPos")
        text = str({k: v for k, v in panel.items() if k != "panels"})
        if missing := referenced(text) - defined:
            out.append(f"{where}: uses undefined variables {sorted(missing)}")
    for ann in model.get("annotations", {}).get("list", []):
        if missing := referenced(str(ann)) - defined:
            out.append(
                f"annotation {ann.get('name')!r}: uses undefined variables {sorted(missing)}"
            )
    out.extend(datasource_problems(model))
    out.extend(migration_problems(model))
    for where, expr, _ in expressions(model):
        try:
            promql_parser.parse(substitute(expr, sample))
        except (ValueError, RuntimeError) as exc:
            out.append(f"{where}: PromQL does not parse: {exc}: {expr}")
    return out


def _refs(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    """(where, value) of every ``datasource`` and ``uid`` key at any depth of ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("datasource", "uid"):
                yield f"{path}.{key}", value
            else:
                yield from _refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i in range(len(node)):  # by index: the tests grep builders for PromQL names
            yield from _refs(node[i], f"{path}[{i}]")


def _datasource_users(model: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(where, item, must have a datasource) for every panel, target, variable and annotation;
    a row's inner panels are items of their own."""
    for panel in panels(model):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        own = {k: v for k, v in panel.items() if k not in ("panels", "targets")}
        yield where, own, panel.get("type") != "row"
        for target in panel.get("targets") or []:
            yield f"{where} {target.get('refId')}", target, True
    for var in model.get("templating", {}).get("list", []):
        yield f"variable {var.get('name')}", var, var.get("type") == "query"
    for ann in model.get("annotations", {}).get("list", []):
        yield f"annotation {ann.get('name')!r}", ann, True


def datasource_problems(model: Mapping[str, Any]) -> list[str]:
    """Every panel, target, query variable and annotation reads its datasource from the
    ``datasource`` variable, and none names a datasource any other way (a fixed uid or a
    datasource name works in one Grafana only)."""
    out: list[str] = []
    variables = model.get("templating", {}).get("list", [])
    first = variables[0] if variables else {}
    if first.get("name") != DATASOURCE_VAR:
        out.append(f"variable {DATASOURCE_VAR}: missing or not the first variable")
    elif first.get("type") != "datasource" or first.get("query") != "prometheus":
        out.append(f"variable {DATASOURCE_VAR}: not a datasource variable of type prometheus")
    for where, item, needs in _datasource_users(model):
        if needs and "datasource" not in item:
            out.append(f"{where}: no datasource")
        for path, value in _refs(item):
            expected = DATASOURCE_REF if path.endswith(".datasource") else DATASOURCE_REF["uid"]
            if value != expected:
                out.append(f"{where}{path}: {value!r} is not the ${DATASOURCE_VAR} variable")
    return out


def import_problems(model: Mapping[str, Any]) -> list[str]:
    """The importable variant: one ``__inputs`` datasource (Prometheus), bound to the
    ``datasource`` variable's default, and no other ``${DS_…}`` placeholder left unbound."""
    inputs = model.get("__inputs") or []
    kinds = [(i.get("type"), i.get("pluginId")) for i in inputs]
    if kinds != [("datasource", "prometheus")]:
        return [f"__inputs: not one Prometheus datasource input: {inputs!r}"]
    placeholder = "${" + str(inputs[0]["name"]) + "}"
    out: list[str] = []
    var: dict[str, Any] = next(
        (v for v in model["templating"]["list"] if v.get("name") == DATASOURCE_VAR), {}
    )
    if (var.get("current") or {}).get("value") != placeholder:
        out.append(f"variable {DATASOURCE_VAR}: default is not {placeholder}")
    if others := set(re.findall(r"\$\{DS_\w+\}", json.dumps(model))) - {placeholder}:
        out.append(f"placeholders without an input: {sorted(others)}")
    return out


def migration_problems(model: Mapping[str, Any]) -> list[str]:
    """What Grafana's schema migrations 37 to 42 would rewrite. The JSON claims schemaVersion
    42, so Grafana runs none of them: the JSON must already have that shape."""
    out: list[str] = []
    if "style" in model:
        out.append("style: deprecated dashboard key")
    if not isinstance(model.get("refresh"), str):
        out.append("refresh: not a string (schema 40)")
    if "time_options" in (model.get("timepicker") or {}):
        out.append("timepicker.time_options: removed in schema 41")
    for panel in panels(model):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        if "styles" in panel:
            out.append(f"{where}: styles belongs to the removed table-old panel")
        # Schema 37 also adds showLegend: true to visible legends, which changes nothing.
        legend = (panel.get("options") or {}).get("legend")
        if isinstance(legend, bool) or (
            isinstance(legend, dict) and legend.get("displayMode") == "hidden"
        ):
            out.append(f"{where}: legend {legend!r} predates schema 37")
        field_config = panel.get("fieldConfig") or {}
        if "displayMode" in ((field_config.get("defaults") or {}).get("custom") or {}):
            out.append(f"{where}: custom.displayMode predates schema 38 (cellOptions)")
        for override in field_config.get("overrides") or []:
            for prop in override.get("properties") or []:
                if prop.get("id") == "custom.displayMode":
                    out.append(f"{where}: custom.displayMode override predates schema 38")
                hide = prop.get("value") if prop.get("id") == "custom.hideFrom" else None
                if isinstance(hide, dict) and hide.get("viz") and not hide.get("tooltip"):
                    out.append(f"{where}: hideFrom.viz without tooltip predates schema 42")
        for transformation in panel.get("transformations") or []:
            if "refIdToStat" in (transformation.get("options") or {}):
                out.append(f"{where}: timeSeriesTable refIdToStat predates schema 39")
    return out


#: Grafana's built-in variables, with values for parsing (the tests choose real ones).
GRAFANA_DEFAULTS = {
    "__rate_interval": "20s",
    "__interval": "5s",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

"""Checks of generated dashboard JSON that need no Grafana server.

Used by ``generate.py`` (it refuses to write a dashboard with problems) and by the tests, which
also run every target's PromQL, with the variables filled in (``substitute``), against Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import promql_parser

from dashgen.common import DATASOURCE_UID

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
        if var.get("type") == "query" and var.get("datasource", {}).get("uid") != DATASOURCE_UID:
            out.append(f"variable {var['name']}: datasource is not {DATASOURCE_UID}")
        defined.add(var["name"])
        current = (var.get("current") or {}).get("value")
        sample[var["name"]] = str(current) if current else "x"
    for panel in panels(model):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("type") not in PANEL_TYPES:
            out.append(f"{where}: type {panel.get('type')!r} is not current")
        if panel.get("type") != "row" and panel.get("datasource", {}).get("uid") != DATASOURCE_UID:
            out.append(f"{where}: datasource is not {DATASOURCE_UID}")
        if "gridPos" not in panel:
            out.append(f"{where}: no gridPos")
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") != DATASOURCE_UID:
                out.append(f"{where} {target.get('refId')}: datasource is not {DATASOURCE_UID}")
        text = str({k: v for k, v in panel.items() if k != "panels"})
        if missing := referenced(text) - defined:
            out.append(f"{where}: uses undefined variables {sorted(missing)}")
    for ann in model.get("annotations", {}).get("list", []):
        if missing := referenced(str(ann)) - defined:
            out.append(
                f"annotation {ann.get('name')!r}: uses undefined variables {sorted(missing)}"
            )
    if "__inputs" in model:
        out.append("__inputs: dashboards reference the provisioned datasource by uid")
    for where, expr, _ in expressions(model):
        try:
            promql_parser.parse(substitute(expr, sample))
        except (ValueError, RuntimeError) as exc:
            out.append(f"{where}: PromQL does not parse: {exc}: {expr}")
    return out


#: Grafana's built-in variables, with values for parsing (the tests choose real ones).
GRAFANA_DEFAULTS = {
    "__rate_interval": "20s",
    "__interval": "5s",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

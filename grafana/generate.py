"""Generate promgate's Grafana dashboards (grafana/dashboards/*.json) from code.

The panels are built with grafana-foundation-sdk in ``dashgen/``; every PromQL expression comes
from ``promgate.queries``. Two variants of each dashboard: ``dashboards/`` for Grafana's file
provisioning (the ``datasource`` variable defaults to the provisioned datasource) and ``import/``
for importing into any Grafana (``__inputs``: Grafana asks which Prometheus datasource to use).
The JSON is committed; a test fails when it differs from this output.

    python grafana/generate.py           # rewrite both variants (make dashboards)
    python grafana/generate.py --check   # exit 1 when the committed JSON is stale
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # dashgen/, also when imported by the tests
sys.path.insert(0, str(HERE.parent / "tools"))  # genfiles: dev-only, not in the wheel

from dashgen import lint, locust_run, runs  # noqa: E402
from dashgen.common import DATASOURCE_VAR, PROVISIONED_NAME  # noqa: E402
from genfiles import generator_main  # noqa: E402
from grafana_foundation_sdk.builders.dashboard import Dashboard  # noqa: E402
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402

DASHBOARDS_DIR = HERE / "dashboards"
IMPORT_DIR = HERE / "import"
#: The newest dashboard schema of Grafana's classic JSON model (its migrations stop at 42); the
#: SDK writes 36. lint.migration_problems checks nothing here needs migrations 37 to 42.
SCHEMA_VERSION = 42
#: The ``__inputs`` entry a grafana.com-style import asks for; the datasource variable defaults
#: to the datasource chosen there.
IMPORT_INPUT = {
    "name": "DS_PROMETHEUS",
    "label": "Prometheus",
    "description": "The Prometheus that scrapes the Pushgateway promgate's exporter pushes to",
    "type": "datasource",
    "pluginId": "prometheus",
    "pluginName": "Prometheus",
}
#: Keys the SDK writes on every variable but only interval variables have.
_INTERVAL_ONLY = ("auto", "auto_count", "auto_min")
BUILDERS: dict[str, Callable[[], Dashboard]] = {
    "locust-run.json": locust_run.build,
    "locust-runs.json": runs.build,
}


def _number_panels(model: dict[str, Any]) -> None:
    """Give every panel, including those inside collapsed rows, a stable unique id."""
    next_id = 1
    for panel in model.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        for inner in panel.get("panels", []):
            inner["id"] = next_id
            next_id += 1


def dashboard_json(build: Callable[[], Dashboard]) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    _number_panels(model)
    for var in model.get("templating", {}).get("list", []):
        # The SDK gives every variable the same placeholder id; Grafana keys them by name.
        var.pop("id", None)
        if var.get("type") != "interval":
            for key in _INTERVAL_ONLY:
                var.pop(key, None)
    # Provisioned from files: Grafana keeps its own version counter; `id` is per instance.
    model.pop("id", None)
    model.pop("style", None)  # removed from the schema (dark/light is a user preference)
    model["schemaVersion"] = SCHEMA_VERSION
    model.setdefault("refresh", "")
    model.setdefault("annotations", {}).setdefault("list", [])
    if found := lint.problems(model):
        raise ValueError(f"dashboard {model.get('uid')}: " + "; ".join(found))
    return model


def importable(model: dict[str, Any]) -> dict[str, Any]:
    """The grafana.com-style variant: Grafana's import asks for the ``__inputs`` datasource and
    replaces ``${DS_PROMETHEUS}`` with its uid, here only the datasource variable's default (every
    panel, target, variable and annotation already reads ``${datasource}``)."""
    out: dict[str, Any] = json.loads(json.dumps(model))
    placeholder = "${" + IMPORT_INPUT["name"] + "}"
    (var,) = [v for v in out["templating"]["list"] if v["name"] == DATASOURCE_VAR]
    var["current"] = {"selected": True, "text": placeholder, "value": placeholder}
    panel_types = sorted({p["type"] for p in lint.panels(out) if p["type"] != "row"})
    out["__inputs"] = [IMPORT_INPUT]
    out["__requires"] = [
        {"type": "datasource", "id": "prometheus", "name": PROVISIONED_NAME, "version": "1.0.0"},
        *({"type": "panel", "id": t, "name": t, "version": ""} for t in panel_types),
    ]
    if found := lint.problems(out) + lint.import_problems(out):
        raise ValueError(f"dashboard {model.get('uid')} (import): " + "; ".join(found))
    return out


def _text(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> dict[str, str]:
    """Path under grafana/ -> JSON text of every dashboard, provisioned and importable."""
    out: dict[str, str] = {}
    for name, build in BUILDERS.items():
        model = dashboard_json(build)
        out[f"{DASHBOARDS_DIR.name}/{name}"] = _text(model)
        out[f"{IMPORT_DIR.name}/{name}"] = _text(importable(model))
    return out


def main(argv: list[str] | None = None) -> int:
    IMPORT_DIR.mkdir(exist_ok=True)
    return generator_main(__doc__, render, HERE, "run `make dashboards`", argv)


if __name__ == "__main__":
    sys.exit(main())

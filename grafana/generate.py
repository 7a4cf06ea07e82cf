"""Generate promgate's Grafana dashboards (grafana/dashboards/*.json) from code.

The panels are built with grafana-foundation-sdk in ``dashgen/``; every PromQL expression comes
from ``promgate.queries``. The JSON is committed; a test fails when it differs from this output.

    python grafana/generate.py           # rewrite grafana/dashboards/*.json (make dashboards)
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
from genfiles import generator_main  # noqa: E402
from grafana_foundation_sdk.builders.dashboard import Dashboard  # noqa: E402
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402

DASHBOARDS_DIR = HERE / "dashboards"
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
    # Provisioned from files: Grafana keeps its own version counter; `id` is per instance.
    model.pop("id", None)
    model["schemaVersion"] = model.get("schemaVersion") or 39
    if found := lint.problems(model):
        raise ValueError(f"dashboard {model.get('uid')}: " + "; ".join(found))
    return model


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        name: json.dumps(dashboard_json(build), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, build in BUILDERS.items()
    }


def main(argv: list[str] | None = None) -> int:
    return generator_main(__doc__, render, DASHBOARDS_DIR, "run `make dashboards`", argv)


if __name__ == "__main__":
    sys.exit(main())

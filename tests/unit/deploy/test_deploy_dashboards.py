"""Generated Grafana dashboards and provisioning: structure, freshness, PromQL from queries.py."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "grafana"
sys.path.insert(0, str(GRAFANA))

pytest.importorskip("grafana_foundation_sdk")

from dashgen import lint  # noqa: E402
from dashgen.common import DATASOURCE_UID  # noqa: E402
from deploy_support import assert_committed, load_script  # noqa: E402

GENERATE = load_script(GRAFANA / "generate.py")
FILES = sorted(GENERATE.BUILDERS)


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((GRAFANA / "dashboards" / name).read_text()))


def test_committed_json_is_the_generator_output() -> None:
    assert sorted(p.name for p in (GRAFANA / "dashboards").glob("*.json")) == FILES
    assert_committed(GENERATE.render(), GRAFANA / "dashboards", "run `make dashboards`")


@pytest.mark.parametrize("name", FILES)
def test_dashboard_structure(name: str) -> None:
    assert lint.problems(_load(name)) == []


def test_dashboard_uids_unique_and_stable() -> None:
    uids = [_load(name)["uid"] for name in FILES]
    assert uids == ["promgate-locust-run", "promgate-runs"]


def test_lint_catches_problems() -> None:
    """The checker itself: an old panel type, a foreign datasource, an undefined variable, bad
    PromQL and duplicate ids are all reported."""
    model = _load("locust-run.json")
    panel = next(p for p in lint.panels(model) if p["type"] == "stat")
    panel["type"] = "singlestat"
    panel["targets"][0]["datasource"] = {"type": "prometheus", "uid": "other"}
    panel["targets"][0]["expr"] = 'sum(rate(x{job="$nope"}[5m])'
    model["panels"][2]["id"] = model["panels"][1]["id"]
    found = "\n".join(lint.problems(model))
    for needle in ("not current", "datasource is not", "$nope"[1:], "does not parse", "not unique"):
        assert needle in found


def test_every_target_expression_comes_from_queries() -> None:
    """No hand-written PromQL: every expression in the JSON is one queries.py produced."""
    from promgate import queries

    metric_names = {
        "locust_",
        "http_request",
        queries.REC_USERS,
    }
    for name in FILES:
        for where, expr, _ in lint.expressions(_load(name)):
            assert any(m in expr for m in metric_names), (where, expr)
    source = "".join(p.read_text() for p in (GRAFANA / "dashgen").glob("*.py"))
    # The builders call queries.py; they never spell out PromQL functions themselves.
    for fn in ("max_over_time(", "histogram_quantile(", "rate(", "sum by"):
        assert fn not in source, fn
    # Nor Grafana's label_values() helper over a metric: queries.*_label_values() build those.
    assert not re.search(r"\blabel_values\(", source)


def test_run_dashboard_contents() -> None:
    model = _load("locust-run.json")
    names = [v["name"] for v in model["templating"]["list"]]
    assert names[:4] == ["job", "run_id", "endpoint", "quantile"]
    run_var = model["templating"]["list"][1]
    assert run_var["sort"] == 0 and "sort_desc" in run_var["query"]  # newest first
    types = {p["type"] for p in lint.panels(model)}
    assert {"stat", "timeseries", "table", "heatmap", "bargauge"} <= types
    titles = {p["title"]: p for p in lint.panels(model)}
    # Threshold lines at the seed's warning and critical values.
    for title, levels in {
        "Latency p95 (sliding window)": [2.0, 5.0],
        "Latency p99 (sliding window)": [3.0, 10.0],
        "Error rate (sliding window)": [0.02, 0.05],
    }.items():
        defaults = titles[title]["fieldConfig"]["defaults"]
        steps = [s["value"] for s in defaults["thresholds"]["steps"]][1:]
        assert steps == levels
        assert defaults["custom"]["thresholdsStyle"]["mode"] == "dashed"
    sut_row = titles["System under test"]
    assert sut_row["collapsed"] is True and len(sut_row["panels"]) == 4
    assert {a["name"] for a in model["annotations"]["list"]} == {"Run start", "Run end"}
    assert all(a["useValueForTime"] for a in model["annotations"]["list"])
    heat = titles["Latency heatmap"]
    assert heat["targets"][0]["format"] == "heatmap"


def test_runs_dashboard_links_to_the_run_with_its_time_range() -> None:
    model = _load("locust-runs.json")
    table = next(p for p in lint.panels(model) if p["title"] == "Runs (in the time range)")
    refs = {t["refId"] for t in table["targets"]}
    assert {"start", "duration", "requests", "error_ratio", "p95", "peak_users", "rps"} <= refs
    assert {"verdict", "link_from", "link_to"} <= refs
    links = [
        prop["value"][0]["url"]
        for o in table["fieldConfig"]["overrides"]
        for prop in o["properties"]
        if prop["id"] == "links"
    ]
    assert links and "/d/promgate-locust-run/" in links[0]
    assert "${__data.fields.link_from}" in links[0] and "var-run_id=${__value.raw}" in links[0]


def test_provisioning() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/promgate.yml").read_text())
    (source,) = ds["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "prometheus"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert source["jsonData"]["timeInterval"] == prom["global"]["scrape_interval"]
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/promgate.yml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in mounts
    for name in FILES:
        assert "__inputs" not in _load(name)

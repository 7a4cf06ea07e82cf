"""Generated Grafana dashboards and provisioning: structure, freshness, PromQL from
promgate.queries."""

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
from dashgen.common import DATASOURCE_REF, PROVISIONED_UID  # noqa: E402
from deploy_support import assert_committed, load_script  # noqa: E402

GENERATE = load_script(GRAFANA / "generate.py")
FILES = sorted(GENERATE.BUILDERS)
VARIANTS = ["dashboards", "import"]  # provisioned, importable


def _load(name: str, variant: str = "dashboards") -> dict[str, Any]:
    return dict(json.loads((GRAFANA / variant / name).read_text()))


def test_committed_json_is_the_generator_output() -> None:
    for variant in VARIANTS:
        assert sorted(p.name for p in (GRAFANA / variant).glob("*.json")) == FILES
    assert_committed(GENERATE.render(), GRAFANA, "run `make dashboards`")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", FILES)
def test_dashboard_structure(name: str, variant: str) -> None:
    model = _load(name, variant)
    assert lint.problems(model) == []
    assert model["schemaVersion"] == GENERATE.SCHEMA_VERSION == 42
    assert "style" not in model


def _datasource_refs(node: object) -> list[object]:
    """Every value of a ``datasource`` key and every ``uid`` at any depth (the datasource
    variable's own default aside: it is what the variable starts with, not a reference)."""
    found: list[object] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("datasource", "uid"):
                found.append(value)
            elif key != "current":
                found += _datasource_refs(value)
    elif isinstance(node, list):
        for value in node:
            found += _datasource_refs(value)
    return found


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", FILES)
def test_every_datasource_reference_is_the_variable(name: str, variant: str) -> None:
    """No panel, target, variable or annotation names a datasource but through ``$datasource``,
    a datasource variable of type prometheus; every one that queries has that reference."""
    model = _load(name, variant)
    (ds_var,) = [v for v in model["templating"]["list"] if v["type"] == "datasource"]
    assert ds_var["name"] == "datasource" and ds_var["query"] == "prometheus"
    items: list[Any] = [p for p in lint.panels(model) if p["type"] != "row"]
    items += [t for _, t in lint.targets(model)]
    items += [v for v in model["templating"]["list"] if v["type"] == "query"]
    items += model["annotations"]["list"]
    assert len(items) >= 10 and all(item["datasource"] == DATASOURCE_REF for item in items)
    everything = [
        *({k: v for k, v in p.items() if k != "panels"} for p in lint.panels(model)),
        *model["templating"]["list"],
        *model["annotations"]["list"],
    ]
    refs = _datasource_refs(everything)
    assert refs and {json.dumps(r) for r in refs} <= {
        json.dumps(DATASOURCE_REF),
        json.dumps(DATASOURCE_REF["uid"]),
    }
    assert DATASOURCE_REF["uid"] == "${datasource}"


@pytest.mark.parametrize("name", FILES)
def test_importable_variant_asks_for_the_datasource(name: str) -> None:
    """grafana.com-style import: one Prometheus input; Grafana's import replaces ``${DS_…}``
    with the chosen datasource's uid, which then is the datasource variable's default. Apart
    from that default (and ``__inputs``/``__requires``) it is the provisioned dashboard."""
    provisioned, imported = _load(name), _load(name, "import")
    assert "__inputs" not in provisioned and "__requires" not in provisioned
    (inp,) = imported["__inputs"]
    assert (inp["type"], inp["pluginId"]) == ("datasource", "prometheus")
    placeholder = "${" + inp["name"] + "}"
    text = json.dumps(imported)
    assert set(re.findall(r"\$\{DS_\w+\}", text)) == {placeholder}
    # What Grafana's import does: replace the placeholder wherever it occurs.
    bound = json.loads(text.replace(placeholder, "some-other-uid"))
    (ds_var,) = [v for v in bound["templating"]["list"] if v["name"] == "datasource"]
    assert ds_var["current"]["value"] == "some-other-uid"
    (prov_var,) = [v for v in provisioned["templating"]["list"] if v["name"] == "datasource"]
    assert prov_var["current"]["value"] == PROVISIONED_UID
    for model in (bound, provisioned):
        model.pop("__inputs", None)
        model.pop("__requires", None)
        next(v for v in model["templating"]["list"] if v["name"] == "datasource").pop("current")
    assert bound == provisioned
    required = {r["id"] for r in imported["__requires"] if r["type"] == "panel"}
    assert required == {p["type"] for p in lint.panels(provisioned)} - {"row"}


def test_lint_catches_a_fixed_datasource_and_stale_schema_keys() -> None:
    """The datasource check itself: a fixed uid on a target, a datasource name on a variable, a
    uid inside an annotation, a missing datasource variable; and keys older than schema 42."""
    model = _load("locust-run.json")
    panel = next(p for p in lint.panels(model) if p["type"] == "timeseries")
    panel["targets"][0]["datasource"] = {"type": "prometheus", "uid": PROVISIONED_UID}
    model["templating"]["list"][1]["datasource"] = "Prometheus"
    model["annotations"]["list"][0]["extra"] = {"uid": "abc"}
    found = "\n".join(lint.problems(model))
    assert PROVISIONED_UID in found and "'Prometheus'" in found and "'abc'" in found
    model["templating"]["list"].pop(0)
    model["style"] = "dark"
    model["refresh"] = False
    panel["options"]["legend"]["displayMode"] = "hidden"
    panel["styles"] = [{"pattern": "Time", "type": "hidden"}]
    found = "\n".join(lint.problems(model))
    for needle in ("not the first variable", "style:", "refresh", "schema 37", "table-old"):
        assert needle in found
    imported = _load("locust-run.json", "import")
    imported["templating"]["list"][0]["current"] = {"text": "x", "value": "x"}
    assert "default is not ${DS_PROMETHEUS}" in "".join(lint.import_problems(imported))
    assert lint.import_problems(_load("locust-run.json"))  # no __inputs


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
    for needle in (
        "not current",
        "is not the $datasource variable",
        "$nope"[1:],
        "does not parse",
        "not unique",
    ):
        assert needle in found


def test_every_target_expression_comes_from_queries() -> None:
    """No hand-written PromQL: every expression in the JSON is one promgate.queries produced."""
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
    # The builders call promgate.queries; they never spell out PromQL functions themselves.
    for fn in ("max_over_time(", "histogram_quantile(", "rate(", "sum by"):
        assert fn not in source, fn
    # Nor Grafana's label_values() helper over a metric: queries.*_label_values() build those.
    assert not re.search(r"\blabel_values\(", source)


def test_run_dashboard_contents() -> None:
    model = _load("locust-run.json")
    names = [v["name"] for v in model["templating"]["list"]]
    assert names[:5] == ["datasource", "job", "run_id", "endpoint", "quantile"]
    run_var = model["templating"]["list"][2]
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
    annotations = {a["name"]: a for a in model["annotations"]["list"]}
    assert set(annotations) == {"Run start", "Run end", "Steady (all users running)"}
    assert annotations["Run start"]["useValueForTime"] and annotations["Run end"]["useValueForTime"]
    # The steady window is a region: the steps at which all users ran, not one moment.
    steady = annotations["Steady (all users running)"]
    assert not steady["useValueForTime"] and "locust_run_steady_timestamp_seconds" in steady["expr"]
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
    assert "${__data.fields.link_from}" in links[0]
    # Run ids and job names may hold spaces, "/", "&": percent-encoded, the datasource carried.
    query = links[0].split("?", 1)[1]
    params = dict(part.split("=", 1) for part in query.split("&"))
    assert params["var-run_id"] == "${__value.raw:percentencode}"
    assert params["var-job"] == "${job:percentencode}"
    assert params["var-datasource"] == "${datasource:percentencode}"
    for dash in (model, _load("locust-run.json")):
        assert all(link["includeVars"] for link in dash["links"])  # Grafana encodes those


def test_runs_dashboard_run_b_defaults_to_the_run_before_run_a() -> None:
    from promgate import queries

    variables = {v["name"]: v for v in _load("locust-runs.json")["templating"]["list"]}
    run_a, run_b = variables["run_a"], variables["run_b"]
    job, rng = 'job="$job"', "$__range"
    assert run_a["query"] == f"query_result({queries.run_ids(job, rng)})"  # newest first
    # Runs that started before $run_a, newest first: Grafana selects the first option.
    before_a = queries.run_ids_before(f'{job}, run_id="$run_a"', job, rng)
    assert run_b["query"] == f"query_result({before_a})"
    assert run_b["sort"] == 0 and "current" not in run_b
    names = list(variables)
    assert names.index("run_a") < names.index("run_b")  # run B refreshes when run A changes


def test_provisioning() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/promgate.yml").read_text())
    (source,) = ds["datasources"]
    assert source["uid"] == PROVISIONED_UID and source["type"] == "prometheus"
    # Not the default datasource unless asked (an existing default must not clash); compose
    # always sets the variable (Grafana refuses an empty boolean).
    assert source["isDefault"] == "${PROMGATE_DATASOURCE_DEFAULT}"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert source["jsonData"]["timeInterval"] == prom["global"]["scrape_interval"]
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/promgate.yml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert not any("grafana/import" in m for m in grafana["volumes"])  # never provisioned
    default = grafana["environment"]["PROMGATE_DATASOURCE_DEFAULT"]
    assert default == "${PROMGATE_DATASOURCE_DEFAULT:-false}"

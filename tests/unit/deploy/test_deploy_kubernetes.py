"""Kubernetes manifests (deploy/kubernetes/): every overlay rendered by `kubectl kustomize`,
validated against a current Kubernetes release's schemas, non-root and limited pods, network
policy, scraping and the dashboards' config maps."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_support import (
    K8S,
    OVERLAYS,
    ROOT,
    Doc,
    container_env,
    find,
    one,
    pod_labels,
    pod_spec,
    render,
    selects,
    workloads,
)

pytestmark = pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_is_valid_for_a_current_kubernetes(overlay: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    version = kubernetes_validate.latest_version()
    assert int(version.split(".")[1]) >= 30, version  # a current release's schemas
    docs = render(overlay)
    assert docs
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: checked by test_service_monitor_scrapes_the_pushgateway
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {exc.message}")


def test_every_overlay_has_its_master() -> None:
    assert {"ci", "interactive", "gate", "kube-prometheus-stack"} <= set(OVERLAYS)
    for overlay in OVERLAYS:
        docs = render(overlay)
        masters = [
            d
            for d in workloads(docs)
            if pod_labels(d).get("app.kubernetes.io/component") == "master"
        ]
        assert len(masters) == 1, overlay
        expected = "Deployment" if overlay == "interactive" else "Job"
        assert masters[0]["kind"] == expected, overlay
        one(docs, "Deployment", "locust-worker")
        one(docs, "Deployment", "pushgateway")


def test_copies_match_their_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(K8S / "sync.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_non_root_read_only_and_limited(overlay: str) -> None:
    docs = render(overlay)
    namespace = find(docs, "Namespace")
    assert (
        namespace
        and namespace[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    )
    for doc in workloads(docs):
        what = f"{overlay}: {doc['kind']}/{doc['metadata']['name']}"
        spec = pod_spec(doc)
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] > 0, what
        assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault", what
        assert spec["automountServiceAccountToken"] is False, what
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, what
            assert sc["allowPrivilegeEscalation"] is False, what
            assert sc["capabilities"]["drop"] == ["ALL"], what
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), (what, kind)
            assert ":" in c["image"] and not c["image"].endswith(":latest"), (what, c["image"])
            mounts = {m["mountPath"]: volumes[m["name"]] for m in c.get("volumeMounts", [])}
            if c["image"].startswith("promgate-locust:"):
                # Python and Locust need a writable /tmp (HOME points there).
                env = container_env(docs, c)
                if c.get("command", [""])[0] in ("locust", "promgate"):
                    assert "emptyDir" in mounts["/tmp"] and env["HOME"] == "/tmp", what
                    assert mounts["/locust"]["configMap"]["name"].startswith("locustfile")
            for arg in c.get("args", []):
                # --csv, --json, --html write under an emptyDir mount, not the read-only root.
                if arg.startswith("/results/"):
                    assert "emptyDir" in mounts["/results"], what
            for volume in mounts.values():
                if "configMap" in volume:
                    one(docs, "ConfigMap", volume["configMap"]["name"])  # present in the render


def test_image_tag_is_the_project_version() -> None:
    about = (ROOT / "exporter" / "locust_prometheus" / "__about__.py").read_text()
    version = re.search(r'__version__ = "([^"]+)"', about)
    assert version
    for overlay in OVERLAYS:
        images = {c["image"] for d in workloads(render(overlay)) for c in pod_spec(d)["containers"]}
        ours = {i for i in images if i.startswith("promgate-locust")}
        assert ours == {f"promgate-locust:{version.group(1)}"}, (overlay, images)
    # The same Pushgateway as docker compose.
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    (pgw,) = pod_spec(one(render("ci"), "Deployment", "pushgateway"))["containers"]
    assert pgw["image"] == compose["services"]["pushgateway"]["image"]


def test_locustfile_config_map_is_the_example_locustfile() -> None:
    docs = render("ci")
    (cm,) = [d for d in find(docs, "ConfigMap") if d["metadata"]["name"].startswith("locustfile")]
    text = cm["data"]["locustfile.py"]
    assert text == (ROOT / "examples" / "locustfile.py").read_text()
    assert "import locust_prometheus" in text


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_network_policy(overlay: str) -> None:
    """Workers reach the master on 5557, pods labelled as the load target, and DNS; nothing
    reaches them."""
    docs = render(overlay)
    workers = one(docs, "Deployment", "locust-worker")
    policies = [
        p
        for p in find(docs, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], pod_labels(workers))
    ]
    assert len(policies) == 1, overlay
    spec = policies[0]["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"} and not spec.get("ingress")
    master = next(
        d for d in workloads(docs) if pod_labels(d).get("app.kubernetes.io/component") == "master"
    )
    sut = one(docs, "Deployment", "demo-api")
    reached: dict[str, list[Any]] = {}
    for rule in spec["egress"]:
        (peer,) = rule["to"]
        ports = sorted((p["protocol"], p["port"]) for p in rule.get("ports", []))
        if "namespaceSelector" not in peer and selects(peer["podSelector"], pod_labels(master)):
            reached["master"] = ports
        elif selects(peer["podSelector"], pod_labels(sut)) and peer["namespaceSelector"] == {}:
            reached["sut"] = ports
        elif peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}:
            assert peer["namespaceSelector"]["matchLabels"] == {
                "kubernetes.io/metadata.name": "kube-system"
            }
            reached["dns"] = ports
        else:
            pytest.fail(f"{overlay}: workers may reach {peer}")
        # No peer may select the Pushgateway or every pod.
        assert not selects(peer["podSelector"], pod_labels(one(docs, "Deployment", "pushgateway")))
    assert reached == {
        "master": [("TCP", 5557)],
        "sut": [],  # any port of the system under test
        "dns": [("TCP", 53), ("UDP", 53)],
    }
    # The master accepts workers on the port the workers dial.
    (master_policy,) = [
        p
        for p in find(docs, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], pod_labels(master))
    ]
    from_workers = [r for r in master_policy["spec"]["ingress"] if "from" in r]
    assert from_workers and selects(from_workers[0]["from"][0]["podSelector"], pod_labels(workers))
    assert from_workers[0]["ports"] == [{"protocol": "TCP", "port": 5557}]


def test_service_monitor_scrapes_the_pushgateway() -> None:
    docs = render("kube-prometheus-stack")
    (monitor,) = find(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = one(docs, "Service", "pushgateway")
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["honorLabels"] is True and endpoint["interval"] == "5s"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["metadata"]["labels"]["release"]  # kube-prometheus-stack's default selector
    # Without the component, no CRD is needed.
    assert not find(render("gate"), "ServiceMonitor")


def test_static_scrape_config_is_valid_prometheus_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed")
    docs = render("ci")
    (cm,) = [
        d
        for d in find(docs, "ConfigMap")
        if d["metadata"]["name"].startswith("promgate-prometheus-scrape")
    ]
    scrape = yaml.safe_load(cm["data"]["prometheus-scrape.yml"])
    assert all(job["honor_labels"] is True for job in scrape["scrape_configs"])
    (static,) = [j for j in scrape["scrape_configs"] if "static_configs" in j]
    service = one(docs, "Service", "pushgateway")
    namespace = service["metadata"]["namespace"]
    assert static["static_configs"][0]["targets"] == [f"pushgateway.{namespace}.svc:9091"]
    # The annotation the discovered job keeps is on the Service.
    assert service["metadata"]["annotations"]["prometheus.io/probe"] == "pushgateway"
    assert "prometheus.io/scrape" not in service["metadata"]["annotations"]
    # Debian's promtool is built without Kubernetes discovery: it checks the static job, and the
    # discovered job's address rewrite is checked here (Prometheus anchors its regexes).
    (discovered,) = [j for j in scrape["scrape_configs"] if "kubernetes_sd_configs" in j]
    rewrite = discovered["relabel_configs"][-1]
    assert rewrite["target_label"] == "__address__"
    for address in ("10.0.0.7", "10.0.0.7:80"):
        m = re.fullmatch(rewrite["regex"], f"{address};9091")
        assert m and m.expand(rewrite["replacement"].replace("$", "\\")) == "10.0.0.7:9091"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump({"global": {"scrape_interval": "5s"}, "scrape_configs": [static]})
    )
    result = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_are_config_maps_for_the_grafana_sidecar() -> None:
    docs = render("kube-prometheus-stack")
    by_file: dict[str, Doc] = {}
    for cm in find(docs, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            (filename,) = cm["data"]
            by_file[filename] = cm
    sources = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert sources and set(by_file) == {p.name for p in sources}
    uids: set[str] = set()
    for path in sources:
        text = by_file[path.name]["data"][path.name]
        assert json.loads(text) == json.loads(path.read_text()), path.name
        dashboard = json.loads(text)
        # Panels name ${datasource}, a dashboard variable whose default is a fixed uid.
        defaults = {
            f"${{{v['name']}}}": v["current"]["value"]
            for v in dashboard["templating"]["list"]
            if v.get("type") == "datasource"
        }
        uids |= {defaults.get(d["uid"], d["uid"]) for d in _datasources(dashboard)}
    # The datasource the dashboards name exists, for Grafana's datasource sidecar.
    (ds_cm,) = [
        d
        for d in find(docs, "ConfigMap")
        if d["metadata"].get("labels", {}).get("grafana_datasource") == "1"
    ]
    (ds_text,) = ds_cm["data"].values()
    datasources = yaml.safe_load(ds_text)["datasources"]
    assert uids and uids <= {d["uid"] for d in datasources}
    assert not [
        d
        for d in find(render("ci"), "ConfigMap")
        if "grafana_dashboard" in d["metadata"].get("labels", {})
    ]


def _datasources(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [node["datasource"]] if isinstance(node.get("datasource"), dict) else []
        return found + [x for v in node.values() for x in _datasources(v)]
    if isinstance(node, list):
        return [x for v in node for x in _datasources(v)]
    return []

"""Kubernetes manifests (deploy/kubernetes/): every overlay rendered by `kubectl kustomize`,
validated against a current Kubernetes release's schemas, and its Locust and promgate command
lines parsed by their real parsers with the environment the pod would give them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
JOB_NAME = "locust-run-42"  # what the downward API gives: the Job's own name
WORKLOADS = ("Deployment", "Job", "StatefulSet", "DaemonSet")

Doc = dict[str, Any]

pytestmark = pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed")


@cache
def _render(overlay: str) -> str:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay}: {result.stderr}"
    return result.stdout


def render(overlay: str) -> list[Doc]:
    return [d for d in yaml.safe_load_all(_render(overlay)) if d]


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = find(docs, kind, name)
    return doc


def workloads(docs: list[Doc]) -> Iterator[Doc]:
    return (d for d in docs if d["kind"] in WORKLOADS)


def pod_spec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]
    return spec


def pod_labels(doc: Doc) -> dict[str, str]:
    return dict(doc["spec"]["template"]["metadata"]["labels"])


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # matchExpressions are not used here
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def container_env(docs: list[Doc], container: Doc) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps, then env
    (downward-API fields resolved as the Job's pods would see them)."""
    env: dict[str, str] = {}
    for src in container.get("envFrom", []):
        env.update(one(docs, "ConfigMap", src["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = _expand(var["value"], env)
        else:
            path = var["valueFrom"]["fieldRef"]["fieldPath"]
            assert path == "metadata.labels['batch.kubernetes.io/job-name']", path
            env[var["name"]] = JOB_NAME
    return env


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command and args; an undefined $(VAR) fails the test
    (Kubernetes would pass it through literally)."""

    def sub(m: re.Match[str]) -> str:
        assert m.group(1) in env, f"$({m.group(1)}) is not defined in the container's env"
        return env[m.group(1)]

    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, text)


def command_line(docs: list[Doc], container: Doc) -> tuple[list[str], dict[str, str]]:
    env = container_env(docs, container)
    argv = [_expand(a, env) for a in [*container.get("command", []), *container.get("args", [])]]
    return argv, env


def containers(docs: list[Doc], program: str) -> list[tuple[str, Doc]]:
    return [
        (f"{d['kind']}/{d['metadata']['name']}", c)
        for d in workloads(docs)
        for c in pod_spec(d)["containers"]
        if c.get("command", [""])[0] == program
    ]


# ---------------------------------------------------------------- rendering and schemas


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


# ---------------------------------------------------------------- command lines

_LOCUST_PARSE = textwrap.dedent(
    """
    import json, os, sys
    import locust_prometheus  # noqa: F401 - registers the exporter's options
    from locust.argument_parser import get_parser

    base = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
    out = []
    for argv, env in json.load(sys.stdin):
        # The pod's environment: LOCUST_* variables are options too (read at parse time).
        os.environ.clear()
        os.environ.update({**base, **env})
        parser = get_parser(default_config_files=[])
        try:
            ns = parser.parse_args(argv)
            out.append({"ok": True, "args": {k: str(v) for k, v in vars(ns).items()}})
        except SystemExit as exc:
            out.append({"ok": False, "error": str(exc.code)})
    print(json.dumps(out))
    """
)
NEGATIVE_CONTROL: tuple[list[str], dict[str, str]] = (
    ["locust", "--headless", "--prometheus-pushgatway", "x"],
    {},
)


def _locust_cases() -> list[tuple[list[str], dict[str, str]]]:
    cases = [NEGATIVE_CONTROL]
    for overlay in OVERLAYS:
        docs = render(overlay)
        cases.append(master_command(docs))
        (worker,) = pod_spec(one(docs, "Deployment", "locust-worker"))["containers"]
        cases.append(command_line(docs, worker))
    return cases


@cache
def _locust_results() -> dict[str, dict[str, Any]]:
    """Every Locust command line of every overlay, parsed by Locust's own parser (with the
    exporter's options) in one child process: importing Locust monkey-patches the standard
    library with gevent, and one import is much cheaper than one per command line."""
    cases = _locust_cases()
    for argv, _ in cases:
        assert argv[0] == "locust", argv
    result = subprocess.run(
        [sys.executable, "-c", _LOCUST_PARSE],
        input=json.dumps([(argv[1:], env) for argv, env in cases]),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    return {json.dumps(case): out for case, out in zip(cases, parsed, strict=True)}


def parse_locust(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    return _locust_results()[json.dumps((argv, env))]


def split_promgate(argv: list[str]) -> tuple[list[str], list[str]]:
    """``promgate run ... -- locust ...`` into its two command lines."""
    assert argv[0] == "promgate" and "--" in argv, argv
    i = argv.index("--")
    return argv[1:i], argv[i + 1 :]


def master_command(docs: list[Doc]) -> tuple[list[str], dict[str, str]]:
    """The master's Locust command line and environment (the part after ``--`` under promgate)."""
    found = []
    for _, container in containers(docs, "locust") + containers(docs, "promgate"):
        argv, env = command_line(docs, container)
        if argv[0] == "promgate":
            argv = split_promgate(argv)[1]
        if "--master" in argv:
            found.append((argv, env))
    assert len(found) == 1, found
    return found[0]


def service_port(docs: list[Doc], name: str, port: int) -> Doc:
    service = one(docs, "Service", name)
    assert any(p["port"] == port for p in service["spec"]["ports"]), (name, port)
    return service


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_master_command_is_a_real_locust_command(overlay: str) -> None:
    pytest.importorskip("locust")
    docs = render(overlay)
    argv, env = master_command(docs)
    result = parse_locust(argv, env)
    assert result["ok"], f"{overlay}: {' '.join(argv)}: {result}"
    args = result["args"]
    workers = one(docs, "Deployment", "locust-worker")
    assert args["master"] == "True" and args["locustfile"] == "/locust/locustfile.py"
    headless = overlay != "interactive"
    assert args["headless"] == str(headless)
    if headless:
        # --expect-workers is the replicas parameter: the run starts with every worker.
        assert int(args["expect_workers"]) == workers["spec"]["replicas"] > 0
        assert args["prometheus_run_id"] == JOB_NAME or overlay in ("gate", "kube-prometheus-stack")
    # The exporter is configured by LOCUST_PROMETHEUS_* variables, read by Locust's parser.
    pgw = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", args["prometheus_pushgateway"])
    assert pgw, args["prometheus_pushgateway"]
    service_port(docs, pgw.group(1), int(pgw.group(2)))
    assert args["prometheus_job"] == "locust" and float(args["prometheus_push_interval"]) == 5
    host = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", args["host"])
    assert host, args["host"]
    service_port(docs, host.group(1), int(host.group(2)))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_command_is_a_real_locust_command(overlay: str) -> None:
    pytest.importorskip("locust")
    docs = render(overlay)
    workers = one(docs, "Deployment", "locust-worker")
    (container,) = pod_spec(workers)["containers"]
    argv, env = command_line(docs, container)
    result = parse_locust(argv, env)
    assert result["ok"], result
    args = result["args"]
    assert args["worker"] == "True" and args["locustfile"] == "/locust/locustfile.py"
    master = service_port(docs, args["master_host"], int(args["master_port"]))
    masters = [
        d
        for d in workloads(docs)
        if selects({"matchLabels": master["spec"]["selector"]}, pod_labels(d))
    ]
    assert [d["kind"] for d in masters] in (["Job"], ["Deployment"])
    assert "--master" in " ".join(command_line(docs, pod_spec(masters[0])["containers"][0])[0])
    # Workers do not push: the master aggregates their statistics.
    assert args["prometheus_pushgateway"] == ""


def test_a_misspelt_option_fails_the_parse() -> None:
    pytest.importorskip("locust")
    assert not parse_locust(*NEGATIVE_CONTROL)["ok"]


def test_gate_job_runs_promgate_around_the_locust_master() -> None:
    docs = render("gate")
    ((_, container),) = containers(docs, "promgate")
    argv, env = command_line(docs, container)
    gate_argv, locust_argv = split_promgate(argv)
    assert gate_argv[:1] == ["run"]
    assert gate_argv[gate_argv.index("--run-id") + 1] == JOB_NAME
    assert gate_argv[gate_argv.index("--config") + 1] == "/config/gate.yaml"
    assert locust_argv[0] == "locust" and "--master" in locust_argv
    # promgate run hands the run id to Locust; a second, different one would be refused.
    assert "LOCUST_PROMETHEUS_RUN_ID" not in env and "--prometheus-run-id" not in locust_argv
    assert env["PROMGATE_PROMETHEUS_URL"].startswith("http://")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(one(docs, "Job", "locust-run"))["volumes"]}
    gate_cm = one(docs, "ConfigMap", volumes[mounts["/config"]]["configMap"]["name"])
    config = yaml.safe_load(gate_cm["data"]["gate.yaml"])
    assert config["checks"] and any("abort" in c for c in config["checks"])
    assert "PROMGATE_PROMETHEUS_URL" in config["prometheus"]["url"]


def test_gate_job_promgate_command_parses_with_promgates_parser() -> None:
    try:
        from promgate.cli import build_parser
    except ImportError as exc:  # pragma: no cover - only while the CLI is being rebuilt
        pytest.skip(f"promgate.cli.build_parser not importable: {exc}")
    parser = build_parser()
    subcommands = {
        name
        for action in parser._actions
        if isinstance(action, __import__("argparse")._SubParsersAction)
        for name in action.choices
    }
    if "run" not in subcommands:
        pytest.skip("`promgate run` does not exist yet (issue 11)")
    docs = render("gate")
    ((_, container),) = containers(docs, "promgate")
    argv, _ = command_line(docs, container)
    try:
        args = parser.parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"promgate {' '.join(argv[1:])} does not parse (exit {exc.code})")
    assert args.command == "run" and args.config == "/config/gate.yaml"
    assert args.run_id == JOB_NAME
    assert args.json and args.junit and args.markdown
    tails = [v for v in vars(args).values() if isinstance(v, list) and "locust" in v]
    assert tails and "--master" in tails[0], vars(args)


def test_gate_config_loads_with_promgates_loader() -> None:
    """The gate.yaml ConfigMap, read by promgate's own config loader in the pod's environment."""
    try:
        from promgate.config.loader import parse_config
    except ImportError as exc:  # pragma: no cover - only while the gate is being rebuilt
        pytest.skip(f"promgate.config.loader not importable: {exc}")
    docs = render("gate")
    ((_, container),) = containers(docs, "promgate")
    _, env = command_line(docs, container)
    (cm,) = [
        d for d in find(docs, "ConfigMap") if d["metadata"]["name"].startswith("promgate-gate")
    ]
    config = parse_config(cm["data"]["gate.yaml"], "gate.yaml", env)
    assert config.prometheus.url == env["PROMGATE_PROMETHEUS_URL"]
    aborting = [c for c in config.checks if c.abort is not None]
    assert [c.name for c in aborting] == ["error_rate"]


# ---------------------------------------------------------------- pods


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


# ---------------------------------------------------------------- Prometheus and Grafana


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

"""The command lines of the Kubernetes manifests: the Locust master's and workers' and the gate
Job's promgate, each parsed by the real parser with the environment the pod would give it."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from kubernetes_support import (
    JOB_NAME,
    NEGATIVE_CONTROL,
    OVERLAYS,
    command_line,
    containers,
    find,
    master_command,
    one,
    parse_locust,
    pod_labels,
    pod_spec,
    render,
    selects,
    service_port,
    split_promgate,
    workloads,
)

pytestmark = pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed")


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

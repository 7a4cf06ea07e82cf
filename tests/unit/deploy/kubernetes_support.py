"""What the Kubernetes manifest tests share: each overlay rendered by ``kubectl kustomize``, ways
to find its objects, and the Locust and promgate command lines a pod would run, parsed by the
real parsers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]


K8S = ROOT / "deploy" / "kubernetes"


OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())


JOB_NAME = "locust-run-42"  # what the downward API gives: the Job's own name


WORKLOADS = ("Deployment", "Job", "StatefulSet", "DaemonSet")


Doc = dict[str, Any]


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

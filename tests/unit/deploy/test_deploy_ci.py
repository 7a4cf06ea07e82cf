"""CI templates (deploy/ci/): the triggers, reports and publishing each needs, and every `locust`
and `promgate` command line in them parsed by the real parsers."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CI = ROOT / "deploy" / "ci"
TEMPLATES = {
    "github": CI / "github-actions.yml",
    "jenkins": CI / "Jenkinsfile",
    "azure": CI / "azure-pipelines.yml",
}
PLACEHOLDER = "1"  # any CI expression stands for a value: numbers, ids and URLs all accept it
# CI-expression syntaxes: GitHub ${{ }}, Azure $( ), Groovy/shell ${x} and $x.
_EXPR = re.compile(r"\$\{\{[^}]*\}\}|\$\([\w.]+\)|\$\{[\w.]+\}|\$[A-Za-z_]\w*")
_TEMPLATE_EXPR = re.compile(r"\$\{\{[^}]*\}\}|\$\([\w.]+\)")
_SHELL_ARRAY = re.compile(r"^\s*(?:if .*then )?(\w+)=\((.*)\);?(?: fi)?\s*$")
_GROOVY_OPTIONAL = re.compile(r"def (\w+) = params\.\w+ \? (\"[^\"]*\"|'[^']*') : ''")


def _logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined (shell, and Groovy's triple-quoted strings)."""
    return re.sub(r"\\\n\s*", " ", text).splitlines()


def _optional_groups(text: str) -> dict[str, list[str]]:
    """Optional argument groups the scripts build: bash arrays, Groovy conditionals."""
    groups: dict[str, list[str]] = {}
    for line in text.splitlines():
        if (m := _SHELL_ARRAY.match(line)) and m.group(2):
            groups[m.group(1)] = shlex.split(m.group(2))
        if m := _GROOVY_OPTIONAL.search(line):
            groups[m.group(1)] = shlex.split(m.group(2).strip("\"'"))
    return groups


def commands(path: Path, program: str) -> list[list[str]]:
    """Every invocation of ``program`` in a template, as argv without the program name, each
    with its optional argument groups absent and present."""
    text = path.read_text()
    groups = _optional_groups(text)
    found: list[list[str]] = []
    for line in _logical_lines(text):
        words = line.strip().split(None, 1)
        if not words or words[0].rsplit("/", 1)[-1] != program:
            continue
        # Template expressions may contain spaces (`${{ inputs.users }}`): replace them first.
        rest = _TEMPLATE_EXPR.sub(PLACEHOLDER, words[1] if len(words) > 1 else "")
        argv = shlex.split(rest)
        for with_groups in (False, True):
            out: list[str] = []
            for arg in argv:
                ref = re.fullmatch(r"\$\{(\w+)(?:\[@\])?\}", arg)
                if ref and ref.group(1) in groups:
                    out += (
                        [_EXPR.sub(PLACEHOLDER, a) for a in groups[ref.group(1)]]
                        if with_groups
                        else []
                    )
                else:
                    out.append(_EXPR.sub(PLACEHOLDER, arg))
            found.append(out)
    return found


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_promgate_commands_parse(name: str) -> None:
    try:
        from promgate.cli import build_parser
    except ImportError as exc:  # pragma: no cover - only while the CLI is being written
        pytest.skip(f"promgate.cli.build_parser not importable yet: {exc}")
    found = commands(TEMPLATES[name], "promgate")
    assert found, f"no promgate command in {name}"
    if name != "azure":  # baseline and --strict are optional argument groups there
        assert {"baseline", "strict"} <= set(_optional_groups(TEMPLATES[name].read_text()))
    for argv in found:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{name}: promgate {shlex.join(argv)} does not parse (exit {exc.code})")
        assert args.command == "check"
        # Every report the templates publish is written by the gate.
        assert args.json and args.junit and args.markdown and args.html, argv


_LOCUST_PARSE = textwrap.dedent(
    """
    import json, sys
    import locust_prometheus  # noqa: F401 - registers the exporter's options
    from locust.argument_parser import get_parser

    out = []
    for argv in json.load(sys.stdin):
        parser = get_parser(default_config_files=[])
        try:
            ns = parser.parse_args(argv)
            out.append({"ok": True, "args": {k: str(v) for k, v in vars(ns).items()}})
        except SystemExit as exc:
            out.append({"ok": False, "error": str(exc.code)})
    print(json.dumps(out))
    """
)


def _parse_locust(argvs: list[list[str]]) -> list[dict[str, Any]]:
    # A child process: importing locust monkey-patches the standard library with gevent.
    result = subprocess.run(
        [sys.executable, "-c", _LOCUST_PARSE],
        input=json.dumps(argvs),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_locust_commands_parse_with_the_exporter_options() -> None:
    pytest.importorskip("locust")
    argvs: list[tuple[str, list[str]]] = []
    for name, path in TEMPLATES.items():
        found = commands(path, "locust")
        assert found, f"no locust command in {name}"
        argvs += [(name, argv) for argv in found]
    # A misspelt option must fail, or the check proves nothing.
    argvs.append(("negative control", ["--headless", "--prometheus-pushgatway", "x"]))
    results = _parse_locust([argv for _, argv in argvs])
    *real, control = results
    assert control["ok"] is False
    for (name, argv), result in zip(argvs, real, strict=False):
        assert result["ok"], f"{name}: locust {shlex.join(argv)}: {result}"
        args = result["args"]
        assert args["headless"] == "True" and args["prometheus_pushgateway"] == PLACEHOLDER
        assert args["prometheus_run_id"] == PLACEHOLDER
        assert (ROOT / args["locustfile"]).is_file()


def test_github_workflow() -> None:
    wf = yaml.safe_load(TEMPLATES["github"].read_text())
    triggers = wf[True]  # YAML 1.1 reads the key `on` as true
    assert {"workflow_dispatch", "schedule", "pull_request"} <= set(triggers)
    assert {"users", "duration", "environment"} <= set(triggers["workflow_dispatch"]["inputs"])
    assert triggers["schedule"][0]["cron"] == "0 2 * * 0"
    (job,) = wf["jobs"].values()
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    script = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/github-script"))
    assert "results/gate.md" in script["with"]["script"]
    assert "pull_request" in script["if"]
    assert "pull-requests" in wf["permissions"]


def test_jenkinsfile() -> None:
    text = TEMPLATES["jenkins"].read_text()
    for needle in (
        "parameters {",
        "junit ",
        "publishHTML(",
        "returnStatus: true",
        "'results/gate-junit.xml'",
    ):
        assert needle in text


def test_azure_pipeline_publishes_the_gate_junit() -> None:
    pipeline = yaml.safe_load(TEMPLATES["azure"].read_text())
    steps = pipeline["stages"][0]["jobs"][0]["steps"]
    publish = next(s for s in steps if s.get("task") == "PublishTestResults@2")
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    (gate,) = commands(TEMPLATES["azure"], "promgate")[:1]
    assert gate[gate.index("--junit") + 1] == publish["inputs"]["testResultsFiles"]
    assert {p["name"] for p in pipeline["parameters"]} >= {"environment", "users", "duration"}

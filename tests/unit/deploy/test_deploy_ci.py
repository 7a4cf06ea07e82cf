"""CI templates (deploy/ci/) and the composite action (action.yml), read statically: what a
stranger's repository cannot provide is never used, parameters never reach a script as text,
and each template says what each exit code means. tests/integration/test_ci_templates.py runs them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CI = ROOT / "deploy" / "ci"
ACTION = ROOT / "action.yml"
TEMPLATES = {
    "github": CI / "github-actions.yml",
    "gitlab": CI / "gitlab-ci.yml",
    "jenkins": CI / "Jenkinsfile",
    "azure": CI / "azure-pipelines.yml",
}
# The gate's exit codes, as docs/gate.md lists them; each template names every one.
EXIT_WORDS = {"1": "failed checks", "2": "configuration", "3": "Prometheus", "4": "bug in promgate"}
_SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40} # v\d+(\.\d+)*$")


def _exit_messages(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s*([0-9])\) (.*?) ;;$", text, re.M)}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_no_path_of_this_repository(name: str) -> None:
    text = TEMPLATES[name].read_text()
    for needle in ("examples/", "deploy/", "grafana/", '".[locust]"', "pip install .", "-e ."):
        assert needle not in text, f"{name} uses {needle!r}, which a stranger's repository lacks"
    # ...and with the aws extra when the SigV4 region is set (Amazon Managed Prometheus).
    install = r'promgate\[locust(\$\{[A-Z0-9_]+:\+,aws\})?\]==\$PROMGATE_VERSION"'
    assert re.search(install, text), "install promgate by name and version"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_sigv4_region_reaches_the_exporter_and_the_gate(name: str) -> None:
    """PROMETHEUS_SIGV4_REGION: botocore installed, the exporter and the gate told, so both
    sign for Amazon Managed Prometheus; unset, each gets an empty value (off)."""
    text = TEMPLATES[name].read_text()
    assert re.search(r"promgate\[locust\$\{[A-Z0-9_]*SIGV4_REGION:\+,aws\}\]==", text)
    for variable in ("LOCUST_PROMETHEUS_SIGV4_REGION", "PROMGATE_PROMETHEUS_SIGV4_REGION"):
        assert variable in text, f"{name} does not set {variable}"


# The GitHub workflow ends with the action's verdict step.
@pytest.mark.parametrize("name", ["action", "gitlab", "jenkins", "azure"])
def test_exit_codes_have_distinct_messages(name: str) -> None:
    path = ACTION if name == "action" else TEMPLATES[name]
    messages = _exit_messages(path.read_text())
    assert {"0", "1", "2", "3", "4"} <= set(messages), messages
    assert len({messages[c] for c in "1234"}) == 4
    for code, word in EXIT_WORDS.items():
        assert word in messages[code] and f"exit {code}" in messages[code], messages[code]


def _compose_images() -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    return {s["image"].split(":")[0]: s["image"] for s in compose["services"].values()}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_prometheus_and_pushgateway_are_pinned_like_compose(name: str) -> None:
    text = TEMPLATES[name].read_text()
    images = _compose_images()
    for repo in ("prom/prometheus", "prom/pushgateway"):
        used = set(re.findall(rf"{repo}:[\w.-]+", text))
        assert used == {images[repo]}, f"{name}: {used} (docker-compose.yml: {images[repo]})"


def _run_scripts(doc: Any) -> list[str]:
    """Every ``run:`` of a workflow or a composite action."""
    steps = [s for job in doc.get("jobs", {}).values() for s in job["steps"]]
    steps += doc.get("runs", {}).get("steps", [])
    return [s["run"] for s in steps if "run" in s]


@pytest.mark.parametrize("path", [TEMPLATES["github"], ACTION], ids=["workflow", "action"])
def test_github_hardening(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    for script in _run_scripts(doc):
        assert "${{" not in script, f"an expression inside a script (use env:): {script[:80]}"
    uses = re.findall(r"^[ \t-]*uses: (\S+.*)$", path.read_text(), re.M)
    assert uses
    for ref in uses:
        assert _SHA_PIN.match(ref), f"not pinned to a commit with its version: {ref}"


def test_github_workflow() -> None:
    wf = yaml.safe_load(TEMPLATES["github"].read_text())
    assert wf["permissions"] == {}
    (job,) = wf["jobs"].values()
    assert job["permissions"]["contents"] == "read"
    assert set(job["permissions"]) <= {"contents", "pull-requests"}
    steps = {s.get("name") or s["uses"].split("@")[0]: s for s in job["steps"]}
    assert steps["actions/checkout"]["with"]["persist-credentials"] is False
    gate = steps["Judge the run"]
    assert gate["uses"].startswith("promgate/promgate@")
    assert {"config", "run-id", "prometheus", "baseline-run", "strict", "version"} <= set(
        gate["with"]
    )
    assert steps["Upload the reports"]["if"] == "always()"
    # One job summary: the gate writes it; no step of the workflow appends another.
    assert "GITHUB_STEP_SUMMARY" not in TEMPLATES["github"].read_text()
    assert "GITHUB_STEP_SUMMARY" not in ACTION.read_text()


def test_the_workflow_pins_the_current_action() -> None:
    """The template's ``promgate/promgate@<sha>`` is the last commit that changed action.yml."""
    git = shutil.which("git")
    if not git or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    last = subprocess.run(
        [git, "log", "-1", "--format=%H", "--", "action.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        [git, "diff", "--quiet", "HEAD", "--", "action.yml"], cwd=ROOT, check=False
    ).returncode
    if not last or dirty:
        pytest.skip("action.yml has uncommitted changes: pin after committing them")
    assert f"promgate/promgate@{last} " in TEMPLATES["github"].read_text()


def test_action_inputs_and_outputs() -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert {"config", "run-id", "prometheus", "baseline-run", "strict", "version"} <= set(
        action["inputs"]
    )
    assert {"exit-code", "json", "junit", "markdown", "html"} <= set(action["outputs"])
    steps = {s.get("name"): s for s in action["runs"]["steps"]}
    comment = steps["Comment on the pull request"]
    # A fork's pull request: skipped; any other failure: a warning, never a red job.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert "catch (error)" in comment["with"]["script"]
    # The default branch's last good result: restored always, saved only by a passing run there.
    assert {"baseline", "baseline-history", "baseline-key", "default-branch"} <= set(
        action["inputs"]
    )
    assert action["inputs"]["baseline"]["default"] == "default-branch"
    restore = steps["Restore the default branch's last good result"]
    assert restore["uses"].startswith("actions/cache/restore@")
    keep = steps["Keep this result as the default branch's baseline"]
    assert "steps.check.outputs.exit-code == '0'" in keep["if"]
    assert "github.ref == format('refs/heads/{0}', inputs.default-branch)" in keep["if"]
    assert steps["Save the baseline for the next runs"]["uses"].startswith("actions/cache/save@")


def test_jenkinsfile() -> None:
    text = TEMPLATES["jenkins"].read_text()
    assert "junit allowEmptyResults: true" in text
    # Shell steps are ''' strings: Groovy pastes nothing; parameters are quoted shell variables.
    assert re.findall(r"\bsh\b[^\n]*script: (\S{3})", text) == ["'''"] * text.count("script: ")
    assert '"""' not in text
    assert '"$testplan"' in text and '"$TARGET_HOST"' in text
    # The default branch's last successful build holds the baseline.
    assert "selector: lastSuccessful()" in text and "copyArtifactPermission" in text
    # One compose project per build: concurrent jobs on one agent never share containers.
    assert re.search(r"project=.*\$BUILD_TAG", text)
    for report in ("gate.html", "results/**"):
        assert report in text


def test_azure_pipeline() -> None:
    pipeline = yaml.safe_load(TEMPLATES["azure"].read_text())
    (job,) = pipeline["jobs"]
    for step in job["steps"]:
        assert "${{" not in step.get("script", ""), "parameters go through variables"
    publish = next(s for s in job["steps"] if s.get("task") == "PublishTestResults@2")
    assert publish["inputs"]["testResultsFiles"] == "results/gate-junit.xml"
    assert publish["inputs"]["failTaskOnFailedTests"] is False  # the gate's step decides
    names = {p["name"] for p in pipeline["parameters"]}
    assert {"targetHost", "locustfile", "gateConfig", "promgateVersion"} <= names


class _GitlabLoader(yaml.SafeLoader):
    """GitLab's YAML: ``!reference [job, key]`` read as the list it names."""


_GitlabLoader.add_constructor(
    "!reference",
    lambda loader, node: loader.construct_sequence(node),  # type: ignore[arg-type]
)


def test_gitlab_ci() -> None:
    doc = yaml.load(TEMPLATES["gitlab"].read_text(), Loader=_GitlabLoader)
    services = doc["load-test"]
    assert {s["alias"] for s in services["services"]} == {"prometheus", "pushgateway"}
    assert services["variables"]["FF_NETWORK_PER_BUILD"] == "true"
    # Existing servers: the same job without services (they need Docker).
    assert "services" not in doc["load-test-existing-servers"]
    job = doc[".promgate-load-test"]
    baseline = next(c for c in job["cache"] if c["key"] == "promgate-baseline")
    # Saved whatever the job's status (a warning is an allowed failure): the script adds a
    # result only when the gate passed or warned, so a failed gate never becomes the baseline.
    assert baseline["unprotect"] is True and baseline["when"] == "always"
    assert job["allow_failure"] == {
        "exit_codes": [int(job["variables"]["PROMGATE_WARNING_EXIT_CODE"])]
    }
    assert baseline["policy"] == "$PROMGATE_BASELINE_CACHE"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "results/gate-junit.xml"
    for key in ("LOCUSTFILE", "PROMGATE_CONFIG", "TARGET_HOST", "PROMGATE_VERSION"):
        assert key in job["variables"]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_remote_write_instead_of_a_pushgateway(name: str) -> None:
    text = TEMPLATES[name].read_text()
    assert "--prometheus-remote-write" in text and "--prometheus-header" in text
    # Credentials reach the exporter as its variables, never on a command line (ps shows those).
    assert "--prometheus-basic-auth" not in text
    assert "LOCUST_PROMETHEUS_BASIC_AUTH_PASSWORD" in text
    # The verdicts go where the metrics went: by remote write when its URL is given, else to
    # the Pushgateway when there is one.
    if name == "github":
        assert "pushgateway: ${{ env.PUSHGATEWAY_URL }}" in text
        assert "remote-write: ${{ env.REMOTE_WRITE_URL }}" in text
    else:
        assert re.search(
            r'if \[ -n "\$\{?(PROMETHEUS_)?REMOTE_WRITE_URL(:-)?\}?" \]; then\s+'
            r'(args\+=\(|set -- "\$@" )--remote-write-results "\$(PROMETHEUS_)?REMOTE_WRITE_URL"\)?'
            r'\s+elif \[ -n "\$\{?PUSHGATEWAY_URL(:-)?\}?" \]; then\s+'
            r'(args\+=\(|set -- "\$@" )--push-results',
            text,
        ), name
    action = ACTION.read_text()
    assert re.search(
        r'if \[ -n "\$REMOTE_WRITE" \]; then\s+args\+=\(--remote-write-results "\$REMOTE_WRITE"\)'
        r'\s+elif \[ -n "\$PUSHGATEWAY" \]',
        action,
    )

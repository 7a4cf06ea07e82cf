"""The stranger test: promgate as someone else's repository meets it, for the templates no real
runner exists for here (Azure Pipelines, Jenkins; GitHub's and GitLab's run under act and
gitlab-ci-local: test_ci_templates_act.py, test_ci_templates_gitlab.py).

The wheel is built from this repository and installed into a fresh virtualenv outside it. Each
template is copied into a repository that holds only a locustfile (plain Locust) and a gate
config, and its steps run in order (tests/ci_steps.py). Only the start of Prometheus and the
Pushgateway is replaced (by the local stack, handed to the template as existing servers) and the
target host is the demo API. pip installs "promgate[locust]==<version>" by name from a local
index holding the wheel (PyPI's stand-in): nothing of this repository is on a path. Each
template runs three times, as tests/ci_stranger.py says: the default branch passes and keeps its
result, a pull request against a slowed endpoint fails against it, an unchanged one passes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest
from ci_steps import AzureRun, Job, run_azure, run_jenkins
from ci_stranger import (
    CI,
    LOAD,
    ROOT,
    Package,
    assert_pass,
    assert_regressed,
    build_package,
    run,
    serve,
    stranger_repo,
)
from localstack import LocalStack
from support import DemoApi

pytestmark = pytest.mark.integration

START = "Start Prometheus and Pushgateway"
REPORTS = {"gate.json", "gate-junit.xml", "gate.md", "gate.html"}
GATE_PASSED = "promgate: passed"
GATE_FAILED = "failed checks, or an unknown or unfinished run (exit 1"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return build_package(tmp_path_factory.mktemp("stranger-package"))


def test_the_package_stands_alone(package: Package, tmp_path: Path) -> None:
    wheel = next(package.dist.glob("*.whl"))
    sdist = next(package.dist.glob("*.tar.gz"))
    with zipfile.ZipFile(wheel) as zf:
        assert f"promgate-{package.version}.dist-info/licenses/LICENSE" in zf.namelist()
    with tarfile.open(sdist) as tf:
        assert f"promgate-{package.version}/LICENSE" in tf.getnames()
    py = str(package.python_bin / "python")
    env = {**package.env, "PATH": f"{package.python_bin}{os.pathsep}{package.env['PATH']}"}
    for argv in (["promgate", "--version"], [py, "-m", "promgate", "--version"]):
        out = run(argv, env=env, cwd=tmp_path).stdout
        assert out.strip() == f"promgate {package.version}", argv
    where = run(
        [
            py,
            "-c",
            "import locust_prometheus, promgate; print(locust_prometheus.__file__); "
            "print(promgate.__file__); print(locust_prometheus.__version__)",
        ],
        env=env,
        cwd=tmp_path,
    ).stdout.split()
    assert all(str(package.python_bin.parent) in p and str(ROOT) not in p for p in where[:2])
    assert where[2] == package.version


def _reports(job: Job, artifacts: Path, passing: bool) -> None:
    out = job.output()
    assert job.replaced, f"the step {START!r} was not found\n{out}"
    assert job.code == (0 if passing else 1), out
    assert (GATE_PASSED if passing else GATE_FAILED) in out, out
    assert {p.name for p in artifacts.iterdir()} >= REPORTS, out
    # Whatever the HTML report loads beside it (its stylesheet) is uploaded with it.
    for ref in re.findall(r'<link[^>]+href="([^":/]+)"', (artifacts / "gate.html").read_text()):
        assert (artifacts / ref).is_file(), f"gate.html needs {ref}, not uploaded"


def test_azure_pipelines_compares_with_the_default_branch(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    parameters = {
        "targetHost": demo_api.url,
        "promgateVersion": package.version,
        "prometheusUrl": stack.prometheus_url,
        "pushgatewayUrl": stack.pushgateway_url,
        "users": int(LOAD["USERS"]),
        "spawnRate": int(LOAD["SPAWN_RATE"]),
        "duration": LOAD["DURATION"],
    }
    earlier: list[AzureRun] = []

    def pipeline(build: int, branch: str) -> tuple[Job, Path]:
        """One run on a fresh agent: a new checkout, a new temp directory."""
        root = tmp_path / f"run-{build}"
        repo = stranger_repo(root, "azure-pipelines.yml", "azure-pipelines.yml")
        (root / "agent-temp").mkdir()
        predefined = {
            "Build.BuildId": str(build),
            "System.JobAttempt": "1",
            "System.TeamProjectId": "stranger",
            "System.DefinitionId": "1",
            "Agent.TempDirectory": str(root / "agent-temp"),
            "Build.SourcesDirectory": str(repo),
            "Build.SourceBranch": branch,
            "Build.DefinitionName": "stranger app",
            "Build.SourceVersion": "abc123",
        }
        env = {**package.env, "TF_BUILD": "True"}
        job = run_azure(
            repo / "azure-pipelines.yml",
            Job(repo, env, {START}),
            parameters,
            predefined,
            package.python_bin,
            earlier,
        )
        earlier.append(AzureRun(branch, job.result, job.artifacts))
        return job, job.artifacts / f"promgate-azure-{build}-1"

    # 1. The default branch: no earlier run, so the download warns and the run partially
    # succeeds; the gate passes and the result is published as the baseline.
    serve(demo_api)
    job, reports = pipeline(9001, "refs/heads/main")
    _reports(job, reports, passing=True)
    assert job.result == "partiallySucceeded", job.output()
    assert_pass(reports, "azure-9001-1", job.output())
    assert (job.artifacts / "promgate-baseline" / "azure-9001-1.json").is_file(), job.output()
    assert (job.artifacts / "test-results" / "results" / "gate-junit.xml").is_file()
    (summary,) = job.summaries  # one summary on the run's page
    assert "latency regression" in summary

    # 2. A pull request against a server whose busiest endpoint is 50 % slower: fails on it,
    # against run 1, and publishes no baseline.
    serve(demo_api, slow=True)
    job, reports = pipeline(9002, "refs/pull/7/merge")
    _reports(job, reports, passing=False)
    assert_regressed(reports, "azure-9002-1", "azure-9001-1", job.output())
    assert not (job.artifacts / "promgate-baseline").exists(), job.output()

    # 3. The unchanged server: passes, against run 1 again.
    serve(demo_api)
    job, reports = pipeline(9003, "refs/pull/7/merge")
    _reports(job, reports, passing=True)
    assert job.result == "succeeded", job.output()
    result = assert_pass(reports, "azure-9003-1", job.output())
    assert "azure-9001-1" in json.dumps(result["baseline"]), result["baseline"]


def test_jenkins_compares_with_the_default_branch(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    # A multibranch project "load test" (a name with a space, so is the workspace's path): the
    # default branch's job and a pull request's, each with its own workspace, as on an agent.
    jobs = tmp_path / "jenkins-jobs"
    params = {
        "TARGET_HOST": demo_api.url,
        "PROMGATE_VERSION": package.version,
        "PROMETHEUS_URL": stack.prometheus_url,
        "PUSHGATEWAY_URL": stack.pushgateway_url,
        **LOAD,
    }

    def build(branch: str, number: int, change: str = "") -> tuple[Job, str]:
        # One workspace per branch job, kept from build to build as Jenkins keeps it.
        root = tmp_path / branch
        repo = root / "repo"
        if not repo.exists():
            stranger_repo(root, "Jenkinsfile", "Jenkinsfile")
        shutil.rmtree(root / "artifacts", ignore_errors=True)  # this build's uploads only
        tag = f"jenkins-load test-{branch}-{number}"
        jenkins_env = {
            "JOB_NAME": f"load test/{branch}",
            "BRANCH_NAME": branch,
            "BUILD_NUMBER": str(number),
            "BUILD_TAG": tag,
            "JENKINS_URL": "http://jenkins.invalid/",
            "GIT_COMMIT": "abc123",
            **({"CHANGE_ID": change, "CHANGE_TARGET": "main"} if change else {}),
        }
        job = run_jenkins(
            repo / "Jenkinsfile", Job(repo, package.env, {START}), params, jenkins_env, jobs
        )
        return job, tag

    # 1. The default branch: passes and archives its result as the baseline.
    serve(demo_api)
    job, first = build("main", 1)
    reports = job.artifacts / "archive" / "results"
    _reports(job, reports, passing=True)
    assert_pass(reports, first, job.output())
    # The run id as a file name: the job name's space replaced.
    baseline = job.artifacts / "archive" / ".promgate-baseline" / "jenkins-load_test-main-1.json"
    assert baseline.is_file(), job.output()

    # 2. A pull request's build against a slowed busiest endpoint: fails on it, against run 1.
    serve(demo_api, slow=True)
    job, tag = build("PR-7", 1, change="7")
    reports = job.artifacts / "archive" / "results"
    _reports(job, reports, passing=False)
    assert_regressed(reports, tag, first, job.output())
    # It archives the baseline it read, never its own result.
    kept = job.artifacts / "archive" / ".promgate-baseline"
    assert [p.name for p in kept.iterdir()] == [baseline.name], job.output()

    # 3. The pull request's next build against the unchanged server passes, against run 1.
    serve(demo_api)
    job, tag = build("PR-7", 2, change="7")
    reports = job.artifacts / "archive" / "results"
    _reports(job, reports, passing=True)
    result = assert_pass(reports, tag, job.output())
    assert first in json.dumps(result["baseline"]), result["baseline"]


def test_zizmor_finds_nothing_high(tmp_path: Path) -> None:
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    files = [str(CI / "github-actions.yml"), str(ROOT / "action.yml")]
    proc = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--min-severity", "low", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(proc.stdout or "[]")
    assert findings == [], textwrap.shorten(proc.stdout, 2000)
    assert proc.returncode == 0, proc.stderr

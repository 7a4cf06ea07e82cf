"""The stranger test: promgate as someone else's repository meets it.

The wheel is built from this repository and installed into a fresh virtualenv outside it. Each CI
template of deploy/ci/ is copied into a temporary repository that holds only a locustfile (plain
Locust) and gate configs, and its shell steps run in order (tests/ci_steps.py). Only the start of
Prometheus and the Pushgateway is replaced (by the local stack, handed to the template as existing
servers) and the target host is the demo API. pip installs "promgate[locust]==<version>" by name
from a local index holding the wheel (PyPI's stand-in): nothing of this repository is on a path.
Each template runs twice, passing and failing: the job's status follows the gate's exit code and
the reports land where the template uploads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib
from ci_steps import Job, run_azure, run_github, run_gitlab, run_jenkins
from localstack import LocalStack
from support import DemoApi

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "deploy" / "ci"
START = "Start Prometheus and Pushgateway"
REPORTS = {"gate.json", "gate-junit.xml", "gate.md", "gate.html"}
LOCUSTFILE = """\
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task
    def courses(self):
        self.client.get("/courses")
"""
PASSING = """\
checks:
  - name: p95
    preset: p95
    critical: "> 10s"
  - name: error_rate
    preset: error_rate
    critical: "> 50%"
"""
# Nothing real serves a million requests a second: the gate must fail.
FAILING = PASSING + '  - name: rps\n    preset: rps\n    critical: "< 1000000"\n'
LOAD = {"USERS": "2", "SPAWN_RATE": "2", "DURATION": "3s"}


def _version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        attr = tomllib.load(fh)["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attr.rpartition(".")
    path = ROOT / "exporter" / Path(*module.split(".")).with_suffix(".py")
    scope: dict[str, str] = {}
    exec(path.read_text(), scope)
    return scope[name]


@dataclass(frozen=True)
class Package:
    version: str
    dist: Path
    python_bin: Path  # a fresh virtualenv's bin, outside the repository
    env: dict[str, str]  # a clean environment: pip resolves from the local index only


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"
    return proc  # type: ignore[no-any-return]


def _wheelhouse(dist: Path) -> Path:
    """promgate's dependencies and pip as wheels, downloaded once per set of requirements from
    the configured index and kept in the user's cache (pip's own cache still asks the index)."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        meta = tomllib.load(fh)["project"]
    wanted = json.dumps([meta["dependencies"], meta["optional-dependencies"], sys.version_info[:2]])
    key = hashlib.sha256(wanted.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    house = cache / "promgate-tests" / f"wheelhouse-{key}"
    if not (house / ".complete").exists():
        spec = f"promgate[locust]=={_version()}"
        argv = [sys.executable, "-m", "pip", "download", "-q", "-d", str(house)]
        _run([*argv, "--find-links", str(dist), "pip", spec])
        for own in house.glob("promgate-*"):
            own.unlink()  # this session's build is in dist
        (house / ".complete").write_text(wanted)
    return house


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """Build sdist and wheel once, and install the wheel by name into a fresh virtualenv."""
    root = tmp_path_factory.mktemp("stranger-package")
    dist = root / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "-o", str(dist), str(ROOT)])
    wheelhouse = _wheelhouse(dist)
    dev_bins = {str(Path(sys.executable).parent), str(ROOT / ".venv" / "bin")}
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p not in dev_bins)
    env = {
        "PATH": path,
        "HOME": os.environ.get("HOME", str(root)),
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{dist} {wheelhouse}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # Byte-compiling all of Locust's dependencies per install is most of an install's time;
        # Python compiles what it imports anyway.
        "PIP_NO_COMPILE": "1",
        # The local stack scrapes every second: the exporter need not wait 30 s for a scrape
        # before deleting its group (an option a template's user may set the same way).
        "LOCUST_PROMETHEUS_LINGER": "2",
    }
    # A venv without ensurepip's copy of pip (the slow part), given pip from the wheelhouse.
    venv = root / "venv"
    _run(["python3", "-m", "venv", "--without-pip", str(venv)], env=env)
    py = str(venv / "bin" / "python")
    spec = f"promgate[locust]=={_version()}"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "-q", "pip", spec], env=env)
    return Package(_version(), dist, venv / "bin", env)


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
        out = _run(argv, env=env, cwd=tmp_path).stdout
        assert out.strip() == f"promgate {package.version}", argv
    where = _run(
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


GRAFANA = "https://grafana.example.com"
GATE_PASSED = "promgate: passed"
GATE_FAILED = "failed checks, or an unknown or unfinished run (exit 1"
#: The five settings every template takes, under its own names: target host, promgate version,
#: gate config, Prometheus URL, Pushgateway URL.
GITHUB_KEYS = GITLAB_KEYS = (
    "LOAD_TEST_HOST PROMGATE_VERSION PROMGATE_CONFIG PROMETHEUS_URL PUSHGATEWAY_URL"
)
JENKINS_KEYS = "TARGET_HOST PROMGATE_VERSION PROMGATE_CONFIG PROMETHEUS_URL PUSHGATEWAY_URL"
AZURE_KEYS = "targetHost promgateVersion gateConfig prometheusUrl pushgatewayUrl"


@dataclass(frozen=True)
class Stranger:
    """What each template's run needs: the installed package, the servers and the target host."""

    package: Package
    stack: LocalStack
    target: str
    tmp_path: Path

    def repo(self, ci_file: str, dest: str, name: str = "repo") -> Path:
        """A repository with a locustfile, two gate configs and one CI file from deploy/ci/."""
        repo = self.tmp_path / name
        repo.mkdir()
        (repo / "locustfile.py").write_text(LOCUSTFILE)
        (repo / "gate.yaml").write_text(PASSING)
        (repo / "gate-fail.yaml").write_text(FAILING)
        (repo / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CI / ci_file, repo / dest)
        return repo

    def settings(self, keys: str, passing: bool) -> dict[str, str]:
        """The template's five settings (``keys``: its names for them) for a passing or a
        failing gate."""
        values = (
            self.target,
            self.package.version,
            "gate.yaml" if passing else "gate-fail.yaml",
            self.stack.prometheus_url,
            self.stack.pushgateway_url,
        )
        return dict(zip(keys.split(), values, strict=True))


@pytest.fixture()
def stranger(package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path) -> Stranger:
    demo_api.configure(latency_ms=2, jitter_ms=3, error_rate=0.0, routes={})
    return Stranger(package, stack, demo_api.url, tmp_path)


def _check(job: Job, artifacts: Path, run_id: str, passing: bool) -> None:
    out = job.output()
    assert job.replaced, f"the step {START!r} (or the services) was not found\n{out}"
    assert job.code == (0 if passing else 1), out
    assert (GATE_PASSED if passing else GATE_FAILED) in out, out
    assert {p.name for p in artifacts.iterdir()} >= REPORTS, out
    # Whatever the HTML report loads beside it (its stylesheet) is uploaded with it.
    for ref in re.findall(r'<link[^>]+href="([^":/]+)"', (artifacts / "gate.html").read_text()):
        assert (artifacts / ref).is_file(), f"gate.html needs {ref}, not uploaded"
    result = json.loads((artifacts / "gate.json").read_text())
    assert result["run"]["run_id"] == run_id
    assert result["exit_code"] == (0 if passing else 1)
    assert result["verdict"] == ("pass" if passing else "fail")


@pytest.mark.parametrize("passing", [True, False], ids=["pass", "fail"])
def test_github_actions(stranger: Stranger, passing: bool) -> None:
    repo = stranger.repo("github-actions.yml", ".github/workflows/load-test.yml")
    run_no = "7001" if passing else "7002"
    # Failing: a pull request from a fork, whose token is read-only; the comment is skipped and
    # the job's result is the gate's alone.
    event = (
        {"event_name": "workflow_dispatch", "event": {}}
        if passing
        else {
            "event_name": "pull_request",
            "event": {"pull_request": {"head": {"repo": {"full_name": "forker/app"}}}},
        }
    )
    github = {
        "run_id": run_no,
        "run_attempt": "1",
        "repository": "stranger/app",
        "token": "x",
        "ref": "refs/heads/main",
        "workflow": "Load test",
        "sha": "abc123",
        **event,
    }
    variables = {
        **stranger.settings(GITHUB_KEYS, passing),
        "LOAD_TEST_USERS": LOAD["USERS"],
        "LOAD_TEST_SPAWN_RATE": LOAD["SPAWN_RATE"],
        "LOAD_TEST_DURATION": LOAD["DURATION"],
        "PROMGATE_GRAFANA_URL": GRAFANA,
    }
    base_env = {
        **stranger.package.env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": run_no,
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "Load test",
        "GITHUB_SHA": "abc123",
        "GITHUB_EVENT_NAME": github["event_name"],
        "CI": "true",
    }
    job = run_github(
        repo / ".github/workflows/load-test.yml",
        Job(repo, base_env, {START}),
        {"github": github, "vars": variables, "inputs": {}},
        {"promgate/promgate": ROOT / "action.yml"},
        stranger.package.python_bin,
    )
    run_id = f"gh-{run_no}-1"
    artifacts = job.artifacts / f"promgate-{run_id}"
    _check(job, artifacts, run_id, passing)
    # One job summary: the gate's own, not a second copy from the workflow.
    (summary,) = job.summaries
    first_line = summary.strip().splitlines()[0]
    assert summary.count(first_line) == 1, summary
    # The Grafana link, set once as a variable, reaches every report.
    link = json.loads((artifacts / "gate.json").read_text())["dashboard_url"]
    assert link.startswith(f"{GRAFANA}/d/promgate-locust-run?var-run_id={run_id}&from=")
    assert f"dashboard: {link}" in job.ran("Judge the run").output
    assert link in summary and link in (artifacts / "gate.md").read_text()
    assert link.replace("&", "&amp;") in (artifacts / "gate.html").read_text()
    comment = next(s for s in job.steps if s.name == "Comment on the pull request")
    assert comment.code is None  # a fork's pull request, a dispatch: no comment


@pytest.mark.parametrize("passing", [True, False], ids=["pass", "fail"])
def test_gitlab_ci(stranger: Stranger, passing: bool) -> None:
    repo = stranger.repo("gitlab-ci.yml", ".gitlab-ci.yml")
    pipeline = "8001" if passing else "8002"
    variables = {**stranger.settings(GITLAB_KEYS, passing), **LOAD}
    base_env = {
        **stranger.package.env,
        "GITLAB_CI": "true",
        "CI_PIPELINE_ID": pipeline,
        "CI_JOB_ID": "5",
        "CI_PROJECT_PATH": "stranger/app",
        "CI_COMMIT_SHA": "abc123",
    }
    job = run_gitlab(
        repo / ".gitlab-ci.yml",
        Job(repo, base_env, {"services"}),
        variables,
        stranger.package.python_bin,
    )
    _check(job, job.artifacts / "load-test" / "results", f"gl-{pipeline}-5", passing)


@pytest.mark.parametrize("passing", [True, False], ids=["pass", "fail"])
def test_azure_pipelines(stranger: Stranger, passing: bool) -> None:
    repo = stranger.repo("azure-pipelines.yml", "azure-pipelines.yml")
    build = "9001" if passing else "9002"
    parameters = {
        **stranger.settings(AZURE_KEYS, passing),
        "users": 2,
        "spawnRate": 2,
        "duration": LOAD["DURATION"],
    }
    temp = stranger.tmp_path / "agent-temp"
    temp.mkdir()
    predefined = {
        "Build.BuildId": build,
        "System.JobAttempt": "1",
        "Agent.TempDirectory": str(temp),
        "Build.DefinitionName": "stranger app",
        "Build.SourceVersion": "abc123",
    }
    job = run_azure(
        repo / "azure-pipelines.yml",
        Job(repo, {**stranger.package.env, "TF_BUILD": "True"}, {START}),
        parameters,
        predefined,
        stranger.package.python_bin,
    )
    run_id = f"azure-{build}-1"
    _check(job, job.artifacts / f"promgate-{run_id}", run_id, passing)
    assert (job.artifacts / "test-results" / "results" / "gate-junit.xml").is_file()
    (summary,) = job.summaries  # one summary on the run's page
    assert "p95" in summary


def test_jenkins(stranger: Stranger) -> None:
    # One workspace, two builds, as on an agent: a job name with spaces (so is the workspace's
    # path), then a failing gate.
    repo = stranger.repo("Jenkinsfile", "Jenkinsfile", name="load test")
    for build, passing in (("1", True), ("2", False)):
        shutil.rmtree(stranger.tmp_path / "artifacts", ignore_errors=True)
        shutil.rmtree(repo / "results", ignore_errors=True)
        params = {**stranger.settings(JENKINS_KEYS, passing), **LOAD}
        tag = f"jenkins-load test-{build}"
        jenkins_env = {
            "JOB_NAME": "load test",
            "BUILD_NUMBER": build,
            "BUILD_TAG": tag,
            "JENKINS_URL": "http://jenkins.invalid/",
            "GIT_COMMIT": "abc123",
        }
        job = run_jenkins(
            repo / "Jenkinsfile", Job(repo, stranger.package.env, {START}), params, jenkins_env
        )
        _check(job, job.artifacts / "archive" / "results", tag, passing)


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

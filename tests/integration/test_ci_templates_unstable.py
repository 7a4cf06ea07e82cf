"""A run with one warning through the CI templates, run as the other CI-template tests run them:
Jenkins's build ends UNSTABLE (tests/ci_steps.py's runner) and GitLab's job is an allowed
failure under gitlab-ci-local; the warning run still becomes the default branch's baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ci_steps import Job, run_jenkins
from ci_stranger import LOAD, Package, build_package, git, serve, stranger_repo
from localstack import LocalStack
from support import DemoApi
from test_ci_templates_gitlab import GitlabRunner

pytestmark = pytest.mark.integration

#: one warning, nothing critical: the verdict is warning
WARNING = """\
checks:
  - name: requests
    preset: requests_total
    critical: "< 1"
    warning: "> 0"
"""
#: the code the templates give a warning (PROMGATE_WARNING_EXIT_CODE, GitLab's allow_failure)
CODE = 10


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return build_package(tmp_path_factory.mktemp("stranger-package-unstable"))


def _warning_repo(root: Path, template: str, dest: str) -> Path:
    repo = stranger_repo(root, template, dest)
    (repo / "gate.yaml").write_text(WARNING)
    git(repo, "commit", "-q", "-am", "a gate that warns")
    return repo


def _warned(results: Path, log: str) -> dict[str, object]:
    result = json.loads((results / "gate.json").read_text())
    assert (result["verdict"], result["exit_code"]) == ("warning", CODE), log
    return dict(result)


def test_jenkins_build_with_a_warning_is_unstable(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    repo = _warning_repo(tmp_path, "Jenkinsfile", "Jenkinsfile")
    jobs = tmp_path / "jenkins-jobs"
    params = {
        "TARGET_HOST": demo_api.url,
        "PROMGATE_VERSION": package.version,
        "PROMETHEUS_URL": stack.prometheus_url,
        "PUSHGATEWAY_URL": stack.pushgateway_url,
        **LOAD,
    }
    jenkins_env = {
        "JOB_NAME": "load test",
        "BUILD_NUMBER": "1",
        "BUILD_TAG": "jenkins-load test-1",
        "JENKINS_URL": "http://jenkins.invalid/",
        "GIT_COMMIT": "abc123",
        "GIT_BRANCH": "origin/main",
    }
    serve(demo_api)
    start = {"Start Prometheus and Pushgateway"}
    job = run_jenkins(
        repo / "Jenkinsfile", Job(repo, package.env, start), params, jenkins_env, jobs
    )
    log = job.output()
    assert not job.failed, log
    assert (jobs / "load test" / "1" / "result").read_text() == "UNSTABLE", log
    assert "promgate: passed with warnings" in job.ran("Judge the run").output
    _warned(job.artifacts / "archive" / "results", log)
    # A warning run is a good run: the next builds compare with it (lastSuccessful: UNSTABLE too).
    assert list((job.artifacts / "archive" / ".promgate-baseline").glob("*.json")), log


def test_gitlab_job_with_a_warning_is_an_allowed_failure(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    repo = _warning_repo(tmp_path, "gitlab-ci.yml", ".gitlab-ci.yml")
    (tmp_path / "home").mkdir()
    runner = GitlabRunner(package, stack, demo_api.url, tmp_path, repo)
    serve(demo_api)
    code, log, results = runner.run(merge_request=False)
    assert code == 0, log  # the pipeline passes
    assert "promgate: passed with warnings (exit 10: allowed to fail" in log, log
    assert f"WARN {CODE}" in log  # gitlab-ci-local's word for a job allowed to fail
    _warned(results, log)
    cache = repo / ".gitlab-ci-local" / "cache" / "promgate-baseline" / ".promgate-baseline"
    assert [p.suffix for p in cache.iterdir()] == [".json"], log

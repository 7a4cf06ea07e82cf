"""A stranger's repository for the CI template tests: promgate installed by name from a local
index, a repository holding only a locustfile, a gate config and one copied template, and the
three runs every template must get right (tests/integration/test_ci_templates*.py):

1. on the default branch: passes and keeps its result as the baseline;
2. a pull request against a server whose busiest endpoint is 50 % slower: fails on that endpoint,
   naming the baseline's run id;
3. a pull request against the unchanged server: passes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib
from support import DemoApi

__all__ = [
    "BUSIEST",
    "CI",
    "GATE_CONFIG",
    "LOAD",
    "ROOT",
    "Package",
    "assert_pass",
    "assert_regressed",
    "build_package",
    "git",
    "run",
    "serve",
    "stranger_repo",
]

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "deploy" / "ci"
#: The busiest endpoint of the locustfile below: the one the slowed server slows.
BUSIEST = "/courses"
LOCUSTFILE = """\
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def courses(self):
        self.client.get("/courses")

    @task
    def students(self):
        self.client.get("/students")
"""
#: A stranger's gate config: an endpoint whose median moves 20 % from the default branch's last
#: good run fails; latency_regression (median and p95 with their significance) warns, so a p95
#: that a shared machine's stall moves never fails a run; errors fail outright.
GATE_CONFIG = """\
checks:
  - name: endpoint median
    description: each endpoint's median against the baseline
    query: >-
      max by (method, name) (last_over_time(locust_response_time_percentile_seconds{
      job="$job", run_id="$run_id", percentile="0.5"}[$window]))
    unit: seconds
    critical: "> +20%"
  - name: latency regression
    preset: latency_regression
    warning: "> +20%"
  - name: error_rate
    preset: error_rate
    critical: "> 5%"
"""
#: A few seconds of load: about 150 requests of the busiest endpoint, enough to judge a 20 % shift
#: of a 115 ms median even when a loaded machine serves fewer.
LOAD = {"USERS": "6", "SPAWN_RATE": "6", "DURATION": "5s"}


def serve(api: DemoApi, slow: bool = False) -> None:
    """The system under test: 110-120 ms per request, the busiest endpoint 50 % slower if
    ``slow``. Long enough that a shared machine's stalls (tens of ms in a p95 of a few hundred
    requests) stay well inside the gate's 20 %, and a 50 % slowdown well outside it even when
    the baseline run was the slowed one (a loaded run measured a 130 ms median where 115 ms was
    served, and a 30 % slowdown then read +15 %)."""
    routes = {BUSIEST: {"latency_factor": 1.5}} if slow else {}
    api.configure(latency_ms=110, jitter_ms=10, error_rate=0.0, routes=routes)


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"
    return proc


def git(repo: Path, *args: str) -> str:
    who = ["-c", "user.name=Stranger", "-c", "user.email=stranger@example.com"]
    return run(["git", *who, "-C", str(repo), *args]).stdout.strip()


def stranger_repo(root: Path, ci_file: str, dest: str, remote: str = "") -> Path:
    """A git repository on ``main`` with a locustfile, a gate config and one template copied
    unchanged from deploy/ci/ (or action.yml's caller: ``ci_file`` is relative to deploy/ci)."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    (repo / "locustfile.py").write_text(LOCUSTFILE)
    (repo / "gate.yaml").write_text(GATE_CONFIG)
    (repo / dest).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(CI / ci_file, repo / dest)
    git(repo, "init", "-q", "-b", "main")
    if remote:
        git(repo, "remote", "add", "origin", remote)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "load test")
    return repo


def _result(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"no result at {path}"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def assert_pass(results: Path, run_id: str, log: str) -> dict[str, Any]:
    """The gate passed the run (warnings allowed: the first run has no baseline yet)."""
    result = _result(results / "gate.json")
    assert result["run"]["run_id"] == run_id, log
    assert result["verdict"] in ("pass", "warning"), log
    # A warning exits with the templates' warning code (their CI's unstable state), a pass 0.
    warned = result["verdict"] == "warning"
    assert result["exit_code"] == (result.get("warning_exit_code", 0) if warned else 0), log
    return result


def assert_regressed(results: Path, run_id: str, baseline_run_id: str, log: str) -> None:
    """The gate failed the run on the busiest endpoint, against the named baseline run."""
    result = _result(results / "gate.json")
    assert result["run"]["run_id"] == run_id, log
    assert result["exit_code"] == 1 and result["verdict"] == "fail", log
    failed = {
        series["labels"].get("name")
        for check in result["checks"]
        for series in check.get("series", [])
        if series["verdict"] == "fail"
    }
    assert BUSIEST in failed, f"failed series {failed}\n{log}"
    assert baseline_run_id in json.dumps(result["baseline"]), result["baseline"]
    assert baseline_run_id in (results / "gate.md").read_text(), log


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
        run([*argv, "--find-links", str(dist), "pip", spec])
        for own in house.glob("promgate-*"):
            own.unlink()  # this session's build is in dist
        (house / ".complete").write_text(wanted)
    return house


def build_package(root: Path) -> Package:
    """Build sdist and wheel, and install the wheel by name into a fresh virtualenv."""
    dist = root / "dist"
    # setuptools stages the sdist in the source tree (promgate-<version>/): one build at a time
    # across the suite's workers (each CI template file builds its own).
    lock = (
        Path(tempfile.gettempdir())
        / f"promgate-build-{hashlib.sha256(bytes(ROOT)).hexdigest()[:12]}.lock"
    )
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        run([sys.executable, "-m", "build", "--no-isolation", "-o", str(dist), str(ROOT)])
        wheelhouse = _wheelhouse(dist)  # filled once, by whichever worker comes first
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
    run(["python3", "-m", "venv", "--without-pip", str(venv)], env=env)
    py = str(venv / "bin" / "python")
    spec = f"promgate[locust]=={_version()}"
    run([sys.executable, "-m", "pip", "--python", py, "install", "-q", "pip", spec], env=env)
    return Package(_version(), dist, venv / "bin", env)

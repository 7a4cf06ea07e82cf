"""Prometheus config and rules: generated from queries.py, valid for promtool, unit-tested."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PROM = ROOT / "deploy" / "prometheus"
RULES = PROM / "rules"
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from deploy_support import assert_committed, load_script  # noqa: E402
from localstack import LocalStack  # noqa: E402

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run(
        [PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def _rule_files() -> list[Path]:
    return sorted(p for p in RULES.glob("*.yml") if not p.name.endswith("_test.yml"))


def test_committed_rules_are_the_generator_output() -> None:
    rendered = load_script(PROM / "generate_rules.py").render()
    assert_committed(rendered, RULES, "run generate_rules.py")


def test_rule_expressions_come_from_queries() -> None:
    from promgate import queries

    rules = yaml.safe_load((RULES / "promgate-recording.yml").read_text())["groups"][0]["rules"]
    assert {r["record"]: r["expr"] for r in rules} == queries.recording_rules()


@needs_promtool
def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", *_rule_files())
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_test_rules() -> None:
    tests = sorted(RULES.glob("*_test.yml"))
    assert tests
    result = _promtool("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_check_config(tmp_path: Path) -> None:
    """The compose config, with its container paths pointed at this checkout."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    config["rule_files"] = [str(RULES / Path(pattern).name) for pattern in config["rule_files"]]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = _promtool("check", "config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_prometheus_config_scrapes() -> None:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["pushgateway"]["honor_labels"] is True
    assert {"pushgateway", "node", "demo_api"} <= set(jobs)


def test_local_stack_and_compose_load_the_same_rule_files() -> None:
    """Compose mounts rules/ and loads a glob; the local stack loads rules/*.yml minus tests."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    (rules_mount,) = [m for m in mounts if m.startswith("./prometheus/rules:")]
    container_dir = rules_mount.split(":")[1]
    compose_files: set[str] = set()
    for pattern in config["rule_files"]:
        assert pattern.startswith(container_dir + "/")
        compose_files |= {p.name for p in RULES.glob(pattern[len(container_dir) + 1 :])}
    local = LocalStack(ROOT / "unused", rules_dir=RULES).config()
    local_files = {Path(str(p)).name for p in local["rule_files"]}  # type: ignore[attr-defined]
    assert compose_files == local_files == {p.name for p in _rule_files()}
    assert local_files  # both load something

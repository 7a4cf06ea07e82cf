"""Prometheus config and rules: generated from promgate.queries, valid for promtool, unit-tested."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _compose_config() -> dict[str, Any]:
    return dict(yaml.safe_load((PROM / "prometheus.yml").read_text()))


def test_local_stack_config_is_the_compose_config_made_local(tmp_path: Path) -> None:
    """Equal to prometheus.yml except the scrape/evaluation interval, the rule files' paths, the
    Pushgateway's target and the other jobs' targets; jobs without a local target are dropped,
    jobs only in ``targets`` are added."""
    compose = _compose_config()
    targets = {"demo_api": ["127.0.0.1:18080"], "extra": ["127.0.0.1:18081", "127.0.0.1:18082"]}
    stack = LocalStack(tmp_path, scrape_interval="2s", targets=targets, pushgateway_port=19091)
    local = stack.config()

    expected = copy.deepcopy(compose)
    expected["global"].update(scrape_interval="2s", evaluation_interval="2s")
    expected["rule_files"] = [str(p.resolve()) for p in _rule_files()]
    jobs = []
    for job in expected["scrape_configs"]:
        if job["job_name"] == "pushgateway":
            job["static_configs"] = [{"targets": ["127.0.0.1:19091"]}]
        elif job["job_name"] in targets:
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
        else:
            continue  # node: no node-exporter runs locally
        jobs.append(job)
    jobs.append({"job_name": "extra", "static_configs": [{"targets": targets["extra"]}]})
    expected["scrape_configs"] = jobs
    assert local == expected

    # The fields that matter, spelled out.
    def by_name(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {job["job_name"]: job for job in config["scrape_configs"]}

    local_jobs, compose_jobs = by_name(local), by_name(compose)
    assert local_jobs["pushgateway"]["honor_labels"] is True
    assert compose_jobs["pushgateway"]["honor_labels"] is True
    assert list(local_jobs) == ["pushgateway", "demo_api", "extra"]
    assert "node" in compose_jobs and "node" not in local_jobs
    assert {Path(p).name for p in local["rule_files"]} == {p.name for p in _rule_files()}
    assert all(Path(p).is_absolute() for p in local["rule_files"])
    assert not any(p.endswith("_test.yml") for p in local["rule_files"])
    assert {k: v for k, v in local["global"].items() if not k.endswith("_interval")} == {
        k: v for k, v in compose["global"].items() if not k.endswith("_interval")
    }


def test_local_stack_keeps_every_compose_job_given_local_targets(tmp_path: Path) -> None:
    compose = _compose_config()
    names = [job["job_name"] for job in compose["scrape_configs"]]
    targets = {
        name: [f"127.0.0.1:{20000 + i}"] for i, name in enumerate(names) if name != "pushgateway"
    }
    local = LocalStack(tmp_path, targets=targets).config()
    assert [job["job_name"] for job in local["scrape_configs"]] == names  # type: ignore[index]
    for job, original in zip(local["scrape_configs"], compose["scrape_configs"], strict=True):  # type: ignore[call-overload]
        assert {k: v for k, v in job.items() if k != "static_configs"} == {
            k: v for k, v in original.items() if k != "static_configs"
        }


def test_local_stack_without_rules(tmp_path: Path) -> None:
    assert LocalStack(tmp_path, rules_dir=None).config()["rule_files"] == []


@needs_promtool
def test_promtool_check_local_stack_config(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, targets={"demo_api": ["127.0.0.1:18080"], "node": ["[::1]:9100"]})
    result = _promtool("check", "config", stack.write_config())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    # The rules were found and checked too, not an empty list.
    assert "promgate-recording.yml" in result.stdout + result.stderr

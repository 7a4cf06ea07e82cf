"""The running local stack serves docker compose's Prometheus config, made local."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from localstack import COMPOSE_CONFIG, LocalStack

pytestmark = pytest.mark.integration


def _api(stack: LocalStack, path: str) -> Any:
    body = requests.get(f"{stack.prometheus_url}/api/v1/{path}", timeout=10).json()
    assert body["status"] == "success", body
    return body["data"]


def test_the_running_stack_scrapes_the_compose_jobs_it_has_targets_for(stack: LocalStack) -> None:
    compose = yaml.safe_load(COMPOSE_CONFIG.read_text())
    compose_jobs = [job["job_name"] for job in compose["scrape_configs"]]
    active = {t["labels"]["job"]: t for t in _api(stack, "targets")["activeTargets"]}
    # The session stack has a demo API but no node-exporter: node is dropped, nothing else.
    assert set(active) == {"pushgateway", "demo_api"}
    assert set(active) <= set(compose_jobs)
    assert active["pushgateway"]["scrapeUrl"] == f"{stack.pushgateway_url}/metrics"
    loaded = yaml.safe_load(_api(stack, "status/config")["yaml"])
    (push_job,) = [j for j in loaded["scrape_configs"] if j["job_name"] == "pushgateway"]
    assert push_job["honor_labels"] is True
    assert loaded["global"]["scrape_interval"] == stack.scrape_interval


def test_the_running_stack_loads_the_compose_rule_files(stack: LocalStack) -> None:
    files = {Path(group["file"]).name for group in _api(stack, "rules")["groups"]}
    assert files == {Path(p).name for p in stack.config()["rule_files"]}  # type: ignore[attr-defined]
    assert files and all(name.startswith("promgate-") for name in files)

"""``promgate check`` against a hostile fake Prometheus: every fault mode of
``gate_hostileprom`` (a body that drips, headers that never end, wrong shapes, megabytes of error
text, control characters, future timestamps, a redirect to another host) holds the contract of
``hostile_contract``: a documented exit code, one error line, no secret, no raw control
character, bounded in time, never a pass."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from gate_hostileprom import CHECK_QUERY, HOSTILE_MODES, SECRET, hostile_server
from hostile_contract import run_cli

CONFIG = f"""
prometheus:
  retries: 2
  retry_wait: 0.01
  timeout: 2
  headers:
    X-Scope-OrgID: tenant-{SECRET}
  basic_auth:
    username: ci
    password: {SECRET}
checks:
  - name: hostile
    query: {CHECK_QUERY}{{job="$job", run_id="$run_id"}}
    critical: "> 2"
"""
#: per attempt 2 s, two attempts, the window's queries and the judging: well inside this
BOUND = 20.0


@pytest.fixture(autouse=True)
def _not_in_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    # The contract forbids workflow-command lines in plain output; annotations are for github.
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.mark.parametrize("mode", HOSTILE_MODES)
def test_hostile_prometheus_mode_holds_the_contract(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    outputs = [tmp_path / n for n in ("result.json", "junit.xml", "summary.md")]
    with hostile_server(mode) as (fake, seen):
        url = fake.url.replace("http://", f"http://ci:{SECRET}@")
        argv = ["check", "--prometheus", url, "--run-id", "run-1", "--config", str(config)]
        argv += ["--wait-timeout", "3", "--json", str(outputs[0]), "--junit", str(outputs[1])]
        argv += ["--markdown", str(outputs[2])]
        outcome = run_cli(argv, capsys, outputs)
    fault = mode != "redirect_other_host"  # the other host answers properly: a pass is right
    problems = outcome.violations(secrets=[SECRET], fault=fault, bound=BOUND)
    assert not problems, f"{mode}: exit {outcome.code}: {problems}\n{outcome.err[-2000:]}"
    if outputs[1].exists():
        ET.fromstring(outputs[1].read_text(encoding="utf-8"))  # well-formed whatever the labels
    if mode == "redirect_other_host":
        assert seen, "the redirect was not followed"
        assert all("X-Scope-OrgID" not in h and "Authorization" not in h for h in seen), seen


def test_every_fault_family_is_exercised() -> None:
    # A guard against a mode list that silently shrinks: the faults are all here.
    wanted = {
        "drip_body",
        "drip_headers",
        "json:sample_without_value",
        "json:one_element_value",
        "json:sample_not_object",
        "json:metric_not_object",
        "json:warnings_number",
        "json:error_huge",
        "json:label_control",
        "json:huge_values_to_sum",
        "window:future_timestamps",
        "window:matrix_timestamp_abc",
        "window:matrix_timestamp_nan",
        "window:matrix_values_object",
        "redirect_other_host",
    }
    assert wanted <= set(HOSTILE_MODES)
    assert len(HOSTILE_MODES) >= 45

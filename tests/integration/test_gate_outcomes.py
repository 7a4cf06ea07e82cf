"""Outcomes against a real Prometheus holding a real finished run (``completed_run``): why a
check had no data, report-only checks, and the exit code of a warning."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from promgate.cli import run

pytestmark = pytest.mark.integration

NO_DATA = """
checks:
  - name: near label
    query: sum(locust_requests_total{job="$job", run_id="$run_id", name="/Students"})
    critical: "> 0"
  - name: metric typo
    query: locust_request_total{job="$job", run_id="$run_id"}
    critical: "> 0"
  - name: wrong job
    query: locust_requests_total{job="locst", run_id="$run_id"}
    critical: "> 0"
  - name: filtered
    query: locust_requests_total{job="$job", run_id="$run_id"} > 1e12
    critical: "> 0"
  - {name: requests, preset: requests_total, critical: "< 1"}
"""
#: a warning, and a report-only check that would fail and would warn
OUTCOMES = """
checks:
  - {name: requests, preset: requests_total, critical: "< 1", warning: "> 0"}
  - {name: trial p95, preset: p95, critical: "< 1h", mode: report}
  - {name: trial rate, preset: error_rate, warning: "> 0%", mode: report}
"""


def gate(
    tmp_path: Path, completed_run: Any, config: str, *args: str
) -> tuple[int, dict[str, Any], Path]:
    """promgate check with every output; (exit code, JSON result, folder of the outputs)."""
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    (out / "gate.yaml").write_text(config, encoding="utf-8")
    code = run(
        [
            "check",
            "--prometheus",
            completed_run.stack.prometheus_url,
            "--run-id",
            completed_run.run_id,
            "--config",
            str(out / "gate.yaml"),
            "--wait-timeout",
            "60",
            *(f"--{kind}={out / name}" for kind, name in _OUTPUTS.items()),
            *args,
        ]
    )
    return code, json.loads((out / "result.json").read_text(encoding="utf-8")), out


_OUTPUTS = {"json": "result.json", "junit": "junit.xml", "markdown": "comment.md", "html": "r.html"}


def test_no_data_says_why_in_every_format(
    completed_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, doc, out = gate(tmp_path, completed_run, NO_DATA, "--format", "github")
    stdout = capsys.readouterr().out
    assert code == 1
    reasons = {c["name"]: c["reason"] for c in doc["checks"]}
    assert all(c["value"] is None for c in doc["checks"] if c["name"] != "requests")
    # The acceptance: name="/Students" when the run has /students.
    near = reasons["near label"]
    assert near.startswith("no data: ") and 'name="/Students"' in near
    assert 'did you mean "/students"?' in near, near
    assert "did you mean locust_requests_total?" in reasons["metric typo"], reasons
    assert "absent for this run" in reasons["metric typo"]
    wrong = reasons["wrong job"]
    assert "job 'locst' has no such run" in wrong and '(the run is in job "locust")' in wrong
    assert "every series the query selects has data in the window" in reasons["filtered"]
    # The same words in the table, JUnit, Markdown, the GitHub annotations and the HTML report.
    junit = ET.parse(out / "junit.xml").getroot()
    messages = [f.get("message", "") for f in junit.iter("failure")]
    html = (out / "r.html").read_text(encoding="utf-8")
    markdown = (out / "comment.md").read_text(encoding="utf-8")
    for reason in reasons.values():
        if reason.startswith("no data"):
            clause = reason.split(": ", 1)[1].split(" (no_data")[0]
            assert any(clause in m for m in messages), (clause, messages)
            assert clause.split(" (")[0].replace('"', "&quot;") in html.replace("&#x27;", "'")
    assert 'did you mean "/students"?' in stdout  # the table's findings and ::error
    assert stdout.count('did you mean "/students"?') == 2, stdout
    assert 'did you mean "/students"?' in markdown


def test_report_only_checks_never_count_and_warnings_map_to_a_code(
    completed_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, out = gate(tmp_path, completed_run, OUTCOMES)
    assert (code, doc["verdict"], doc["exit_code"]) == (0, "warning", 0)
    assert [c["name"] for c in doc["checks"]] == ["requests"]
    trial = {c["name"]: c for c in doc["report_checks"]}
    # Evaluated and judged like any check, but apart: a would-be failure and a warning.
    assert trial["trial p95"]["verdict"] == "fail" and trial["trial p95"]["value"] > 0
    assert trial["trial rate"]["verdict"] == "warning"
    assert {c["mode"] for c in trial.values()} == {"report"}
    # --warning-exit-code, the config's warning_exit_code, and --strict above both
    assert gate(tmp_path, completed_run, OUTCOMES, "--warning-exit-code", "7")[0] == 7
    with_key = "warning_exit_code: 9\n" + OUTCOMES
    code, doc, _ = gate(tmp_path, completed_run, with_key)
    assert (code, doc["exit_code"], doc["warning_exit_code"]) == (9, 9, 9)
    assert gate(tmp_path, completed_run, with_key, "--warning-exit-code", "0")[0] == 0
    assert gate(tmp_path, completed_run, with_key, "--strict")[0] == 1
    # With --strict and no gating warning, the report-only failure and warning still count for
    # nothing: exit 0.
    calm = OUTCOMES.replace(', warning: "> 0"}', "}")
    capsys.readouterr()
    code, doc, out = gate(tmp_path, completed_run, calm, "--strict")
    assert (code, doc["verdict"]) == (0, "pass")
    table = capsys.readouterr().out
    head, apart = table.split("Report-only checks (mode: report, not counted):", 1)
    assert "trial p95" not in head and "trial p95" in apart and "fail" in apart
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "0"]
    assert [s.get("tests") for s in suites] == ["1", "2"]
    markdown = (out / "comment.md").read_text(encoding="utf-8")
    assert "**Report-only checks (mode: report, not counted):**" in markdown
    html = (out / "r.html").read_text(encoding="utf-8")
    assert "<h2>Report-only checks (mode: report, not counted)</h2>" in html

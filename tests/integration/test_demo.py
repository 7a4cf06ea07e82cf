"""``make demo`` end to end, shortened: the stack, the demo API, a live Locust run, the gate."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import ROOT

pytestmark = pytest.mark.integration


def test_demo_runs_the_main_job_and_exits_with_the_gates_code(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = [sys.executable, str(ROOT / "examples" / "demo.py")]
    # A healthy system (no injected errors) on a first run: the verdict is PASS, not a warning
    # about the missing baseline (the relative check is skipped and the demo says so).
    # 12 s: the 4 users spawn at 1/s and progress is read every 3 s from pushes 2 s apart;
    # in 8 s a loaded machine's last progress line (6 s) could still show 3 users.
    args = ["--duration", "12", "--users", "4", "--error-rate", "0", "--out", str(out)]
    proc = subprocess.run(demo + args, capture_output=True, text=True, timeout=240)
    stdout = proc.stdout
    result = json.loads((out / "result.json").read_text())
    assert proc.returncode == result["exit_code"], stdout + proc.stderr
    run_id = result["run"]["run_id"]
    assert f"run id {run_id}" in stdout
    assert re.search(r"Prometheus\s+http://127\.0\.0\.1:\d+/graph", stdout)

    # Live progress read back from Prometheus while Locust ran: users and a request rate.
    live = re.findall(
        r"(\d+)s\s+users\s+(\d+)\s+RPS\s+([\d.]+)\s+failures\s+(\d+|–)\s+p95 (\d+|–) ms", stdout
    )
    assert any(int(users) == 4 and float(rps) > 0 and p95 != "–" for _, users, rps, _, p95 in live)

    # The gate's verdict table on the terminal, one row per check of examples/gate.yaml.
    assert re.search(r"^check\s+value\s+warning\s+critical\s+baseline\s+verdict$", stdout, re.M)
    for check in result["checks"]:
        assert re.search(rf"^{re.escape(check['name'])}\s", stdout, re.M), check["name"]
    assert f"promgate: {result['verdict'].upper()}" in stdout
    assert "Prometheus stops now (add --keep to explore run_id=" in stdout
    assert "((" not in stdout and "))" not in stdout  # no nested parentheses
    assert result["verdict"] == "pass", stdout
    assert "baseline: none yet (first demo run)" in stdout
    (median,) = [c for c in result["checks"] if c["name"] == "median_regression"]
    assert median["verdict"] == "skip" and "baseline_missing: skip" in median["reason"]

    # The totals printed from Prometheus add up to what the gate judged.
    totals = re.findall(r"^\s+(GET|POST)\s+\S+\s+(\d+)\s+(\d+)", stdout, flags=re.M)
    assert totals, stdout
    assert sum(int(reqs) for _, reqs, _ in totals) == result["summary"]["requests"]
    assert sum(int(fails) for _, _, fails in totals) == result["summary"]["failures"]

    # Every report exists and is well-formed.
    ET.parse(out / "junit.xml")
    assert "95th percentile:" in (out / "summary.md").read_text()
    html = (out / "report.html").read_text()
    assert run_id in html and "<script" not in html

    # The second demo run is judged against the first's result, on the same load: the demo API
    # keeps its port, so the baseline's host is not flagged as another load profile.
    again = subprocess.run(demo + args, capture_output=True, text=True, timeout=240)
    second = json.loads((out / "result.json").read_text())
    assert again.returncode == second["exit_code"], again.stdout + again.stderr
    assert "baseline: the previous demo run's result" in again.stdout, again.stdout
    assert second["baseline"]["run"]["run_id"] == run_id
    assert second["profile"]["host"] == result["profile"]["host"]
    assert second["baseline"]["differences"] == [], again.stdout


def test_demo_reuses_the_previous_demo_apis_port(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    from demo import previous_port

    result = tmp_path / "previous.json"
    assert previous_port(result) == 0  # no previous run
    result.write_text(json.dumps({"profile": {"host": "http://127.0.0.1:41234"}}))
    assert previous_port(result) == 41234
    result.write_text(json.dumps({"profile": {"host": "https://staging.example.com"}}))
    assert previous_port(result) == 0  # --host elsewhere: nothing to reuse
    result.write_text("{truncated")
    assert previous_port(result) == 0


def test_demo_explains_locusts_exit_code_1() -> None:
    """The demo API fails ~1 % of requests on purpose and Locust exits 1 on any failure: a
    newcomer must not read a healthy demo's "exited with 1" as a broken run."""
    sys.path.insert(0, str(ROOT / "examples"))
    from demo import locust_exit_text

    assert locust_exit_text(0) == "Locust exited with 0"
    text = locust_exit_text(1)
    assert text.startswith("Locust exited with 1 (") and "any request failed" in text
    assert "on purpose" in text and text.count("(") == text.count(")") == 1

"""``promgate check`` via ``run(argv)`` against a fake Prometheus: the verdicts, exit codes and
reports of runs that could be judged, baselines, template variables, the wait for the final push."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import promql_parser
import pytest
from gate_cli_support import CHECKS, Writer, check
from gate_fakeprom import FakePrometheus, value, vector
from promgate.cli import run

ROOT = Path(__file__).resolve().parents[4]


def test_pass_writes_every_report(
    fake_prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on('percentile="0.95"', value(0.3)).on("locust_request_failures_total", value(0.01))
    out = tmp_path / "out"
    code = check(
        fake_prom,
        write_config(CHECKS),
        "--json",
        str(out / "r.json"),
        "--junit",
        str(out / "j.xml"),
        "--markdown",
        str(out / "c.md"),
    )
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert "PASS" in stdout and "p95" in stdout and "\033[" not in stdout  # no colour off a TTY
    doc = json.loads((out / "r.json").read_text())
    assert (
        doc["verdict"] == "pass" and doc["exit_code"] == 0 and doc["schema"] == "promgate.result/2"
    )
    assert doc["run"]["run_id"] == "run-1" and doc["run"]["window"].endswith("s")
    assert doc["run"]["eval_time"] > doc["run"]["end"]  # after the final scrape, not at the end
    p95 = doc["checks"][0]
    assert p95["value"] == 0.3 and p95["critical"] == ["> 2s"]
    promql_parser.parse(p95["query"])
    assert 'run_id="run-1"' in p95["query"] and "$" not in p95["query"]
    junit = ET.parse(out / "j.xml").getroot()
    assert junit.get("tests") == "2" and junit.get("failures") == "0"
    md = (out / "c.md").read_text()
    import re

    assert re.search(r"95th percentile: (\d+\.?\d*)s", md).group(1) == "0.300"  # type: ignore[union-attr]
    assert re.search(r"Error rate: (\d+\.?\d*)%", md)


def test_critical_fails_with_exit_1(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.on('percentile="0.95"', value(2.5)).on("locust_request_failures_total", value(0.0))
    assert check(fake_prom, write_config(CHECKS)) == 1
    assert "critical" in capsys.readouterr().out


def test_warning_passes_unless_strict(fake_prom: FakePrometheus, write_config: Writer) -> None:
    fake_prom.on('percentile="0.95"', value(1.5)).on("locust_request_failures_total", value(0.0))
    cfg = write_config(CHECKS)
    assert check(fake_prom, cfg) == 0
    assert check(fake_prom, cfg, "--strict") == 1


@pytest.mark.parametrize("reply", [vector(), value("NaN"), value("+Inf"), value("-Inf")])
def test_no_data_fails(
    fake_prom: FakePrometheus,
    write_config: Writer,
    reply: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on('percentile="0.95"', reply)  # type: ignore[arg-type]
    assert check(fake_prom, write_config(CHECKS)) == 1
    assert "no data" in capsys.readouterr().out


def test_several_series_reported_with_labels(
    fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    fake_prom.on(
        "locust_response_time_percentile_seconds",
        vector(({"method": "GET", "name": "/a"}, 0.1), ({"method": "GET", "name": "/b"}, 3)),
    )
    cfg = write_config("checks:\n  - name: ep\n    preset: endpoint_p95\n    critical: '> 2s'\n")
    assert (
        check(
            fake_prom, cfg, "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml")
        )
        == 1
    )
    doc = json.loads((tmp_path / "r.json").read_text())
    series = doc["checks"][0]["series"]
    assert [(x["labels"]["name"], x["verdict"]) for x in series] == [("/a", "pass"), ("/b", "fail")]
    names = [c.get("name") for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase")]
    assert names == ['ep{method="GET", name="/a"}', 'ep{method="GET", name="/b"}']


def test_latest_and_env_vars(
    fake_prom: FakePrometheus, write_config: Writer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_prom.on('percentile="0.95"', value(0.3)).on("locust_request_failures_total", value(0.0))
    monkeypatch.setenv("PROMGATE_PROMETHEUS_URL", fake_prom.url)
    monkeypatch.setenv("LOCUST_PROMETHEUS_RUN_ID", "latest")
    assert (
        run(["check", "--config", str(write_config(CHECKS)), "--json", str(tmp_path / "r.json")])
        == 0
    )
    assert json.loads((tmp_path / "r.json").read_text())["run"]["run_id"] == "run-1"


def test_github_annotations_and_step_summary(
    fake_prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    fake_prom.on('percentile="0.95"', value(2.5)).on("locust_request_failures_total", value(0.0))
    assert check(fake_prom, write_config(CHECKS)) == 1
    out = capsys.readouterr().out
    assert "::error title=promgate p95::p95: critical" in out
    assert "95th percentile: 2.500s" in summary.read_text()


def test_template_variables_and_var(fake_prom: FakePrometheus, write_config: Writer) -> None:
    cfg = write_config(
        "vars: {env: staging}\nchecks:\n  - name: c\n"
        '    query: x{env="$env", region="$region", run_id="$run_id"} @ $run_end > $run_start\n'
        "    critical: '> 1'\n    no_data: pass\n"
    )
    fake_prom.on("x{", vector())  # no data: the check passes by its no_data policy
    assert check(fake_prom, cfg, "--var", 'region=eu "1"') == 0
    sent = next(q for q in fake_prom.queries if q.startswith("x{"))
    parsed = promql_parser.parse(sent)
    matchers = {m.name: m.value for m in parsed.lhs.matchers.matchers}
    assert matchers == {"env": "staging", "region": 'eu "1"', "run_id": "run-1"}


def test_baseline_file_relative(
    fake_prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = write_config(
        "checks:\n  - name: median\n    preset: p50\n    critical: '> +20%'\n"
        "    baseline_missing: fail\n"
    )
    fake_prom.on('percentile="0.5"', value(0.100))
    base = tmp_path / "base.json"
    assert check(fake_prom, cfg, "--json", str(base)) == 1  # no baseline: policy fail
    # A failed run never becomes a baseline, even named explicitly: baseline_missing decides.
    capsys.readouterr()
    assert check(fake_prom, cfg, "--baseline-file", str(base), "--json", "-") == 1
    refused = json.loads(capsys.readouterr().out)
    assert "verdict fail" in refused["baseline"]["missing"]
    assert "a failed run never becomes a baseline" in refused["checks"][0]["reason"]
    passing = write_config(cfg.read_text().replace("'> +20%'", "'> 1s'"), fast=False)
    assert check(fake_prom, passing, "--json", str(base)) == 0
    assert check(fake_prom, cfg, "--baseline-file", str(base)) == 0  # same median
    fake_prom.on('percentile="0.5"', value(0.150))
    assert check(fake_prom, cfg, "--baseline-file", str(base)) == 1  # 50 % slower
    doc = json.loads(base.read_text())
    doc["checks"][0]["value"] = None
    base.write_text(json.dumps(doc))
    assert check(fake_prom, cfg, "--baseline-file", str(base)) == 1  # baseline without a value


def test_baseline_run(fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path) -> None:
    fake_prom.runs = {"run-1": 1_700_000_060.0, "run-0": 1_700_000_060.0}
    fake_prom.on('percentile="0.5"', lambda q: value(0.2 if 'run_id="run-1"' in q else 0.1))
    cfg = write_config("checks:\n  - name: median\n    preset: p50\n    critical: '> +20%'\n")
    assert check(fake_prom, cfg, "--baseline-run", "run-0", "--json", str(tmp_path / "r.json")) == 1
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["baseline"]["run"]["run_id"] == "run-0"
    assert doc["checks"][0]["baseline"] == 0.1
    assert check(fake_prom, cfg, "--baseline-run", "run-1") == 0


def test_seed_thresholds_and_check_regression_agree(
    fake_prom: FakePrometheus, tmp_path: Path
) -> None:
    thresholds = ROOT / "examples" / "performance_thresholds.json"
    seed = ROOT / "examples" / "check_regression.py"
    for p95, expect in ((0.4, 0), (6.0, 1)):
        fake_prom.on('percentile="0.95"', value(p95)).on("node_", vector())
        fake_prom.on("locust_request_failures_total", value(0.0))
        fake_prom.on('percentile="0.99"', value(0.5))
        fake_prom.on("locust_request_failures_total", value(0.01))
        fake_prom.default = value(100.0)
        analysis = tmp_path / f"a{p95}.json"
        code = run(
            [
                "check",
                "--prometheus",
                fake_prom.url,
                "--run-id",
                "run-1",
                "--thresholds",
                str(thresholds),
                "--analysis-json",
                str(analysis),
            ]
        )
        assert code == expect
        doc = json.loads(analysis.read_text())
        assert doc["response_time_p95"] == p95
        assert "cpu_usage_avg" not in doc and "memory_usage_avg" not in doc  # no node_exporter
        seed_run = subprocess.run(
            [
                sys.executable,
                str(seed),
                "--analysis",
                str(analysis),
                "--thresholds",
                str(thresholds),
            ],
            capture_output=True,
        )
        assert seed_run.returncode == expect, seed_run.stdout


def test_seed_metric_without_data_is_skipped_but_nothing_judged_fails(
    fake_prom: FakePrometheus, tmp_path: Path
) -> None:
    thresholds = str(ROOT / "examples" / "performance_thresholds.json")
    result = tmp_path / "result.json"
    args = ["check", "--prometheus", fake_prom.url, "--run-id", "run-1", "--thresholds",
            thresholds, "--json", str(result)]  # fmt: skip
    fake_prom.on('percentile="0.99"', vector()).on("node_", vector())
    fake_prom.on('percentile="0.95"', value(0.4)).on("locust_request_failures_total", value(0.0))
    fake_prom.default = value(100.0)
    assert run(args) == 0  # as the seed's script: a metric without a figure is skipped
    verdicts = {c["name"]: c["verdict"] for c in json.loads(result.read_text())["checks"]}
    assert verdicts["response_time_p99"] == "skip"
    assert verdicts["response_time_p95"] == "pass"

    fake_prom.default = vector()  # no figure at all for any metric
    fake_prom.on('percentile="0.95"', vector()).on("locust_request_failures_total", vector())
    assert run(args) == 1  # nothing judged: never a pass
    assert {c["verdict"] for c in json.loads(result.read_text())["checks"]} == {"skip"}


def test_waits_for_the_final_push_then_judges(
    fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    import threading
    import time

    fake_prom.runs = {"run-1": None}
    fake_prom.on('percentile="0.95"', value(0.3)).on("locust_request_failures_total", value(0.0))

    # The run ends (its end timestamp appears) only after the gate has polled for it.
    def finish() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            "locust_run_end_timestamp_seconds" in q for q in fake_prom.queries
        ):
            time.sleep(0.01)
        fake_prom.runs["run-1"] = 1_700_000_060.0

    thread = threading.Thread(target=finish)
    thread.start()
    code = check(
        fake_prom, write_config(CHECKS), "--wait-timeout", "20", "--json", str(tmp_path / "r.json")
    )
    thread.join()
    assert code == 0
    ends = [
        q
        for q in fake_prom.queries
        if "locust_run_end_timestamp_seconds" in q and "__name__" not in q
    ]
    assert len(ends) >= 2  # polled until the end appeared
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["run"]["final_scrape"] == 1_700_000_061.0  # first sample of the end series
    assert doc["run"]["eval_time"] == 1_700_000_062.0  # one scrape interval later


def test_auth_and_tls_settings_reach_the_session(tmp_path: Path) -> None:
    from promgate import PrometheusSettings
    from promgate.prometheus.client import build_session

    token = tmp_path / "token"
    token.write_text("s3cret\n")
    session = build_session(
        PrometheusSettings(
            bearer_token_file=str(token),
            headers={"X-Scope-OrgID": "t"},
            ca_file="/etc/ca.pem",
            cert_file="c.pem",
            key_file="k.pem",
        )
    )
    assert session.headers["Authorization"] == "Bearer s3cret"
    assert session.headers["X-Scope-OrgID"] == "t"
    assert session.verify == "/etc/ca.pem" and session.cert == ("c.pem", "k.pem")
    basic = build_session(PrometheusSettings(username="u", password="p", insecure_skip_verify=True))
    assert basic.auth == ("u", "p") and basic.verify is False


def test_prometheus_warnings_are_reported_not_swallowed(
    fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    # A partial response (Thanos, Cortex) may hold incomplete data: the result must say so.
    status, body = value(0.5)
    body["warnings"] = ["partial response: store 3 unavailable"]
    fake_prom.on('percentile="0.95"', (status, body))
    fake_prom.on("locust_request_failures_total", value(0.0))
    result, comment = tmp_path / "result.json", tmp_path / "gate.md"
    args = ("--json", str(result), "--markdown", str(comment))
    assert check(fake_prom, write_config(CHECKS), *args) == 0
    notes = json.loads(result.read_text())["notes"]
    assert any("partial response: store 3 unavailable" in n for n in notes), notes
    assert "partial response: store 3 unavailable" in comment.read_text()

"""Exit codes and reports of ``promgate check`` via ``run(argv)`` against a fake Prometheus."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import promql_parser
import pytest
from gate_fakeprom import FakePrometheus, error, value, vector
from promgate.cli import run

ROOT = Path(__file__).resolve().parents[3]
CHECKS = """
checks:
  - name: p95
    preset: p95
    warning: "> 1s"
    critical: "> 2s"
  - name: errors
    preset: error_rate
    unit: percent
    critical: "> 5%"
"""
Writer = Callable[[str], Path]


def check(
    prom: FakePrometheus | str, config: Path, *extra: str, run_id: str = "run-1", wait: str = "2"
) -> int:
    """``promgate check`` against the fake (or a URL) with ``config``; returns the exit code."""
    url = prom if isinstance(prom, str) else prom.url
    args = ["--prometheus", url, "--run-id", run_id, "--config", str(config)]
    return run(["check", *args, "--wait-timeout", wait, *extra])


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    return f"http://127.0.0.1:{port}"


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("promgate: error")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


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


def test_5xx_after_retries_exits_3(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.status_override = 503
    assert check(fake_prom, write_config(CHECKS)) == 3
    assert "after 2 attempts" in _one_line_error(capsys.readouterr().err)
    assert fake_prom.hits == 2  # retried, bounded


def test_5xx_then_recovery_is_retried(fake_prom: FakePrometheus, write_config: Writer) -> None:
    calls = {"n": 0}

    def flaky(_q: str) -> tuple[int, dict[str, object]]:
        calls["n"] += 1
        return error(503, "unavailable", "busy") if calls["n"] == 1 else value(0.2)

    fake_prom.on('percentile="0.95"', flaky).on("locust_request_failures_total", value(0.0))
    assert check(fake_prom, write_config(CHECKS)) == 0
    assert calls["n"] >= 2


def test_wrong_url_exits_3(write_config: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(_closed_port_url(), write_config(CHECKS)) == 3
    assert "unreachable" in _one_line_error(capsys.readouterr().err)


def test_not_prometheus_exits_3(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom.url + "/wrong/prefix", write_config(CHECKS)) == 3
    assert "not a Prometheus API" in _one_line_error(capsys.readouterr().err)


def test_server_rejects_query_exits_2(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.on('percentile="0.95"', error(400, "bad_data", "1:5: parse error: unexpected"))
    fake_prom.on("locust_request_failures_total", value(0.0))
    assert check(fake_prom, write_config(CHECKS)) == 2
    assert "rejected the query" in _one_line_error(capsys.readouterr().err)


def test_bad_promql_exits_2_before_any_request(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config("checks:\n  - name: b\n    query: sum(rate(x[5m])\n    critical: '>1'\n")
    assert check(fake_prom, cfg) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"{cfg}:" in line and "checks.b.query" in line and "bad PromQL" in line
    assert fake_prom.hits == 0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("checks: [\n", "invalid YAML"),
        ("checks:\n  - name: a\n    preset: p96\n    critical: '>1'\n", "unknown preset"),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '> 5 parsecs'\n",
            "unknown unit suffix",
        ),
    ],
)
def test_config_errors_exit_2(
    fake_prom: FakePrometheus,
    write_config: Writer,
    body: str,
    needle: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert check(fake_prom, write_config(body)) == 2
    assert needle in _one_line_error(capsys.readouterr().err)


def test_unknown_run_exits_1(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom, write_config(CHECKS), run_id="nope", wait="0") == 1
    assert "unknown run" in _one_line_error(capsys.readouterr().err)


def test_unknown_baseline_run_names_the_baseline_option(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The judged run exists; the unknown one is the baseline: the hint must not send the user
    # to --run-id.
    assert check(fake_prom, write_config(CHECKS), "--baseline-run", "nope", wait="0") == 1
    err = _one_line_error(capsys.readouterr().err)
    assert "baseline run: unknown run" in err and "'nope'" in err, err
    assert "check --baseline-run" in err and "--run-id" not in err, err


def test_unfinished_run_waits_then_exits_1(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.runs = {"run-1": None}
    assert check(fake_prom, write_config(CHECKS), wait="0.3") == 1
    assert "run not finished" in _one_line_error(capsys.readouterr().err)


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


def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], write_config: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROMGATE_RUN_ID", "LOCUST_PROMETHEUS_RUN_ID", "PROMGATE_PROMETHEUS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert run(["check", "--prometheus", "http://x"]) == 2  # neither --config nor --thresholds
    assert run(["check", "--prometheus", "http://x", "--config", "x.yaml"]) == 2  # no run id
    assert (
        run(["check", "--run-id", "r", "--config", str(write_config(CHECKS)), "--var", "novalue"])
        == 2
    )
    assert run(["bogus"]) == 2
    assert run(["--version"]) == 0
    assert "promgate" in capsys.readouterr().out


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


def test_unwritable_step_summary_is_one_line_error(
    fake_prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An unwritable $GITHUB_STEP_SUMMARY is the environment's problem (exit 2), not a bug (4)."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a directory
    assert check(fake_prom, write_config(CHECKS)) == 2
    assert "GITHUB_STEP_SUMMARY" in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("wait", ["nan", "-1", "soon"])
@pytest.mark.parametrize("command", ["check", "report"])
def test_bad_wait_timeout_exits_2_before_any_request(
    fake_prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    command: str,
    wait: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """NaN would never time out: waiting for an unknown run would hang instead of exiting 1."""
    if command == "check":
        code = check(fake_prom, write_config(CHECKS), wait=wait)
    else:
        html = str(tmp_path / "r.html")
        args = ["--prometheus", fake_prom.url, "--run-id", "run-1", "--html", html]
        code = run(["report", *args, "--wait-timeout", wait])
    assert code == 2
    assert "--wait-timeout" in capsys.readouterr().err
    assert fake_prom.hits == 0


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


def test_internal_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    import promgate.cli.check as cmd

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(cmd, "load_config", boom)
    assert run(["check", "--prometheus", "http://x", "--run-id", "r", "--config", "x"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kaboom second line" in err


def test_errors_are_annotations_in_github_actions(
    write_config: Writer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert check("http://x", write_config("checks: [\n")) == 2
    assert capsys.readouterr().out.startswith("::error title=promgate::")


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


def test_push_failure_exits_3(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom, write_config(CHECKS), "--push-results", _closed_port_url()) == 3
    assert "pushing results" in _one_line_error(capsys.readouterr().err)


def test_library_refuses_a_wait_timeout_that_never_ends(fake_prom: FakePrometheus) -> None:
    from promgate import Gate, PrometheusClient, UsageError, parse_config

    config = parse_config(CHECKS, "x.yaml", env={})
    with pytest.raises(UsageError, match="wait timeout"):
        Gate(config, PrometheusClient(fake_prom.url), wait_timeout=float("nan")).evaluate("run-1")
    assert fake_prom.hits == 0


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

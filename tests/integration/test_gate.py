"""The gate against a real Prometheus holding a real, finished Locust run (``completed_run``)."""

from __future__ import annotations

import html
import json
import math
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests
from localstack import LocalStack
from promgate import queries
from promgate.cli import run
from support import EXAMPLES, DemoApi, start_locust, wait_until

pytestmark = pytest.mark.integration

FIGURES = """
checks:
  - {name: requests, preset: requests_total, critical: "< 1"}
  - {name: failures, preset: failures_total, critical: "< 0"}
  - {name: error_rate, preset: error_rate, critical: "> 100%"}
  - {name: p95, preset: p95, critical: "> 1h"}
  - {name: p95_hist, preset: p95_hist, critical: "> 1h"}
  - {name: rps, preset: rps, critical: "< 0"}
  - {name: p50, preset: p50, critical: "> 1h"}
  - {name: max_users, preset: max_users, critical: "< 1"}
"""


def gate(
    tmp_path: Path, prometheus: str, run_id: str, *args: str, config: str | None = FIGURES
) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"result-{len(list(tmp_path.iterdir()))}.json"
    argv = [
        "check",
        "--prometheus",
        prometheus,
        "--run-id",
        run_id,
        "--json",
        str(out),
        "--wait-timeout",
        "60",
    ]
    if config is not None:
        cfg = tmp_path / f"gate-{len(list(tmp_path.iterdir()))}.yaml"
        cfg.write_text(config, encoding="utf-8")
        argv += ["--config", str(cfg)]
    code = run([*argv, *args])
    doc = json.loads(out.read_text()) if out.exists() else {}
    return code, doc


def values(doc: dict[str, Any]) -> dict[str, float]:
    return {c["name"]: c["value"] for c in doc["checks"]}


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def test_figures_equal_locusts_summary(completed_run: Any, tmp_path: Path) -> None:
    code, doc = gate(tmp_path, completed_run.stack.prometheus_url, completed_run.run_id)
    assert code == 0, doc
    got = values(doc)
    (csv,) = [r for r in completed_run.run.stats_rows() if r["Name"] == "Aggregated"]
    total = completed_run.run.summary()[("", "Aggregated")]
    # Counts and error rate: exact, equal to Locust's final statistics and to what the demo
    # API counted.
    truth_reqs = sum(r for r, _ in completed_run.truth.values())
    truth_fails = sum(f for _, f in completed_run.truth.values())
    assert got["requests"] == total.num_requests == truth_reqs
    assert got["failures"] == total.num_failures == truth_fails
    assert got["error_rate"] == pytest.approx(100 * truth_fails / truth_reqs, rel=1e-12)  # in %
    # p95 and p50: Locust's own percentiles, to the millisecond it prints them.
    assert round(got["p95"] * 1000) == total.get_response_time_percentile(0.95)
    assert round(got["p50"] * 1000) == total.get_response_time_percentile(0.5)
    # RPS exactly as Locust computes it (requests / (last request - statistics start)), taken
    # from Locust's own live statistics at quit; float64 all the way, so equal to 1e-9.
    figures = completed_run.run.locust_figures()
    assert figures["num_requests"] == truth_reqs
    assert got["rps"] == pytest.approx(figures["total_rps"], rel=1e-9)
    assert doc["run"]["start"] == pytest.approx(figures["start_time"], abs=1e-6)
    # Locust rewrites its CSV once a second, not at shutdown, so the CSV's Aggregated row can
    # miss the last second. When it is complete, the gate equals it too (RPS within the CSV's
    # rounding); when not, it holds fewer requests, never more.
    csv_reqs = int(csv["Request Count"])
    assert csv_reqs <= got["requests"]
    if csv_reqs == got["requests"]:
        assert int(csv["Failure Count"]) == got["failures"]
        assert round(got["p95"] * 1000) == int(csv["95%"])
        step = 10.0 ** -_decimals(csv["Requests/s"])
        assert abs(got["rps"] - float(csv["Requests/s"])) <= step / 2 + 1e-9
    assert got["max_users"] == 8
    # The histogram's p95 lies in the bucket that holds Locust's p95 (its documented bound).
    bounds = _bucket_bounds(completed_run)
    upper = min(b for b in bounds if b >= got["p95"] - 1e-9)
    lower = max([b for b in bounds if b < upper] or [0.0])
    assert lower - 1e-9 <= got["p95_hist"] <= upper + 1e-9, (lower, got["p95_hist"], upper)
    # Every query the gate ran is in the result, and the window covers the run.
    assert all(c["query"] for c in doc["checks"])
    assert doc["run"]["eval_time"] > doc["run"]["end"]
    assert doc["summary"]["error_rate_percent"] == pytest.approx(got["error_rate"])


def _bucket_bounds(completed_run: Any) -> list[float]:
    sel = f'job="locust", run_id="{completed_run.run_id}"'
    resp = requests.get(
        f"{completed_run.stack.prometheus_url}/api/v1/series",
        params={"match[]": f"locust_request_duration_seconds_bucket{{{sel}}}", "start": "0"},
        timeout=10,
    ).json()
    return sorted({float(s["le"]) for s in resp["data"]} - {math.inf})


def test_verdict_flips_across_the_values(completed_run: Any, tmp_path: Path) -> None:
    _, doc = gate(tmp_path, completed_run.stack.prometheus_url, completed_run.run_id)
    got = values(doc)
    url, rid = completed_run.stack.prometheus_url, completed_run.run_id
    for name, preset, unit in (("p95", "p95", "seconds"), ("error_rate", "error_rate", "ratio")):
        v = got[name]
        below = f"checks:\n  - {{name: {name}, preset: {preset}, critical: '> {v * 0.99!r}'}}\n"
        above = f"checks:\n  - {{name: {name}, preset: {preset}, critical: '> {v * 1.01!r}'}}\n"
        assert gate(tmp_path, url, rid, config=below)[0] == 1, unit
        assert gate(tmp_path, url, rid, config=above)[0] == 0, unit
    rps = got["rps"]
    lower = f"checks:\n  - {{name: rps, preset: rps, critical: '< {rps * 1.01!r}'}}\n"
    assert gate(tmp_path, url, rid, config=lower)[0] == 1
    warn = f"checks:\n  - {{name: rps, preset: rps, warning: '< {rps * 1.01!r}'}}\n"
    assert gate(tmp_path, url, rid, config=warn)[0] == 0
    assert gate(tmp_path, url, rid, "--strict", config=warn)[0] == 1


def test_seed_thresholds_unchanged_and_check_regression_agrees(
    completed_run: Any, tmp_path: Path
) -> None:
    thresholds = EXAMPLES / "performance_thresholds.json"
    analysis = tmp_path / "analysis.json"
    markdown = tmp_path / "comment.md"
    code, doc = gate(
        tmp_path,
        completed_run.stack.prometheus_url,
        completed_run.run_id,
        "--thresholds",
        str(thresholds),
        "--analysis-json",
        str(analysis),
        "--markdown",
        str(markdown),
        config=None,
    )
    seed = json.loads(analysis.read_text())
    assert set(seed) == {
        "response_time_p95",
        "response_time_p99",
        "error_rate",
        "requests_per_second",
    }  # no node_exporter here: host usage skipped
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["cpu_usage"]["verdict"] == "skip" and checks["memory_usage"]["verdict"] == "skip"
    assert seed["response_time_p95"] == checks["response_time_p95"]["value"]
    assert seed["error_rate"] == pytest.approx(checks["error_rate"]["value"])
    script = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "check_regression.py"),
            "--analysis",
            str(analysis),
            "--thresholds",
            str(thresholds),
        ],
        capture_output=True,
        text=True,
    )
    # Both judge critical the same way; promgate also fails on no data, which never happens here.
    gate_critical = any(c["verdict"] == "fail" for c in doc["checks"])
    assert (script.returncode == 1) == gate_critical == (code == 1), script.stdout
    import re

    text = markdown.read_text()
    p95 = re.search(r"95th percentile: (\d+\.?\d*)s", text)
    err = re.search(r"Error rate: (\d+\.?\d*)%", text)
    assert p95 and float(p95.group(1)) == pytest.approx(seed["response_time_p95"], abs=0.005)
    assert err and float(err.group(1)) == pytest.approx(seed["error_rate"], abs=0.005)


def test_baseline_slower_run_fails_relative_check(
    completed_run: Any, api: DemoApi, tmp_path: Path
) -> None:
    config = "checks:\n  - {name: median, preset: p50, critical: '> +20%'}\n"
    stack: LocalStack = completed_run.stack
    url, first = stack.prometheus_url, completed_run.run_id
    code, doc = gate(tmp_path, url, first, "--baseline-run", first, config=config)
    assert code == 0 and doc["checks"][0]["baseline"] == doc["checks"][0]["value"]
    api.configure(latency_ms=120, jitter_ms=5)
    slower = start_locust(
        api.url,
        pushgateway=stack.pushgateway_url,
        users=3,
        run_time="6s",
        extra=["--prometheus-keep"],
    ).wait()
    assert slower.returncode in (0, 1), slower.output
    # No wait_for_scrape here: the gate itself waits for the run's final push to be scraped.
    code, doc = gate(tmp_path, url, slower.run_id, "--baseline-run", first, config=config)
    check = doc["checks"][0]
    assert code == 1, check
    assert check["value"] >= 0.12 > 1.2 * check["baseline"]
    assert doc["baseline"]["run"]["run_id"] == first


#: check names as people write them: spaces, quotes, slashes, a pipe, markup, non-ASCII
NAMES = ['p95 "checkout" / api', "error rate | <b>ünïcode</b> 延迟"]
FREE_TEXT = (
    FIGURES
    + f"""
  - name: '{NAMES[0]}'
    preset: p95
    critical: "> +50%"
  - name: "{NAMES[1]}"
    preset: error_rate
    critical: "> 100%"
"""
)


def test_free_text_names_and_pushed_results_read_back_intact(
    completed_run: Any, tmp_path: Path
) -> None:
    stack = completed_run.stack
    rid = completed_run.run_id
    out = {k: tmp_path / f"out.{k}" for k in ("xml", "md", "html", "analysis")}
    code, doc = gate(
        tmp_path, stack.prometheus_url, rid, "--baseline-run", rid,
        "--junit", str(out["xml"]), "--markdown", str(out["md"]), "--html", str(out["html"]),
        "--analysis-json", str(out["analysis"]), "--push-results", stack.pushgateway_url,
        config=FREE_TEXT,
    )  # fmt: skip
    assert code == 0, doc
    assert [c["name"] for c in doc["checks"]][-2:] == NAMES
    assert doc["checks"][-2]["baseline"] == doc["checks"][-2]["value"]  # the baseline run
    cases = {c.get("name") for c in ET.parse(out["xml"]).getroot().iter("testcase")}
    assert set(NAMES) <= cases
    md_rows = [r for r in out["md"].read_text(encoding="utf-8").splitlines() if r.startswith("| ")]
    md_names = {re.sub(r"\\(.)", r"\1", re.split(r"(?<!\\)\|", r)[1].strip()) for r in md_rows}
    assert set(NAMES) <= md_names
    page = out["html"].read_text(encoding="utf-8")
    assert all(html.escape(n, quote=True) in page for n in NAMES)
    assert "<b>ünïcode" not in page  # markup in a name is text, never markup
    assert (
        json.loads(out["analysis"].read_text())["error_rate"]
        == doc["summary"]["error_rate_percent"]
    )

    sel = f'job="promgate", run_id="{rid}"'

    def pushed() -> bool:
        verdict = stack.query(f"promgate_verdict{{{sel}}}")
        checks = stack.query(f"promgate_check_value{{{sel}}}")
        return bool(verdict) and len(checks) == len(doc["checks"])

    wait_until(pushed, 30, "the gate's pushed results in Prometheus")
    read_back = {s["metric"]["check"]: s for s in stack.query(f"promgate_check_value{{{sel}}}")}
    assert set(NAMES) <= set(read_back)
    assert float(read_back["requests"]["value"][1]) == values(doc)["requests"]
    assert float(read_back[NAMES[0]]["value"][1]) == values(doc)[NAMES[0]]
    (verdict,) = stack.query(f"promgate_verdict{{{sel}}}")
    assert verdict["value"][1] == "0"


def test_run_errors_and_exit_codes(
    completed_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = completed_run.stack.prometheus_url
    code, _ = gate(tmp_path, url, 'no-such-run-"\\', "--wait-timeout", "0")
    assert code == 1
    assert "unknown run" in capsys.readouterr().err
    for body, needle in (
        ("checks: [\n", "invalid YAML"),
        ("checks:\n  - {name: a, preset: p96, critical: '> 1'}\n", "unknown preset"),
        ("checks:\n  - {name: a, query: 'sum(rate(x[5m])', critical: '> 1'}\n", "bad PromQL"),
    ):
        assert gate(tmp_path, url, completed_run.run_id, config=body)[0] == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
    # A stopped Prometheus and a wrong port look the same to a client: connection refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    assert gate(tmp_path, closed, completed_run.run_id)[0] == 3
    assert "unreachable" in capsys.readouterr().err


def test_no_data_and_several_series_from_a_real_prometheus(
    completed_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, run_id = completed_run.stack.prometheus_url, completed_run.run_id
    # An empty vector and NaN are no data: never a pass.
    for query in ('locust_requests_total{run_id="$run_id", name="/nowhere"}', "vector(0) / 0"):
        config = f"checks:\n  - {{name: a, query: '{query}', critical: '> 1'}}\n"
        code, doc = gate(tmp_path, url, run_id, config=config)
        assert code == 1, doc
        (check,) = doc["checks"]
        assert (
            check["value"] is None and check["verdict"] == "fail" and "no data" in check["reason"]
        )
    # Several series: each judged and reported with its labels (never "whichever came last").
    config = "checks:\n  - {name: p95, preset: endpoint_p95, critical: '> 1h'}\n"
    code, doc = gate(tmp_path, url, run_id, config=config)
    assert code == 0, doc
    labels = {(s["labels"]["method"], s["labels"]["name"]) for s in doc["checks"][0]["series"]}
    assert labels == set(completed_run.truth)
    # Something that answers HTTP but is no Prometheus: a Prometheus error, one line.
    capsys.readouterr()
    code, _ = gate(tmp_path, completed_run.stack.pushgateway_url, run_id)
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if "error" in line]) == 1, err


def test_lint_examples() -> None:
    assert run(["lint", str(EXAMPLES / "gate.yaml")]) == 0
    assert run(["lint", str(EXAMPLES / "performance_thresholds.json")]) == 0
    assert "histogram_quantile" in queries.histogram_quantile_run(0.95)


def test_run_id_of_any_content(stack: LocalStack, tmp_path: Path) -> None:
    """A run id with quotes, backslashes, a newline and unicode is one label value end to end."""
    import base64
    import time

    run_id = "we\"ird\\ run\nid ünï 😀 'x'} or vector(1)"
    now = time.time()
    body = (
        f"# TYPE locust_run_start_timestamp_seconds gauge\n"
        f"locust_run_start_timestamp_seconds {now - 10}\n"
        f"# TYPE locust_run_end_timestamp_seconds gauge\n"
        f"locust_run_end_timestamp_seconds {now}\n"
        f"# TYPE locust_requests_total counter\n"
        f"locust_requests_total 123\n"
    )
    # The Pushgateway's base64 form of a grouping label carries any bytes.
    encoded = base64.urlsafe_b64encode(run_id.encode()).decode()
    url = f"{stack.pushgateway_url}/metrics/job/locust/run_id@base64/{encoded}"
    requests.put(url, data=body, timeout=10).raise_for_status()
    config = "checks:\n  - {name: requests, preset: requests_total, critical: '< 1'}\n"
    code, doc = gate(tmp_path, stack.prometheus_url, run_id, config=config)
    assert code == 0, doc
    assert doc["run"]["run_id"] == run_id
    assert doc["checks"][0]["value"] == 123

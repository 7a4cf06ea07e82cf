"""Issue 19's numbered defects of the gate, one test each (the exporter's and the demo's are in
their own files). Each would fail on the code before the fix: a crash, a hang, exit 4, a secret
or a control character in an output, lint passing what check rejects."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from gate_fakeprom import FakePrometheus, value, vector
from hostile_contract import Outcome, run_cli

Writer = Callable[[str], Path]
SECRET = "S3CRET-input-pw"
CHECK = "checks:\n  - name: p95\n    preset: p95\n    critical: '> 2s'\n"


def _check_argv(prom: FakePrometheus | str, config: Path, *extra: str) -> list[str]:
    url = prom if isinstance(prom, str) else prom.url
    argv = ["check", "--prometheus", url, "--run-id", "run-1", "--config", str(config)]
    return [*argv, "--wait-timeout", "2", *extra]


def _subprocess(*argv: str, timeout: float = 60) -> Outcome:
    """The real process: a parser crash is a signal here, not a dead test run."""
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "promgate", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Outcome(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - began)


def _clean(outcome: Outcome, code: int, *, words: str = "", bound: float = 30.0) -> None:
    assert outcome.code == code, outcome.err[-1000:]
    assert not outcome.violations(secrets=[SECRET], bound=bound), outcome.err[-1000:]
    assert words in outcome.err, outcome.err[-1000:]


# -- 1. PromQL the parser cannot take ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("(" * 50_000 + "1" + ")" * 50_000, "too long"),  # was SIGSEGV (rc 139)
        ("(" * 10_000 + "1" + ")" * 10_000, "too long"),  # was an allocation abort
        ("(" * 5_000 + "1" + ")" * 5_000, "nested too deeply"),
        ("+".join(["1"] * 5_000), "too complex"),  # was SIGSEGV; 3,000 terms took 1.26 GB
    ],
    ids=["50k-parens", "10k-parens", "5k-parens", "5k-terms"],
)
def test_huge_promql_is_a_config_error_not_a_crash(
    query: str, words: str, write_config: Writer, fake_prom: FakePrometheus
) -> None:
    config = write_config(f"checks:\n  - name: big\n    query: '{query}'\n    critical: '> 1'\n")
    _clean(_subprocess("lint", str(config)), 2, words=words)
    _clean(_subprocess(*_check_argv(fake_prom, config)), 2, words=words)
    assert fake_prom.hits == 0  # refused before any request


def test_promql_bounds_leave_room_for_real_queries() -> None:
    from promgate.config.presets import PRESETS
    from promgate.config.promql_bounds import MAX_DEPTH, MAX_OPERATORS
    from promgate.config.query_lint import parse_promql

    for preset in PRESETS.values():
        parse_promql(preset.query.replace("$window", "5m").replace("$", ""))
    parse_promql("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH)
    parse_promql("+".join(["1"] * MAX_OPERATORS))


# -- 2. YAML aliases ------------------------------------------------------------------------

BOMB = "a0: &l0 [lol]\n" + "".join(
    f"a{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (BOMB + CHECK, "beyond 100000 nodes"),  # 588 bytes; hung lint and check
        ("vars:\n  x: &a [*a]\n" + CHECK, "refers to the node that contains it"),  # was exit 4
    ],
    ids=["alias-bomb", "recursive-alias"],
)
def test_yaml_alias_bombs_are_refused_quickly(
    text: str, words: str, write_config: Writer, fake_prom: FakePrometheus
) -> None:
    assert len(BOMB) < 700
    config = write_config(text, fast=False)
    _clean(_subprocess("lint", str(config), timeout=60), 2, words=words, bound=20)
    _clean(_subprocess(*_check_argv(fake_prom, config), timeout=60), 2, words=words, bound=20)


# -- 4 and 12. Numbers and values lint passes and check then fails on -----------------------

BIG = "9" * 401


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (f"wait_timeout: {BIG}\n{CHECK}", "wait_timeout"),
        (f"prometheus:\n  timeout: {BIG}\n{CHECK}", "prometheus.timeout"),
        (f"prometheus:\n  timeout: .inf\n{CHECK}", "prometheus.timeout"),
        (f"prometheus:\n  retry_wait: 1e300\n{CHECK}", "prometheus.retry_wait"),
        (f"prometheus:\n  url: ftp://x:21\n{CHECK}", "prometheus.url"),
        (f"prometheus:\n  url: http://h:port\n{CHECK}", "prometheus.url"),
        (f'prometheus:\n  headers:\n    X-Org: "a\\r\\nb"\n{CHECK}', "prometheus.headers"),
        (f'prometheus:\n  headers:\n    X-Org: "\U0001f600"\n{CHECK}', "prometheus.headers"),
        (f"prometheus:\n  headers:\n    'Bad Name': x\n{CHECK}", "prometheus.headers"),
        (f'prometheus:\n  bearer_token: "t\U0001f600k"\n{CHECK}', "prometheus.bearer_token"),
        (f"lookback: garbage\n{CHECK}", "lookback"),
        (f'lookback: "5m])) or vector(1) #"\n{CHECK}', "lookback"),
        (
            "checks:\n  - name: r\n    preset: latency_regression\n    critical: '> +10%'\n"
            f"    confidence: {BIG}\n",
            "confidence",
        ),
    ],
)
def test_lint_rejects_what_check_would(
    text: str,
    key: str,
    write_config: Writer,
    fake_prom: FakePrometheus,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(text, fast=False)
    linted = run_cli(["lint", str(config)], capsys)
    _clean(linted, 2, words=key)
    checked = run_cli(_check_argv(fake_prom, config), capsys)
    _clean(checked, 2, words=key)
    assert fake_prom.hits == 0  # nothing was sent with the bad value (the lookback above all)


def test_non_latin1_basic_auth_is_sent_as_utf8(
    write_config: Writer, fake_prom: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    # requests encodes basic auth as Latin-1 and raised UnicodeEncodeError (exit 4).
    fake_prom.on('percentile="0.95"', value(0.1))
    auth = 'prometheus:\n  retries: 1\n  basic_auth:\n    username: "ü\U0001f600"\n'
    config = write_config(auth + '    password: "pä\u03c0"\n' + CHECK, fast=False)
    assert run_cli(["lint", str(config)], capsys).code == 0
    _clean(run_cli(_check_argv(fake_prom, config), capsys), 0)


def test_huge_threshold_number_is_a_config_error(
    tmp_path: Path, fake_prom: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "performance_thresholds.json"
    path.write_text('{"response_time_p95": {"warning": ' + BIG + ', "unit": "ms"}}')
    _clean(run_cli(["lint", str(path)], capsys), 2, words="response_time_p95.warning")
    argv = ["check", "--prometheus", fake_prom.url, "--run-id", "run-1", "--thresholds", str(path)]
    _clean(run_cli(argv, capsys), 2, words="response_time_p95.warning")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda doc: doc["checks"][0]["series"][0].update(value=10**401),
        lambda doc: doc["checks"][0].update(series=[{"labels": 5, "value": 1}]),
        lambda doc: doc["checks"][0].update(series=[{"labels": {"a": [1]}, "value": 1}]),
    ],
    ids=["value-401-digits", "labels-5", "labels-list-value"],
)
def test_bad_baseline_file_is_a_usage_error(
    mutate: Callable[[dict[str, object]], None],
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on("max by (method, name)", vector(({"name": "/a"}, 0.1), ({"name": "/b"}, 0.2)))
    config = write_config(
        "checks:\n  - name: ep\n    preset: endpoint_p95\n    critical: '> +20%'\n"
    )
    base = tmp_path / "base.json"
    assert run_cli(_check_argv(fake_prom, config, "--json", str(base)), capsys).code in (0, 1)
    doc = json.loads(base.read_text())
    mutate(doc)
    base.write_text(json.dumps(doc))
    _clean(run_cli(_check_argv(fake_prom, config, "--baseline-file", str(base)), capsys), 2)


def test_report_of_a_result_with_a_nan_start_is_a_usage_error(
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on('percentile="0.95"', value(0.1))
    result = tmp_path / "result.json"
    run_cli(_check_argv(fake_prom, write_config(CHECK), "--json", str(result)), capsys)
    doc = json.loads(result.read_text())
    doc["run"]["start"] = "NaN"
    result.write_text(json.dumps(doc))
    argv = ["report", "--prometheus", fake_prom.url, "--result", str(result)]
    _clean(run_cli([*argv, "--html", str(tmp_path / "r.html")], capsys), 2, words="finite")


def test_bad_push_results_url_fails_before_the_verdict(
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # It was exit 4 after the JSON had already said pass.
    result = tmp_path / "result.json"
    argv = _check_argv(fake_prom, write_config(CHECK), "--json", str(result))
    _clean(run_cli([*argv, "--push-results", "http://[::1"], capsys), 2, words="Pushgateway URL")
    assert not result.exists() and fake_prom.hits == 0


def test_malformed_prometheus_url_is_a_usage_error(
    write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean(run_cli(_check_argv("http://h:port", write_config(CHECK)), capsys), 2, words="URL")


# -- 5. Credentials --------------------------------------------------------------------------


def test_url_credentials_stay_out_of_results_and_errors(
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on('percentile="0.95"', value(0.1))
    url = fake_prom.url.replace("http://", f"http://ci:{SECRET}@")
    result = tmp_path / "result.json"
    outcome = run_cli(_check_argv(url, write_config(CHECK), "--json", str(result)), capsys)
    assert outcome.code == 0 and SECRET not in result.read_text()
    assert json.loads(result.read_text())["prometheus"].startswith("http://***@127.0.0.1")
    dead = f"http://ci:{SECRET}@127.0.0.1:1"
    _clean(run_cli(_check_argv(dead, write_config(CHECK)), capsys), 3, words="***@")


# -- 6, 7, 8. Output injection ----------------------------------------------------------------


def test_check_named_like_a_workflow_command_cannot_start_one(
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on('percentile="0.95"', value(5.0))
    config = write_config(CHECK.replace("name: p95", "name: '::error::pwned ##[warning]x'"))
    junit = tmp_path / "junit.xml"
    outcome = run_cli(_check_argv(fake_prom, config, "--junit", str(junit)), capsys)
    assert outcome.code == 1
    assert not outcome.violations(), outcome.out
    assert "\\::error::pwned" in outcome.out  # shown, escaped
    ET.fromstring(junit.read_text())


def test_label_with_escape_keeps_junit_well_formed_and_terminal_clean(
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on(
        "max by (method, name)", vector(({"name": "/a\x1b[2J\rall checks PASS"}, 5.0), ({}, 0.1))
    )
    config = write_config("checks:\n  - name: ep\n    preset: endpoint_p95\n    critical: '> 2s'\n")
    junit = tmp_path / "junit.xml"
    outcome = run_cli(_check_argv(fake_prom, config, "--junit", str(junit)), capsys)
    assert outcome.code == 1 and not outcome.violations(), outcome.out
    assert "\\x1b[2J\\rall checks PASS" in outcome.out
    names = [c.get("name") for c in ET.fromstring(junit.read_text()).iter("testcase")]
    assert any("\\x1b" in (n or "") for n in names), names


def test_grafana_url_cannot_break_out_of_the_markdown_link(
    write_config: Writer, fake_prom: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "http://grafana/>)[click](http://evil) <b>"
    _clean(run_cli(_check_argv(fake_prom, write_config(CHECK), "--grafana-url", bad), capsys), 2)
    from promgate.report.markdown import _href

    assert _href("http://g/a>)b <c>") == "http://g/a%3E)b%20%3Cc%3E"


# -- 12. Server text bounded, warnings as a string --------------------------------------------


def test_prometheus_error_text_is_bounded_and_warnings_string_is_one_note(
    write_config: Writer,
    fake_prom: FakePrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_prom.on('percentile="0.95"', (422, {"status": "error", "error": "x" * 10_000_000}))
    outcome = run_cli(_check_argv(fake_prom, write_config(CHECK)), capsys)
    assert outcome.code == 3 and len(outcome.err) < 3000, len(outcome.err)
    status, body = value(0.1)
    body["warnings"] = "partial response"
    fake_prom.on('percentile="0.95"', (status, body))
    result = tmp_path / "r.json"
    assert (
        run_cli(_check_argv(fake_prom, write_config(CHECK), "--json", str(result)), capsys).code
        == 0
    )
    notes = [n for n in json.loads(result.read_text())["notes"] if "warned" in n]
    assert len(notes) == 1 and "partial response" in notes[0], notes


def test_future_scrape_stamps_cannot_stretch_the_wait(
    write_config: Writer, fake_prom: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    # Sample timestamps 9,999,900 s ahead made check wait that long despite --wait-timeout 10.
    fake_prom.runs["run-1"] = time.time() + 9_999_900.0
    outcome = run_cli(_check_argv(fake_prom, write_config(CHECK)), capsys)
    _clean(outcome, 1, words="beyond the wait", bound=15)


@pytest.mark.parametrize("reduce", ["sum", "avg", "max"])
def test_reducing_huge_values_overflows_to_a_verdict_not_a_crash(
    reduce: str, write_config: Writer, fake_prom: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    # reduce: sum over three series of 1.7e308 was exit 4 (the sum is inf).
    fake_prom.on("huge_metric", vector(*[({"i": str(i)}, 1.7e308) for i in range(3)]))
    config = write_config(
        f"checks:\n  - name: big\n    query: huge_metric\n    reduce: {reduce}\n"
        "    critical: '> 1e300'\n"
    )
    outcome = run_cli(_check_argv(fake_prom, config), capsys)
    assert outcome.code == 1 and not outcome.violations(), outcome.err

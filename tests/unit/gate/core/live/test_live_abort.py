"""The gate during the run: ``abort:`` config, the for/after state machine on a fake clock, the
live evaluation against a fake Prometheus, and ``promgate run`` with stand-in child processes."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from gate_fakeprom import START, FakePrometheus, value, vector
from promgate.cli import run
from promgate.config.abort import AbortRule
from promgate.config.loader import parse_config
from promgate.core.gate import Gate
from promgate.core.judging.judge import judge_check
from promgate.core.live.live_gate import AbortTimer, LiveGate, find_breach, live_window
from promgate.core.live.locust_process import generated_run_id, locust_option
from promgate.core.model.aborted import Abort
from promgate.core.model.result import GateResult
from promgate.errors import ConfigError
from promgate.prometheus.client import PrometheusClient
from promgate.prometheus.types import Sample
from promgate.report.github import github_annotations
from promgate.report.html.page import ReportData, render_html
from promgate.report.junit import render_junit
from promgate.report.markdown import render_markdown
from promgate.report.text import render_table

Writer = Callable[[str], Path]

LIVE = """
checks:
  - name: errors
    preset: error_rate
    unit: percent
    critical: "> 5%"
    warning: "> 1%"
    abort: {for: 10s, after: 20s}
  - name: p95
    preset: p95
    critical: "> 2s"
"""


def _config(abort: str, critical: str = '"> 5%"') -> str:
    return (
        "checks:\n  - name: errors\n    preset: error_rate\n    unit: percent\n"
        f"    critical: {critical}\n    abort: {abort}\n"
    )


# -- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("true", AbortRule()),
        ("false", None),
        ("{for: 30s, after: 1m}", AbortRule(hold=30.0, after=60.0)),
        ("{for: 5}", AbortRule(hold=5.0)),
        ("{after: 500ms}", AbortRule(after=0.5)),
    ],
)
def test_abort_key_forms(text: str, rule: AbortRule | None) -> None:
    assert parse_config(_config(text)).checks[0].abort == rule


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{fr: 3s}", "checks.errors.abort.fr: unknown key (allowed: for, after)"),
        ('"yes"', "checks.errors.abort: expected true, false or a mapping"),
        ("{for: -3s}", "checks.errors.abort.for: not a number"),
        ("{for: 3%}", "checks.errors.abort.for: '3%' is a fraction"),
        ("{after: [1]}", "checks.errors.abort.after: expected a duration"),
    ],
)
def test_abort_key_errors_name_line_and_key(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config(text), "gate.yml")
    assert err.value.message.startswith("gate.yml:6: ")
    assert needle in err.value.message


def test_abort_needs_a_critical_condition() -> None:
    text = "checks:\n  - name: e\n    preset: error_rate\n    warning: '> 1%'\n    abort: true\n"
    with pytest.raises(ConfigError, match="abort: needs a critical condition"):
        parse_config(text)


def test_checks_without_abort_are_not_live() -> None:
    config = parse_config(LIVE)
    assert [c.abort for c in config.checks] == [AbortRule(10.0, 20.0), None]


# -- the for/after state machine (fake clock: times are arguments) -----------------------------


def _run(rule: AbortRule, timeline: list[tuple[float, bool | None]]) -> list[str]:
    timer = AbortTimer(rule)
    return [timer.observe(t, breached) for t, breached in timeline]


def test_abort_true_stops_at_the_first_breach() -> None:
    assert _run(AbortRule(), [(10, False), (20, True)]) == ["ok", "abort"]


def test_for_needs_the_breach_to_hold() -> None:
    timeline = [(10, True), (15, True), (20, True)]
    assert _run(AbortRule(hold=10), timeline) == ["pending", "pending", "abort"]


def test_for_allows_the_jitter_of_evaluation_times() -> None:
    # Every 10 s, but the second evaluation measured 9.95 s after the first: held for 10 s.
    assert _run(AbortRule(hold=10), [(10, True), (19.95, True)]) == ["pending", "abort"]
    assert _run(AbortRule(hold=10), [(10, True), (18.5, True)]) == ["pending", "pending"]


def test_a_break_in_the_breach_restarts_for() -> None:
    timeline = [(10, True), (15, False), (20, True), (25, True), (30, True)]
    assert _run(AbortRule(hold=10), timeline) == ["pending", "ok", "pending", "pending", "abort"]


def test_after_means_not_judged_before_it() -> None:
    # Breached from the start: not judged until 60 s, and for then counts from 60 s.
    timeline = [(t, True) for t in (0, 10, 30, 59.9, 60, 65, 70)]
    states = _run(AbortRule(hold=10, after=60), timeline)
    assert states == ["waiting"] * 4 + ["pending", "pending", "abort"]


def test_after_alone_aborts_at_the_first_breach_after_it() -> None:
    states = _run(AbortRule(after=60), [(t, True) for t in (10, 50, 59, 61)])
    assert states == ["waiting", "waiting", "waiting", "abort"]


def test_unknown_neither_resets_nor_completes_a_pending_breach() -> None:
    timer = AbortTimer(AbortRule(hold=10))
    assert timer.observe(10, True) == "pending"
    assert timer.observe(25, None) == "unknown"  # Prometheus down: no abort, even past for
    assert timer.held(25) == 15
    assert timer.observe(26, True) == "abort"  # seen again, held since 10 s


# -- judging a live answer ---------------------------------------------------------------------


def test_find_breach_only_counts_values_in_the_bad_state() -> None:
    spec = parse_config(_config("true")).checks[0]
    breached = judge_check(spec, "q", [Sample({}, 0.07)], None)
    fine = judge_check(spec, "q", [Sample({}, 0.01)], None)
    empty = judge_check(spec, "q", [], None)  # no data fails the final check, never aborts
    hit = find_breach(spec, breached, spec.critical)
    assert hit is not None and hit.value == pytest.approx(7.0) and hit.condition.text == "> 5%"
    assert find_breach(spec, fine, spec.critical) is None
    assert empty.verdict.value == "fail" and find_breach(spec, empty, spec.critical) is None


def test_find_breach_names_the_series() -> None:
    text = _config("true").replace("preset: error_rate", "preset: endpoint_error_rate")
    spec = parse_config(text).checks[0]
    samples = [Sample({"name": "/a"}, 0.0), Sample({"name": "/b"}, 0.5)]
    hit = find_breach(spec, judge_check(spec, "q", samples, None), spec.critical)
    assert hit is not None and hit.labels == {"name": "/b"}


def test_live_window_runs_from_the_start_until_now() -> None:
    window = live_window("r1", "locust", 1000.0, 1042.4)
    assert window.eval_time == 1042.4 and window.end == 1042.4
    assert window.variables()["run_start"] == "1000" and window.variables()["run_end"] == "1042.4"
    assert window.window_seconds == 43 + 10


def _live(fake: FakePrometheus, path: Path, now: list[float], run_id: str = "run-1") -> LiveGate:
    config = parse_config(path.read_text())
    gate = Gate(config, PrometheusClient(fake.url, retries=1, retry_wait=0.01))
    return LiveGate(gate, run_id, clock=lambda: now[0])


def test_live_gate_aborts_after_for_with_check_value_and_since(
    fake_prom: FakePrometheus, write_config: Writer
) -> None:
    now = [START + 25.0]
    live = _live(fake_prom, write_config(LIVE), now)
    fake_prom.on("locust_request_failures_total", value(0.02))  # 2 %: a warning only
    first = live.evaluate()
    assert first.elapsed == 25.0
    assert [v.state for v in first.values] == ["warning"]  # p95 has no abort: not live
    assert live.abort(first) is None

    fake_prom.rules.clear()
    fake_prom.on("locust_request_failures_total", value(0.2))
    now[0] = START + 30.0
    second = live.evaluate()
    assert second.values[0].state == "pending" and "PENDING 0s of 10s" in second.line()
    now[0] = START + 40.0
    third = live.evaluate()
    abort = live.abort(third)
    assert abort is not None
    assert (abort.check, abort.value, abort.threshold) == ("errors", pytest.approx(20.0), "> 5%")
    assert abort.since == START + 30.0 and abort.elapsed == 40.0 and abort.at == START + 40.0
    assert "errors is 20.00%" in abort.message and "since 0:30" in abort.message
    # The query is the final check's, over the run's window from its start until now.
    assert any('run_id="run-1"' in q and "[50s]" in q for q in fake_prom.queries)


def test_live_gate_waits_for_the_run_and_never_aborts_on_no_data(
    fake_prom: FakePrometheus, write_config: Writer
) -> None:
    now = [START + 30.0]
    live = _live(fake_prom, write_config(LIVE), now, run_id="not-yet")
    tick = live.evaluate()
    assert tick.elapsed is None and "not in Prometheus yet" in tick.line()
    live = _live(fake_prom, write_config(LIVE), now)
    fake_prom.on("locust_request_failures_total", vector())
    for step in range(3):
        now[0] = START + 30.0 + 10 * step
        tick = live.evaluate()
        assert tick.values[0].state == "no data" and live.abort(tick) is None


def test_live_gate_prometheus_errors_are_warnings(
    fake_prom: FakePrometheus, write_config: Writer
) -> None:
    now = [START + 30.0]
    live = _live(fake_prom, write_config(LIVE), now)
    fake_prom.on("locust_request_failures_total", value(0.5))
    assert live.evaluate().values[0].state == "pending"
    fake_prom.status_override = 503
    now[0] = START + 50.0
    tick = live.evaluate()
    assert tick.values[0].state == "unknown" and live.abort(tick) is None
    assert "errors unknown (" in tick.line()


# -- the result model --------------------------------------------------------------------------


def test_abort_round_trips_and_fails_the_result(
    fake_prom: FakePrometheus, write_config: Writer
) -> None:
    fake_prom.default = value(0.0)  # the final check's summary figures
    config = parse_config(write_config(LIVE).read_text())
    result = Gate(config, PrometheusClient(fake_prom.url, retries=1)).evaluate("run-1")
    assert result.verdict.value == "pass" and result.exit_code == 0 and result.aborted is None
    abort = Abort("breach", 1_700_000_100.0, "check errors is 20%", "errors", 20.0, "percent")
    result.aborted = abort
    doc = result.to_dict()
    assert doc["aborted"]["check"] == "errors" and doc["aborted"]["value"] == 20.0
    assert doc["verdict"] == "fail" and doc["exit_code"] == 1
    back = GateResult.from_dict(json.loads(json.dumps(doc)))
    assert back.aborted == abort and back.exit_code == 1


def test_every_format_marks_the_aborted_run(
    fake_prom: FakePrometheus, write_config: Writer
) -> None:
    fake_prom.default = value(0.0)  # the final check's summary figures
    config = parse_config(write_config(LIVE).read_text())
    result = Gate(config, PrometheusClient(fake_prom.url, retries=1)).evaluate("run-1")
    message = "check errors is 20.00%, critical > 5%, since 0:30 into the run"
    result.aborted = Abort(
        "breach", START + 40, message, "errors", 20.0, "percent", "> 5%", since=START + 30,
        elapsed=40.0,
    )  # fmt: skip
    line = "aborted 0:40 into the run at 22:14:00 UTC: " + message
    assert result.aborted.summary() == line
    assert f"promgate run {line}" in render_table(result)
    assert f"**Load test {line}**" in render_markdown(result)
    junit = ET.fromstring(render_junit(result))
    (case,) = [c for c in junit.iter("testcase") if c.get("name") == "promgate run"]
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == line
    assert junit.get("failures") == "1" and junit.get("tests") == "3"
    (github,) = [a for a in github_annotations(result) if "promgate run" in a]
    assert github.startswith("::error title=promgate run::load test aborted 0:40")
    html = render_html(ReportData(run_id="run-1", verdict="fail", aborted=line))
    assert f"Load test {line.replace('>', '&gt;')}" in html


# -- the command line --------------------------------------------------------------------------


def test_locust_option_reads_both_spellings() -> None:
    argv = ["locust", "--prometheus-run-id", "a", "-f", "x", "--prometheus-run-id=b"]
    assert locust_option(argv, "--prometheus-run-id") == "b"
    assert locust_option(["locust", "--prometheus-run-idx=c"], "--prometheus-run-id") is None
    assert generated_run_id() != generated_run_id()


def _child(code: str) -> list[str]:
    return ["--", sys.executable, "-c", code]


def test_run_refuses_a_different_run_id_in_the_locust_arguments(
    write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--config", str(write_config(LIVE)), "--prometheus", "http://127.0.0.1:1"]
    code = run([*argv, "--run-id", "a", "--", "locust", "--prometheus-run-id", "b"])
    assert code == 2
    assert "--prometheus-run-id 'b' but the run id is 'a'" in capsys.readouterr().err
    assert run([*argv]) == 2  # no command after --


def test_run_child_that_starts_no_run_exits_2_at_once(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--config", str(write_config(LIVE)), "--prometheus", fake_prom.url]
    began = time.monotonic()
    code = run([*argv, "--run-id", "never", *_child("import sys; sys.exit(2)")])
    assert code == 2 and time.monotonic() - began < 10
    assert "did not start run 'never': it ended (exit code 2)" in capsys.readouterr().err


def test_run_passes_the_run_id_and_judges_the_run(
    fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    fake_prom.default = value(0.0)  # the final check's summary figures
    seen = tmp_path / "env"
    child = f"import os; open({str(seen)!r}, 'w').write(os.environ['LOCUST_PROMETHEUS_RUN_ID'])"
    out = tmp_path / "r.json"
    argv = ["run", "--config", str(write_config(LIVE)), "--prometheus", fake_prom.url]
    code = run([*argv, "--run-id", "run-1", "--json", str(out), *_child(child)])
    assert seen.read_text() == "run-1"
    doc = json.loads(out.read_text())
    assert code == doc["exit_code"] == 0 and doc["aborted"] is None


def test_run_aborts_the_child_on_a_breach(
    fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    fake_prom.default = value(0.0)  # the final check's summary figures
    fake_prom.on("locust_request_failures_total", value(0.5))
    body = LIVE.replace("abort: {for: 10s, after: 20s}", "abort: true")
    out = tmp_path / "r.json"
    argv = ["run", "--config", str(write_config(body)), "--prometheus", fake_prom.url]
    began = time.monotonic()
    sleeper = _child("import time; time.sleep(60)")
    code = run([*argv, "--run-id", "run-1", "--interval", "0.5", "--json", str(out), *sleeper])
    assert code == 1 and time.monotonic() - began < 20  # SIGTERM ended the sleeping child
    doc = json.loads(out.read_text())
    assert doc["aborted"]["check"] == "errors" and doc["aborted"]["reason"] == "breach"


def test_ctrl_c_stops_the_child_judges_and_exits_130(
    fake_prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    fake_prom.default = value(0.0)
    started = tmp_path / "started"
    child = f"import time; open({str(started)!r}, 'w').close(); time.sleep(60)"
    out = tmp_path / "r.json"
    argv = ["run", "--config", str(write_config(LIVE)), "--prometheus", fake_prom.url]

    def interrupt() -> None:
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # promgate is in its loop once the child runs
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    began = time.monotonic()
    code = run([*argv, "--run-id", "run-1", "--json", str(out), *_child(child)])
    assert code == 130 and time.monotonic() - began < 20
    doc = json.loads(out.read_text())
    assert doc["aborted"]["reason"] == "interrupted" and doc["aborted"]["check"] is None
    assert doc["verdict"] == "fail"

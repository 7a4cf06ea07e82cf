"""``promgate check`` when something is wrong: Prometheus down, failing or not Prometheus, bad
configs, PromQL and options, unknown or unfinished runs; each one line and its exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_cli_support import CHECKS, Writer, check, closed_port_url, one_line_error
from gate_fakeprom import FakePrometheus, error, value
from promgate.cli import run


def test_5xx_after_retries_exits_3(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.status_override = 503
    assert check(fake_prom, write_config(CHECKS)) == 3
    assert "after 2 attempts" in one_line_error(capsys.readouterr().err)
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
    assert check(closed_port_url(), write_config(CHECKS)) == 3
    assert "unreachable" in one_line_error(capsys.readouterr().err)


def test_not_prometheus_exits_3(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom.url + "/wrong/prefix", write_config(CHECKS)) == 3
    assert "not a Prometheus API" in one_line_error(capsys.readouterr().err)


def test_server_rejects_query_exits_2(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.on('percentile="0.95"', error(400, "bad_data", "1:5: parse error: unexpected"))
    fake_prom.on("locust_request_failures_total", value(0.0))
    assert check(fake_prom, write_config(CHECKS)) == 2
    assert "rejected the query" in one_line_error(capsys.readouterr().err)


def test_bad_promql_exits_2_before_any_request(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config("checks:\n  - name: b\n    query: sum(rate(x[5m])\n    critical: '>1'\n")
    assert check(fake_prom, cfg) == 2
    line = one_line_error(capsys.readouterr().err)
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
    assert needle in one_line_error(capsys.readouterr().err)


def test_unknown_run_exits_1(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom, write_config(CHECKS), run_id="nope", wait="0") == 1
    assert "unknown run" in one_line_error(capsys.readouterr().err)


def test_unknown_baseline_run_names_the_baseline_option(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The judged run exists; the unknown one is the baseline: the hint must not send the user
    # to --run-id.
    assert check(fake_prom, write_config(CHECKS), "--baseline-run", "nope", wait="0") == 1
    err = one_line_error(capsys.readouterr().err)
    assert "baseline run: unknown run" in err and "'nope'" in err, err
    assert "check --baseline-run" in err and "--run-id" not in err, err


def test_unfinished_run_waits_then_exits_1(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.runs = {"run-1": None}
    assert check(fake_prom, write_config(CHECKS), wait="0.3") == 1
    assert "run not finished" in one_line_error(capsys.readouterr().err)


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
    assert "GITHUB_STEP_SUMMARY" in one_line_error(capsys.readouterr().err)


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


def test_push_failure_exits_3(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(fake_prom, write_config(CHECKS), "--push-results", closed_port_url()) == 3
    assert "pushing results" in one_line_error(capsys.readouterr().err)


def test_library_refuses_a_wait_timeout_that_never_ends(fake_prom: FakePrometheus) -> None:
    from promgate import Gate, PrometheusClient, UsageError, parse_config

    config = parse_config(CHECKS, "x.yaml", env={})
    with pytest.raises(UsageError, match="wait timeout"):
        Gate(config, PrometheusClient(fake_prom.url), wait_timeout=float("nan")).evaluate("run-1")
    assert fake_prom.hits == 0

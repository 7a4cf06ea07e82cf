"""``promgate runs`` against a real Prometheus holding a real finished run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CompletedRun
from promgate.cli import run
from support import PASSING_GATE, wait_until

pytestmark = pytest.mark.integration


def test_runs_lists_the_completed_run(
    completed_run: CompletedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    url = completed_run.stack.prometheus_url
    assert run(["runs", "--prometheus", url, "--format", "json", "--limit", "0"]) == 0
    rows = json.loads(capsys.readouterr().out)
    starts = [r["start"] for r in rows]
    assert starts == sorted(starts, reverse=True), "not newest first"
    mine = [r for r in rows if r["run_id"] == completed_run.run_id]
    assert len(mine) == 1, f"{completed_run.run_id} not listed: {[r['run_id'] for r in rows]}"
    row = mine[0]
    total = completed_run.run.summary()[("", "Aggregated")]
    assert row["requests"] == total.num_requests
    assert row["error_percent"] == pytest.approx(total.fail_ratio * 100)
    assert row["p95"] == pytest.approx(total.get_response_time_percentile(0.95) / 1000)
    assert row["start"] == pytest.approx(total.start_time, abs=1)
    assert 5 < row["duration"] < 30  # a 12 s run


def test_runs_table_and_limit(
    completed_run: CompletedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    url = completed_run.stack.prometheus_url
    assert run(["runs", "--prometheus", url, "--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["RUN", "ID"]
    assert len(lines) == 2  # header + the newest run


def test_runs_of_an_unknown_job(
    completed_run: CompletedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    url = completed_run.stack.prometheus_url
    assert run(["runs", "--prometheus", url, "--job", "nobody"]) == 0
    assert capsys.readouterr().out == "no runs\n"


def test_runs_shows_the_pushed_verdict(
    completed_run: CompletedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = completed_run.stack.prometheus_url
    result, config = tmp_path / "result.json", tmp_path / "gate.yaml"
    config.write_text(PASSING_GATE)
    args = ["check", "--prometheus", url, "--run-id", completed_run.run_id, "--config",
            str(config), "--json", str(result),
            "--push-results", completed_run.stack.pushgateway_url]  # fmt: skip
    run(args)
    verdict = json.loads(result.read_text())["verdict"]
    capsys.readouterr()

    def listed() -> str | None:
        assert run(["runs", "--prometheus", url, "--format", "json", "--limit", "0"]) == 0
        rows = json.loads(capsys.readouterr().out)
        return next(r["verdict"] for r in rows if r["run_id"] == completed_run.run_id)

    # Another test may have pushed a verdict for this run before: wait for this one.
    wait_until(lambda: listed() == verdict, 15, f"verdict {verdict!r} in promgate runs")
    assert listed() == verdict

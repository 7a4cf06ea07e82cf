"""``promgate runs`` from a stand-in client: one query per column, newest first, verdicts."""

from __future__ import annotations

import io
import json

import pytest
from promgate import queries
from promgate.cli import run
from promgate.core.runs.run_listing import RunRow, list_runs
from promgate.prometheus.templating import render
from promgate.prometheus.types import Sample
from promgate.report.runs_table import format_runs

VARS = {"job": "locust", "window": "7d"}


class FakeClient:
    def __init__(self, columns: dict[str, dict[str, float]]) -> None:
        table = queries.runs_table()
        self.by_expr = {render(table[col], VARS): values for col, values in columns.items()}
        self.asked: list[str] = []

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        self.asked.append(expr)
        return [Sample({"run_id": k}, v) for k, v in self.by_expr.get(expr, {}).items()]


def test_runs_newest_first_with_verdicts() -> None:
    client = FakeClient(
        {
            "start": {"old": 1_000_000.0, "new": 2_000_000.0, "mid": 1_500_000.0},
            "requests": {"old": 10, "new": 20, "mid": 0},
            "error_ratio": {"old": 0.5, "new": 0.0},
            "p95": {"new": 0.25},
            "duration": {"new": 12.0},
            "verdict": {"new": 2, "old": 0, "orphan": 1},
        }
    )
    rows = list_runs(client, "locust", "7d", at=5000.0)  # type: ignore[arg-type]
    assert [r.run_id for r in rows] == ["new", "mid", "old"]  # orphan: no run behind it
    new = rows[0]
    assert (new.start, new.requests, new.error_percent, new.verdict) == (2000.0, 20, 0.0, "fail")
    assert rows[2].error_percent == 50.0 and rows[2].verdict == "pass"
    assert rows[1].verdict is None and rows[1].p95 is None
    assert not any("peak_users" in e or "link" in e for e in client.asked)
    # one query per column and one for the pin/exclude markers, whatever the number of runs
    assert len(client.asked) == 8


def test_table_and_json_formats() -> None:
    rows = [RunRow("a<b>", 1_764_000_000.0, 12.4, 1234, 5.5, 0.0734, 50.25, "fail"),
            RunRow("z", None, None, None, None, None, None, None, "pinned")]  # fmt: skip
    out = io.StringIO()
    format_runs(rows, "table", out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["RUN", "ID", "START", "(UTC)", "DURATION", "REQUESTS", "ERRORS",
                                "P95", "RPS", "VERDICT"]  # fmt: skip
    assert lines[1].split() == ["a<b>", "2025-11-24", "16:00:00", "12s", "1,234", "5.50%",
                                "73.4ms", "50.25", "rps", "fail"]  # fmt: skip
    assert lines[2].split()[:3] == ["z", "-", "-"] and lines[2].endswith("- [pinned]")
    out = io.StringIO()
    format_runs(rows, "json", out)
    assert json.loads(out.getvalue())[0] == {
        "run_id": "a<b>", "start": 1_764_000_000.0, "duration": 12.4, "requests": 1234,
        "error_percent": 5.5, "p95": 0.0734, "rps": 50.25, "verdict": "fail", "marker": None,
    }  # fmt: skip
    out = io.StringIO()
    format_runs([], "table", out)
    assert out.getvalue() == "no runs\n"


def test_table_keeps_a_run_id_with_control_characters_on_one_row() -> None:
    weird = "we\"ird\\ run\nid ünï 😀\t'x'"
    out = io.StringIO()
    format_runs([RunRow(weird, None, None, None, None, None, None, None)], "table", out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # header + one row
    assert lines[1].startswith("we\"ird\\ run\\nid ünï 😀\\t'x'  ")


@pytest.mark.parametrize("limit", ["-3", "x", "1.5"])
def test_bad_limit_is_a_usage_error(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["runs", "--prometheus", "http://127.0.0.1:1", "--limit", limit]) == 2
    err = capsys.readouterr().err.strip()
    assert "--limit" in err and len(err.splitlines()) == 1

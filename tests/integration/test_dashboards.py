"""Every dashboard query, with Grafana's variables filled in, returns data from a real run.

No Grafana server: the targets, variable queries and annotations of the generated JSON run against
the session's Prometheus holding ``completed_run`` (a finished local Locust run, group kept), the
gate's verdict for it (``promgate check --push-results``) and a second, later short run (the Runs
dashboard compares run A with the run before it).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support import PASSING_GATE, has_data, new_run_id, start_locust, wait_until

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "grafana"))

pytest.importorskip("grafana_foundation_sdk")

from dashgen import lint  # noqa: E402
from promgate import queries  # noqa: E402

pytestmark = pytest.mark.integration

DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
# May be empty for this run, and why: the run is local (no workers).
MAY_BE_EMPTY = {"locust_workers"}


@pytest.fixture(scope="module")
def judged_run(completed_run: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``completed_run`` with the gate's verdict pushed and scraped (the Runs table's column)."""
    from promgate.cli import run

    stack = completed_run.stack
    config = tmp_path_factory.mktemp("judged") / "gate.yaml"
    config.write_text(PASSING_GATE)
    code = run(["check", "--prometheus", stack.prometheus_url, "--run-id", completed_run.run_id,
                "--config", str(config), "--push-results", stack.pushgateway_url,
                "--wait-timeout", "30"])  # fmt: skip
    assert code == 0
    verdict = f'promgate_verdict{{run_id="{completed_run.run_id}"}}'
    wait_until(lambda: stack.query(verdict), 30, f"{verdict} in Prometheus")
    return completed_run


@pytest.fixture(scope="module")
def later_run(judged_run: Any, demo_api: Any) -> Any:
    """A short real run started after ``completed_run``, of the same job, group kept."""
    stack = judged_run.stack
    run = start_locust(
        demo_api.url,
        pushgateway=stack.pushgateway_url,
        run_id=new_run_id("later"),
        users=2,
        run_time="3s",
        extra=["--prometheus-keep"],
    ).wait()
    assert run.returncode in (0, 1), run.output
    end = f'locust_run_end_timestamp_seconds{{run_id="{run.run_id}"}}'
    wait_until(lambda: stack.query(end), 30, f"the final push of {run.run_id} in Prometheus")
    return run


def _values(completed_run: Any, later: Any = None) -> tuple[dict[str, str], float, float]:
    """Variable values as Grafana would fill them; run A is ``later`` when given (run B, the
    run before it, is then ``completed_run`` or a run between the two)."""
    stack = completed_run.stack
    sel = f'run_id="{completed_run.run_id}"'
    (start,) = stack.query(f"max(locust_run_start_timestamp_seconds{{{sel}}})")
    (job,) = stack.query(f"group by (job) (locust_run_start_timestamp_seconds{{{sel}}})")
    start_ts = float(start["value"][1])
    # Evaluate after the scrape that saw the final push (the end timestamp), as the gate does.
    scraped = wait_until(
        lambda: stack.query(f"timestamp(locust_run_end_timestamp_seconds{{{sel}}})"),
        15,
        "the final push in Prometheus",
    )
    now = max(time.time(), float(scraped[0]["value"][1]) + 0.5)  # type: ignore[index]
    if later is not None:
        later_sel = f'run_id="{later.run_id}"'
        scraped = wait_until(
            lambda: stack.query(f"timestamp(locust_run_end_timestamp_seconds{{{later_sel}}})"),
            15,
            "the later run's final push in Prometheus",
        )
        now = max(now, float(scraped[0]["value"][1]) + 0.5)  # type: ignore[index]
    values = {
        "datasource": "promgate-prometheus",  # no query names it: only the request target
        "job": str(job["metric"]["job"]),
        "run_id": completed_run.run_id,
        "run_a": later.run_id if later is not None else completed_run.run_id,
        "run_b": completed_run.run_id,
        "endpoint": ".*",  # "All"
        "quantile": "0.95",
        "sut_job": "demo_api",
        # Grafana with the local stack's 1 s scrape interval as the datasource's timeInterval.
        "__rate_interval": "4s",
        "__interval": "1s",
        "__range": f"{math.ceil(now - start_ts) + 30}s",
    }
    return values, start_ts - 5, now


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_every_query_returns_data(judged_run: Any, later_run: Any, path: Path) -> None:
    completed_run = judged_run
    model = json.loads(path.read_text())
    values, start, end = _values(completed_run, later_run)
    empty = []
    checked = 0
    for where, template, instant in lint.expressions(model):
        expr = lint.substitute(template, values)
        assert "$" not in expr, (where, expr)
        if instant:
            result = completed_run.stack.query(expr, at=end)
        else:
            result = completed_run.stack.query_range(expr, start, end + 2)  # past the last scrape
        checked += 1
        if not has_data(result) and not any(m in expr for m in MAY_BE_EMPTY):
            empty.append(f"{where}: {expr}")
    assert checked >= 10
    assert not empty, "queries without data:\n" + "\n".join(empty)


def _panel(name: str, title: str) -> dict[str, Any]:
    model = json.loads((ROOT / "grafana" / "dashboards" / name).read_text())
    return next(p for p in lint.panels(model) if p["title"] == title)


def _stat(completed_run: Any, title: str) -> float:
    values, _, end = _values(completed_run)
    expr = lint.substitute(_panel("locust-run.json", title)["targets"][0]["expr"], values)
    (sample,) = completed_run.stack.query(expr, at=end)
    return float(sample["value"][1])


def test_stats_equal_the_ground_truth_and_locusts_percentile(completed_run: Any) -> None:
    """Requests and failures as the demo API counted them; p95 is Locust's own percentile, close
    to the histogram's and to Locust's CSV (written a little before the last requests finish)."""
    truth = completed_run.truth
    assert _stat(completed_run, "Requests") == sum(reqs for reqs, _ in truth.values())
    assert _stat(completed_run, "Failures") == sum(fails for _, fails in truth.values())
    p95 = _stat(completed_run, "p95 (Locust)")
    values, _, end = _values(completed_run)
    (hist,) = completed_run.stack.query(
        lint.substitute(queries.histogram_quantile_run(0.95, window="$__range"), values), at=end
    )
    # The histogram interpolates inside its (grid-aligned, but not 1 ms wide) buckets: its p95
    # lies in the bucket that holds Locust's (the bound docs/gate.md states for *_hist presets).
    bounds = (0, *queries.HISTOGRAM_BOUNDS_MS)
    high = next(b for b in bounds if b >= round(p95 * 1000))
    low = bounds[bounds.index(high) - 1]
    assert low / 1000 - 1e-9 <= float(hist["value"][1]) <= high / 1000 + 1e-9, (p95, hist)
    (agg,) = [r for r in completed_run.run.stats_rows() if r["Name"] == "Aggregated"]
    assert p95 == pytest.approx(float(agg["95%"]) / 1000, rel=0.2)
    assert _stat(completed_run, "Peak users") == 8


def test_runs_table_links_cover_the_run(judged_run: Any) -> None:
    completed_run = judged_run
    values, start, end = _values(completed_run)
    targets = {
        t["refId"]: t["expr"]
        for t in _panel("locust-runs.json", "Runs (in the time range)")["targets"]
    }

    def value(ref: str) -> float:
        result = completed_run.stack.query(lint.substitute(targets[ref], values), at=end)
        (row,) = [r for r in result if r["metric"]["run_id"] == completed_run.run_id]
        return float(row["value"][1])

    assert value("link_from") / 1000 < value("start") / 1000 <= start + 5
    assert value("link_to") / 1000 > value("start") / 1000 + value("duration")
    assert value("peak_users") == 8
    assert value("verdict") in (0, 1, 2)  # the gate's verdict: pass, warning, fail


def _variable_runs(
    stack: Any, model: dict[str, Any], name: str, values: dict[str, str], at: float
) -> list[str]:
    """The options Grafana lists for a run variable, in its order (query_result + regex)."""
    (var,) = [v for v in model["templating"]["list"] if v["name"] == name]
    expr = lint.substitute(lint.variable_expr(var["query"]), values)
    return [str(r["metric"]["run_id"]) for r in stack.query(expr, at=at)]


def test_run_b_defaults_to_the_run_before_run_a(judged_run: Any, later_run: Any) -> None:
    """Run A's first option (Grafana's default) is the newest run; run B's is the newest run that
    started before run A, never run A itself."""
    stack = judged_run.stack
    model = json.loads((ROOT / "grafana" / "dashboards" / "locust-runs.json").read_text())
    values, _, end = _values(judged_run, later_run)
    run_a = _variable_runs(stack, model, "run_a", values, end)
    assert run_a[0] == later_run.run_id
    values["run_a"] = run_a[0]
    run_b = _variable_runs(stack, model, "run_b", values, end)
    # Every run of the job with its start, independently of the dashboard's query.
    starts = {
        str(r["metric"]["run_id"]): float(r["value"][1])
        for r in stack.query(
            f"max by (run_id) (last_over_time(locust_run_start_timestamp_seconds"
            f'{{job="{values["job"]}"}}[{values["__range"]}]))',
            at=end,
        )
    }
    before = sorted((rid for rid in starts if starts[rid] < starts[later_run.run_id]),
                    key=lambda rid: starts[rid], reverse=True)  # fmt: skip
    assert judged_run.run_id in before
    assert run_b == before  # newest first: the default is the run just before run A
    assert later_run.run_id not in run_b

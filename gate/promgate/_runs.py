"""``promgate runs``: the runs Prometheus knows, newest first.

One instant query per column of ``queries.runs_table`` (the Runs dashboard's table), each
returning a row per ``run_id``, so the listing costs the same for 3 runs or 3,000.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from . import queries
from ._html_charts import format_value
from ._prometheus import PrometheusClient, prometheus_url
from ._templating import render

__all__ = ["RunRow", "add_runs_parser", "format_runs", "list_runs", "run_runs"]

#: promgate_verdict's value -> its name (docs/metrics.md)
_VERDICTS = {0: "pass", 1: "warning", 2: "fail"}


@dataclass(frozen=True)
class RunRow:
    run_id: str
    start: float | None
    duration: float | None
    requests: float | None
    error_percent: float | None
    p95: float | None
    rps: float | None
    #: the gate's verdict when ``promgate check --push-results`` pushed one, else None
    verdict: str | None


def add_runs_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``runs`` subcommand to ``subparsers`` (from ``add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "runs",
        help="list the runs Prometheus knows, newest first",
        description="List the load-test runs in Prometheus (newest first) with their request "
        "count, error rate, p95 and the gate's verdict when it was pushed.",
    )
    p.add_argument(
        "--prometheus", metavar="URL", help="Prometheus base URL (env PROMGATE_PROMETHEUS_URL)"
    )
    p.add_argument("--job", default="locust", help="the exporter's job label (default: locust)")
    p.add_argument(
        "--limit", type=_count, default=20, help="show at most N runs; 0 shows all (default: 20)"
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--lookback", default="7d", help="how far back to look (default: 7d)")
    return p


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def list_runs(
    client: PrometheusClient, job: str, lookback: str = "7d", at: float | None = None
) -> list[RunRow]:
    """Every run of ``job`` with data within ``lookback`` of ``at``, newest first."""
    at = time.time() if at is None else at
    columns: dict[str, dict[str, float]] = {}
    for column, template in queries.runs_table().items():
        if column.startswith("link_") or column == "peak_users":
            # Links are for the dashboard; peak users is a subquery at the evaluation interval
            # over the whole lookback, far too costly for a listing.
            continue
        expr = render(template, {"job": job, "window": lookback})
        for sample in client.query(expr, at):
            run_id = sample.labels.get("run_id")
            if run_id is not None and math.isfinite(sample.value):
                columns.setdefault(run_id, {})[column] = sample.value
    rows = []
    for run_id, c in columns.items():
        if "start" not in c:
            continue  # a gate result without a run behind it
        ratio = c.get("error_ratio")
        verdict = c.get("verdict")
        rows.append(
            RunRow(
                run_id=run_id,
                start=c["start"] / 1000,  # the table's start is in ms, for Grafana
                duration=c.get("duration"),
                requests=c.get("requests"),
                error_percent=ratio * 100 if ratio is not None else None,
                p95=c.get("p95"),
                rps=c.get("rps"),
                verdict=_VERDICTS.get(int(verdict), "unknown") if verdict is not None else None,
            )
        )
    rows.sort(key=lambda r: (r.start or 0.0, r.run_id), reverse=True)
    return rows


def format_runs(rows: list[RunRow], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        json.dump([asdict(r) for r in rows], out, indent=2)
        out.write("\n")
        return
    if not rows:
        out.write("no runs\n")
        return
    head = ("RUN ID", "START (UTC)", "DURATION", "REQUESTS", "ERRORS", "P95", "RPS", "VERDICT")
    table = [head] + [
        (
            _one_line(r.run_id),
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.start)) if r.start else "-",
            f"{r.duration:.0f}s" if r.duration is not None else "-",
            format_value(r.requests, ""),
            format_value(r.error_percent, "%"),
            format_value(r.p95, "s"),
            format_value(r.rps, "/s"),
            r.verdict or "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        cells = [
            cell.ljust(w) if i in (0, 1, 7) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")


def _one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``), so a run id stays one table row."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def run_runs(args: argparse.Namespace, client: PrometheusClient | None = None) -> int:
    """Run ``promgate runs``; errors are raised as ``PromgateError`` (the CLI maps them)."""
    client = client or PrometheusClient(prometheus_url(args.prometheus))
    rows = list_runs(client, args.job, args.lookback)
    if args.limit > 0:
        rows = rows[: args.limit]
    format_runs(rows, args.format, sys.stdout)
    return 0

"""``promgate runs``: list the runs Prometheus knows, newest first."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.runs import list_runs
from ..prometheus.client import PrometheusClient
from ..report.runs import format_runs
from .args import REPORT_EXIT_CODES, prometheus_url

__all__ = ["add_runs_parser", "run_runs"]


def add_runs_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``runs`` subcommand to ``subparsers`` (from ``add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "runs",
        help="list the runs Prometheus knows, newest first",
        description="List the load-test runs in Prometheus (newest first) with their request "
        "count, error rate, p95 and the gate's verdict when it was pushed.",
        epilog=REPORT_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--prometheus", metavar="URL", help="Prometheus base URL (env PROMGATE_PROMETHEUS_URL)"
    )
    p.add_argument(
        "--job", default="locust", metavar="JOB", help="the exporter's job label (default: locust)"
    )
    p.add_argument(
        "--limit",
        type=_count,
        default=20,
        metavar="N",
        help="show at most N runs; 0 shows all (default: 20)",
    )
    p.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table: one line per run; json: a list of objects for scripts (default: table)",
    )
    p.add_argument(
        "--lookback", default="7d", metavar="DURATION", help="how far back to look (default: 7d)"
    )
    return p


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def run_runs(args: argparse.Namespace, client: PrometheusClient | None = None) -> int:
    """Run ``promgate runs``; errors are raised as ``PromgateError`` (the CLI maps them)."""
    client = client or PrometheusClient(prometheus_url(args.prometheus))
    rows = list_runs(client, args.job, args.lookback)
    if args.limit > 0:
        rows = rows[: args.limit]
    format_runs(rows, args.format, sys.stdout)
    return 0

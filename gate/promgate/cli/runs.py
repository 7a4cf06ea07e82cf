"""``promgate runs``: list the runs Prometheus knows (or a directory's result files, ``--dir``),
newest first; ``promgate runs pin|exclude RUN`` curates which runs may be a baseline."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config.loader import load_config
from ..core.runs.result_files import gather_results
from ..core.runs.run_listing import list_runs, rows_from_results
from ..defaults import LOOKBACK
from ..errors import ExitCode, UsageError
from ..prometheus.client import PrometheusClient, build_session
from ..prometheus.settings import PrometheusSettings
from ..report.runs_table import format_runs
from .args import RUNS_EXIT_CODES, add_sigv4_options, prometheus_url, with_sigv4
from .markers import mark_run

__all__ = ["add_runs_parser", "run_runs"]


def add_runs_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``runs`` subcommand to ``subparsers`` (from ``add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "runs",
        help="list the runs (Prometheus, or result files with --dir); pin or exclude one",
        description="List the load-test runs in Prometheus (newest first) with their request "
        "count, error rate, p95 and the gate's verdict when it was pushed; with --dir DIR, the "
        "result files in DIR (promgate check --json). 'runs pin RUN' makes RUN a preferred "
        "baseline, 'runs exclude RUN' keeps it from ever being one: with --dir, in DIR's index "
        "file (promgate-index.json); else as markers pushed to --pushgateway or written by "
        "--remote-write (auth from --config's prometheus: block, or --prometheus-sigv4-region). "
        "--clear undoes.",
        epilog=RUNS_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action", nargs="?", choices=("pin", "exclude"), help="pin or exclude RUN (default: list)"
    )
    p.add_argument("run", nargs="?", metavar="RUN", help="the run id to pin or exclude")
    p.add_argument(
        "--prometheus", metavar="URL", help="Prometheus base URL (env PROMGATE_PROMETHEUS_URL)"
    )
    add_sigv4_options(p)
    p.add_argument(
        "--dir",
        metavar="DIR",
        help="result files (promgate check --json) instead of Prometheus: the directory given "
        "to check --baseline-file",
    )
    sink = p.add_mutually_exclusive_group()
    sink.add_argument(
        "--pushgateway",
        metavar="URL",
        help="where pin/exclude push their marker without --dir (env PROMGATE_PUSHGATEWAY_URL; "
        "the one check --push-results uses)",
    )
    sink.add_argument(
        "--remote-write",
        metavar="URL",
        help="write the marker by Prometheus remote write instead (env "
        "PROMGATE_REMOTE_WRITE_URL; the URL check --remote-write-results uses)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="a gate config whose prometheus: block (URL, auth, TLS, headers) reaches the store",
    )
    p.add_argument("--clear", action="store_true", help="remove the pin or the exclusion")
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
        "--lookback",
        default=LOOKBACK,
        metavar="DURATION",
        help=f"how far back to look (default: {LOOKBACK})",
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
    settings = load_config(args.config) if args.config else None
    block = with_sigv4(args, settings.prometheus if settings else PrometheusSettings())
    if args.action:
        if not args.run:
            raise UsageError(f"runs {args.action}: which run? (promgate runs {args.action} RUN)")
        signed = block.sigv4_region and not args.dir and not args.pushgateway
        session = build_session(block) if settings or signed else None
        line = mark_run(
            args.action,
            args.run,
            args.clear,
            args.dir,
            args.pushgateway,
            args.remote_write,
            session,
        )
        print(line)
        return ExitCode.PASS
    if args.dir:
        found = gather_results([args.dir])
        if found.missing:
            raise UsageError(f"runs --dir {args.dir}: no such directory", option="dir")
        idx = found.index
        rows = rows_from_results([r for _, r in found.results], idx.pinned, idx.excluded)
    else:
        if client is None:
            url = prometheus_url(args.prometheus, block.url)
            client = PrometheusClient.from_settings(url, block)
        rows = list_runs(client, args.job, args.lookback)
    if args.limit > 0:
        rows = rows[: args.limit]
    format_runs(rows, args.format, sys.stdout)
    return ExitCode.PASS

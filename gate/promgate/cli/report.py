"""``promgate report`` and ``promgate check --html``: write the HTML report of one run.

``report`` works from Prometheus alone (a run id) or from a gate result (``--result``, the file
``promgate check --json`` wrote), which adds the verdict, the checks and their thresholds and
pins the window to the one the gate judged. A result file holds the report's tables and chart
lines: it renders with no Prometheus at all (an older result without them reads them from
Prometheus).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from ..core.model.result import SCHEMA, SCHEMAS, GateResult
from ..core.runs.collect import fetch_profile, fetch_report, observe_run
from ..defaults import LOOKBACK
from ..errors import ExitCode, PrometheusError, UsageError
from ..prometheus.client import PrometheusClient
from ..prometheus.settings import PrometheusSettings
from ..prometheus.window import find_latest_run, resolve_run
from .args import (
    REPORT_EXIT_CODES,
    SECONDS,
    add_sigv4_options,
    prometheus_url,
    wait_seconds,
    with_sigv4,
)
from .check import HTML_HELP
from .files import write_html

__all__ = [
    "add_report_parser",
    "run_report",
]


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``subparsers`` (from ``add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write the HTML report of a run (charts, endpoints, errors, the gate's checks)",
        description=(
            "Write the HTML report of a run (one file, and <name>.css beside it for viewers "
            "with a strict CSP): verdict, checks, charts over the run, the per-endpoint and "
            "errors tables. Give --run-id, or --result (from promgate check --json) for the "
            "gate's verdict and thresholds: a result renders with no Prometheus at all."
        ),
        epilog=REPORT_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus base URL (env PROMGATE_PROMETHEUS_URL); not needed with --result",
    )
    add_sigv4_options(p)
    p.add_argument(
        "--run-id",
        metavar="ID",
        help="the run to report, or 'latest' (default: the run in --result)",
    )
    p.add_argument(
        "--job", default="locust", metavar="JOB", help="the exporter's job label (default: locust)"
    )
    p.add_argument("--result", metavar="FILE", help="gate result from promgate check --json")
    p.add_argument("--html", required=True, metavar="FILE", help=HTML_HELP)
    p.add_argument(
        "--lookback",
        default=LOOKBACK,
        metavar="DURATION",
        help=f"how far back to look for the run (default: {LOOKBACK})",
    )
    p.add_argument(
        "--wait-timeout",
        type=wait_seconds,
        default=0.0,
        metavar=SECONDS,
        help="wait this long for a run that is still going to finish (default: 0, no wait)",
    )
    return p


def run_report(args: argparse.Namespace, client: PrometheusClient | None = None) -> int:
    """Run ``promgate report``; errors are raised as ``PromgateError`` (the CLI maps them)."""

    def prometheus() -> PrometheusClient:
        settings = with_sigv4(args, PrometheusSettings())
        return client or PrometheusClient.from_settings(prometheus_url(args.prometheus), settings)

    result = _load_result(args.result) if args.result else None
    if result is not None:
        if args.run_id and args.run_id != result.run_id:
            raise UsageError(
                f"report: --run-id {args.run_id!r} differs from the run in {args.result} "
                f"({result.run_id!r}) (drop one of them)"
            )
        if result.report is None:  # written before results held the report's data
            client = prometheus()
            result.report = fetch_report(client, result.run)  # a failed query is a note
            if result.profile is None:
                with contextlib.suppress(PrometheusError):  # then its peak users read no data
                    result.profile = fetch_profile(client, result.run)
        write_html(args.html, result)  # and its .css beside it
    elif args.run_id:
        client = prometheus()
        run_id = args.run_id
        if run_id == "latest":
            run_id = find_latest_run(client, args.job, args.lookback)
        window = resolve_run(
            client,
            run_id,
            args.job,
            lookback=args.lookback,
            wait_timeout=args.wait_timeout,
            progress=lambda msg: print(msg, file=sys.stderr),
        )
        write_html(args.html, observe_run(client, window), judged=False)
    else:
        raise UsageError("report: no run given (pass --run-id, or --result from check --json)")
    print(f"promgate: HTML report written to {args.html}", file=sys.stderr)
    return ExitCode.PASS


def _load_result(path: str) -> GateResult:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read gate result {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"bad gate result {path}: not JSON ({exc.msg} at line {exc.lineno}) "
            "(pass the file written by promgate check --json)"
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer of more than 4,300 digits
        raise UsageError(f"bad gate result {path}: {exc}") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if isinstance(schema, str) and schema.startswith("promgate.result/") and schema not in SCHEMAS:
        # as check --baseline-file says it: the file is fine, this promgate is too old for it
        raise UsageError(
            f"bad gate result {path}: written by a newer promgate (schema {schema!r}; this "
            f"promgate reads up to {SCHEMA}) (upgrade promgate)"
        )
    try:
        return GateResult.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # A file from elsewhere may have any shape: every way of not being a result is exit 2.
        raise UsageError(
            f"bad gate result {path}: {exc} (pass the file written by promgate check --json)"
        ) from None

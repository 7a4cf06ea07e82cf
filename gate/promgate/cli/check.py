"""``promgate check``: judge one run and write the reports."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..config.loader import GateConfig, load_config
from ..config.thresholds import load_thresholds
from ..core.gate import Gate
from ..core.result import GateResult
from ..errors import UsageError
from ..prometheus.client import PrometheusClient, prometheus_url
from ..report.analysis import analysis_document
from ..report.files import write_report
from ..report.github import github_annotations
from ..report.html.write import write_html_report
from ..report.junit import render_junit
from ..report.markdown import render_markdown
from ..report.push import push_results
from ..report.text import write_table
from .args import parse_vars, wait_seconds

__all__ = ["add_check_parser", "run_check"]


def add_check_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "check",
        help="judge a run against thresholds and a baseline",
        description="Evaluate PromQL checks over one run's window and judge them.",
    )
    p.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus base URL (env PROMGATE_PROMETHEUS_URL, or config)",
    )
    p.add_argument(
        "--run-id",
        metavar="ID",
        help="run to judge, or 'latest' (env PROMGATE_RUN_ID, LOCUST_PROMETHEUS_RUN_ID)",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", metavar="FILE", help="gate config (YAML)")
    src.add_argument(
        "--thresholds", metavar="FILE", help="the seed's performance_thresholds.json, unchanged"
    )
    base = p.add_mutually_exclusive_group()
    base.add_argument("--baseline-run", metavar="ID", help="compare with this run")
    base.add_argument(
        "--baseline-file", metavar="FILE", help="compare with an earlier result written by --json"
    )
    p.add_argument("--json", metavar="FILE", help="write the full result as JSON")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown PR comment")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument(
        "--analysis-json",
        metavar="FILE",
        help="write the seed's analysis JSON (for its check_regression.py)",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template variable for queries (repeatable)",
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.add_argument("--job", help="Pushgateway job of the run (default: config job, or locust)")
    p.add_argument(
        "--wait-timeout",
        type=wait_seconds,
        metavar="S",
        help="how long to wait for the run to finish (default 300)",
    )
    p.add_argument("--push-results", metavar="URL", help="push the verdicts to a Pushgateway")
    p.add_argument(
        "--format",
        choices=("auto", "table", "github"),
        default="auto",
        help="stdout format; github adds ::error:: annotations (auto: when GITHUB_ACTIONS=true)",
    )
    return p


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_check(args: argparse.Namespace) -> int:
    env = os.environ
    run_id = args.run_id or env.get("PROMGATE_RUN_ID") or env.get("LOCUST_PROMETHEUS_RUN_ID")
    if not run_id:
        raise UsageError("no run id (pass --run-id ID or 'latest', or set PROMGATE_RUN_ID)")
    variables = parse_vars(args.var)
    config: GateConfig = (
        load_config(args.config) if args.config else load_thresholds(args.thresholds)
    )
    url = prometheus_url(args.prometheus, config.prometheus.url)
    client = PrometheusClient.from_settings(url, config.prometheus)
    gate = Gate(
        config,
        client,
        job=args.job,
        variables=variables,
        wait_timeout=args.wait_timeout,
        progress=_progress,
    )
    result = gate.evaluate(
        run_id, baseline_run=args.baseline_run, baseline_file=args.baseline_file, strict=args.strict
    )
    _write_reports(args, result, client)
    github = args.format == "github" or (
        args.format == "auto" and env.get("GITHUB_ACTIONS") == "true"
    )
    write_table(result, sys.stdout)
    if github:
        for line in github_annotations(result):
            print(line)
        summary_path = env.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            try:
                with open(summary_path, "a", encoding="utf-8") as fh:
                    fh.write(render_markdown(result) + "\n")
            except OSError as exc:
                raise UsageError(
                    f"cannot append to GITHUB_STEP_SUMMARY {summary_path}: "
                    f"{exc.strerror or exc} (is it a writable file?)"
                ) from None
    if args.push_results:
        push_results(result, args.push_results)
    return result.exit_code


def _write_reports(args: argparse.Namespace, result: GateResult, client: PrometheusClient) -> None:
    doc = result.to_dict()
    if args.json:
        write_report(args.json, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if args.junit:
        write_report(args.junit, render_junit(result))
    if args.markdown:
        write_report(args.markdown, render_markdown(result))
    if args.analysis_json:
        write_report(args.analysis_json, json.dumps(analysis_document(result), indent=2) + "\n")
    if args.html:
        write_html_report(args.html, client, result)

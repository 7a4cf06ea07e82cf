"""``promgate check``: judge one run and write the reports."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from ..config.loader import GateConfig, load_config
from ..config.thresholds import load_thresholds
from ..core.gate import Gate
from ..core.model.result import GateResult
from ..core.runs.collect import fetch_report
from ..core.runs.grafana_link import check_grafana_url, dashboard_url
from ..defaults import WAIT_TIMEOUT
from ..errors import UsageError
from ..prometheus.client import PrometheusClient
from ..report.analysis import analysis_document
from ..report.github import github_annotations
from ..report.junit import render_junit
from ..report.markdown import render_markdown
from ..report.text import write_table
from ..textsafe import line_safe
from .args import (
    EXIT_CODES,
    SECONDS,
    add_sigv4_options,
    parse_vars,
    prometheus_url,
    wait_seconds,
    warning_code,
    with_sigv4,
)
from .files import write_html, write_report
from .pushgateway import check_push_url, check_remote_write_url, push_results, write_results

__all__ = [
    "add_check_options",
    "add_check_parser",
    "build_gate",
    "judge_run",
    "publish",
    "run_check",
]


def add_check_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "check",
        help="judge a run against thresholds and a baseline",
        description="Evaluate PromQL checks over one run's window and judge them.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_check_options(p)
    return p


#: the ``--html`` help of check, run and report: the stylesheet beside it is part of the report
HTML_HELP = "write the HTML report (and <name>.css beside it, for viewers with a strict CSP)"


def add_check_options(
    p: argparse.ArgumentParser,
    run_id_help: str = "run to judge, or 'latest' (env PROMGATE_RUN_ID, LOCUST_PROMETHEUS_RUN_ID)",
    wait_default: float = WAIT_TIMEOUT,
) -> None:
    """The options of ``check`` (``run`` shares them, with its own ``wait_default``): config,
    run, baseline, outputs."""
    p.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus base URL (env PROMGATE_PROMETHEUS_URL, or config)",
    )
    add_sigv4_options(p)
    p.add_argument("--run-id", metavar="ID", help=run_id_help)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", metavar="FILE", help="gate config (YAML)")
    src.add_argument(
        "--thresholds",
        metavar="FILE",
        help="a performance_thresholds.json (the Locust CI/CD guide's thresholds file), unchanged",
    )
    p.add_argument(
        "--baseline-run", metavar="ID", help="compare with this run (not with --baseline-file)"
    )
    p.add_argument(
        "--baseline-file",
        action="append",
        metavar="PATH",
        help="compare with earlier results written by --json: a file, or a directory of them "
        "(its *.json, not recursive); repeatable. One file: that run. A directory or several: "
        "the newest result that passed or warned, of the same job/testplan/environment, or with "
        "--baseline-history N the N newest. A directory that does not exist yet: no baseline "
        "yet, a note (no failure)",
    )
    p.add_argument(
        "--baseline-history",
        type=_history_count,
        metavar="N",
        help="compare with the last N earlier runs of the job (same testplan/environment) whose "
        "verdict was pass or warning: from --baseline-file results, else from Prometheus "
        "(verdicts pushed with --push-results) (config: baseline: {history: N})",
    )
    p.add_argument("--json", metavar="FILE", help="write the full result as JSON ('-': stdout)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML ('-': stdout)")
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown PR comment ('-': stdout)")
    p.add_argument("--html", metavar="FILE", help=HTML_HELP)
    p.add_argument(
        "--analysis-json",
        metavar="FILE",
        help="write the analysis JSON the Locust CI/CD guide's check_regression.py reads",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template variable for queries (repeatable)",
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.add_argument(
        "--warning-exit-code",
        type=warning_code,
        metavar="N",
        help="exit N when the verdict is warning, for CI's unstable state (0, or 5-125; "
        "env PROMGATE_WARNING_EXIT_CODE, else config warning_exit_code, else 0; --strict makes "
        "warnings fail instead)",
    )
    p.add_argument(
        "--job", metavar="JOB", help="Pushgateway job of the run (default: config job, or locust)"
    )
    p.add_argument(
        "--wait-timeout",
        type=wait_seconds,
        metavar=SECONDS,
        help="how long to wait for the run to finish and its final push to be scraped "
        f"(default: config wait_timeout, else {wait_default:g})",
    )
    sink = p.add_mutually_exclusive_group()
    sink.add_argument("--push-results", metavar="URL", help="push the verdicts to a Pushgateway")
    sink.add_argument(
        "--remote-write-results",
        metavar="URL",
        help="deliver the verdicts by Prometheus remote write instead (e.g. "
        "https://mimir/api/v1/push), with the config's prometheus: auth (or SigV4), TLS and "
        "headers",
    )
    p.add_argument(
        "--grafana-url",
        metavar="URL",
        help="Grafana base URL: the reports link to the run's dashboard (env PROMGATE_GRAFANA_URL)",
    )
    p.add_argument(
        "--format",
        choices=("auto", "table", "github"),
        default="auto",
        help="stdout format; github adds ::error:: annotations (auto: when GITHUB_ACTIONS=true)",
    )


def _history_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number of runs >= 1, got {text!r}")
    return n


def _progress(message: str) -> None:
    print(line_safe(message), file=sys.stderr, flush=True)


def build_gate(args: argparse.Namespace) -> Gate:
    """The gate the options describe: config (or thresholds file), Prometheus client, vars."""
    grafana = args.grafana_url or os.environ.get("PROMGATE_GRAFANA_URL")
    if grafana:
        check_grafana_url(grafana)  # before the run, not after it
    args.warning_exit_code = _warning_exit_code(args)
    if args.push_results:
        check_push_url(args.push_results)
    if args.remote_write_results:
        check_remote_write_url(args.remote_write_results)
    config: GateConfig = (
        load_config(args.config) if args.config else load_thresholds(args.thresholds)
    )
    config = dataclasses.replace(config, prometheus=with_sigv4(args, config.prometheus))
    url = prometheus_url(args.prometheus, config.prometheus.url)
    client = PrometheusClient.from_settings(url, config.prometheus)
    return Gate(
        config,
        client,
        job=args.job,
        variables=parse_vars(args.var),
        wait_timeout=args.wait_timeout,
        progress=_progress,
    )


def judge_run(args: argparse.Namespace, gate: Gate, run_id: str) -> GateResult:
    return gate.evaluate(
        run_id,
        baseline_run=args.baseline_run,
        baseline_file=args.baseline_file,
        baseline_history=args.baseline_history,
        strict=args.strict,
        warning_exit_code=args.warning_exit_code,
    )


def _warning_exit_code(args: argparse.Namespace) -> int | None:
    """``--warning-exit-code``, else ``PROMGATE_WARNING_EXIT_CODE`` (what a CI template sets
    beside its mapping of the code), else None: the config's."""
    if args.warning_exit_code is not None:
        return int(args.warning_exit_code)
    text = os.environ.get("PROMGATE_WARNING_EXIT_CODE", "").strip()
    if not text:
        return None
    try:
        return warning_code(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"bad PROMGATE_WARNING_EXIT_CODE: {exc}") from None


def run_check(args: argparse.Namespace) -> int:
    run_id = args.run_id or os.environ.get("PROMGATE_RUN_ID")
    run_id = run_id or os.environ.get("LOCUST_PROMETHEUS_RUN_ID")
    if not run_id:
        raise UsageError("no run id (pass --run-id ID or 'latest', or set PROMGATE_RUN_ID)")
    _check_outputs(args)
    gate = build_gate(args)
    return publish(args, judge_run(args, gate, run_id), gate.client)


def _check_outputs(args: argparse.Namespace) -> None:
    to_stdout = [f"--{n.replace('_', '-')} -" for n in _STDOUT_OUTPUTS if getattr(args, n) == "-"]
    if len(to_stdout) > 1:
        raise UsageError(f"only one output can go to stdout, got {' and '.join(to_stdout)}")


#: outputs that may be written to stdout with ``-``
_STDOUT_OUTPUTS = ("json", "junit", "markdown", "analysis_json")


def publish(args: argparse.Namespace, result: GateResult, client: PrometheusClient) -> int:
    """Write every report the options ask for, print the table (and GitHub annotations), push
    the results; the exit code of the verdict."""
    env = os.environ
    _check_outputs(args)
    grafana = args.grafana_url or env.get("PROMGATE_GRAFANA_URL")
    if grafana:
        result.dashboard_url = dashboard_url(grafana, result.run)
    if args.json or args.html:
        # The result file carries what the HTML report shows: ``promgate report --result``
        # renders it again, byte for byte, without Prometheus.
        result.report = fetch_report(client, result.run)
    stdout_taken = _write_reports(args, result)
    github = args.format == "github" or (
        args.format == "auto" and env.get("GITHUB_ACTIONS") == "true"
    )
    # With a document on stdout, the table goes to stderr so the document stays parseable.
    write_table(result, sys.stderr if stdout_taken else sys.stdout)
    if github:
        for line in github_annotations(result):
            print(line, file=sys.stderr if stdout_taken else sys.stdout)
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
    if args.remote_write_results:
        write_results(result, args.remote_write_results, client.session, client.retries)
    return result.exit_code


def _write_reports(args: argparse.Namespace, result: GateResult) -> bool:
    """Write the reports asked for; True when one went to stdout."""
    texts: dict[str, Callable[[], str]] = {
        "json": lambda: json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
        "junit": lambda: render_junit(result),
        "markdown": lambda: render_markdown(result),
        "analysis_json": lambda: json.dumps(analysis_document(result), indent=2) + "\n",
    }
    stdout_taken = False
    for name, text in texts.items():
        target = getattr(args, name)
        if target == "-":
            sys.stdout.write(text())
            stdout_taken = True
        elif target:
            write_report(target, text())
    if args.html:
        # From the result as its file reads back, so ``promgate report --result`` writes the
        # same bytes (a value the file cannot hold, such as NaN, reads back as no data).
        write_html(args.html, GateResult.from_dict(json.loads(json.dumps(result.to_dict()))))
    return stdout_taken

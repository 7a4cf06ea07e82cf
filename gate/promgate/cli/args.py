"""Argument types and parsers shared by several subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

from ..config.outcomes import check_warning_exit_code
from ..errors import ConfigError, ExitCode, UsageError
from ..prometheus.settings import PrometheusSettings

__all__ = [
    "EXIT_CODES",
    "LINT_EXIT_CODES",
    "REPORT_EXIT_CODES",
    "RUNS_EXIT_CODES",
    "RUN_EXIT_CODES",
    "SECONDS",
    "TOP_EXIT_CODES",
    "add_sigv4_options",
    "parse_vars",
    "prometheus_url",
    "wait_seconds",
    "warning_code",
    "with_sigv4",
]

#: ``--wait-timeout``'s metavar everywhere (the other durations say SECONDS too)
SECONDS = "SECONDS"


def _table(*rows: tuple[ExitCode | str, str]) -> str:
    """An exit-code table as every ``--help`` ends with; the last rows are shared by all. A row's
    code is an ``ExitCode``, or ``"N"`` for the configurable warning code."""
    shared = (
        (
            ExitCode.BUG,
            "internal error (a bug: rerun with PROMGATE_DEBUG=1 and report the traceback)",
        ),
        (ExitCode.INTERRUPTED, "interrupted (Ctrl-C)"),
    )
    return "exit codes:\n" + "\n".join(
        f"  {c if isinstance(c, str) else int(c):<3}  {t}" for c, t in (*rows, *shared)
    )


#: ``--warning-exit-code``: the row of check's and run's tables
_WARNING = ("N", "warning, with --warning-exit-code N or config warning_exit_code (0 or 5-125)")
_USAGE = (
    ExitCode.USAGE,
    "usage or config error (bad option, config, PromQL syntax, a bad result file)",
)
_PROMETHEUS = (
    ExitCode.PROMETHEUS,
    "Prometheus unreachable or failing (never mistaken for a failed threshold)",
)
#: ``promgate check``
EXIT_CODES = _table(
    (ExitCode.PASS, "pass (warnings allowed unless --strict)"),
    _WARNING,
    (ExitCode.FAIL, "fail: a critical condition, no data, or an unknown or unfinished run"),
    _USAGE,
    _PROMETHEUS,
)
#: ``promgate run``: check's codes, plus the load test's own outcomes
RUN_EXIT_CODES = _table(
    (ExitCode.PASS, "pass (warnings allowed unless --strict)"),
    _WARNING,
    (ExitCode.FAIL, "fail: a critical condition, no data, an unknown run, or the run was aborted"),
    (ExitCode.USAGE, "usage or config error, or Locust did not start a run"),
    _PROMETHEUS,
)
#: ``promgate lint``
LINT_EXIT_CODES = _table(
    (ExitCode.PASS, "every file is valid"),
    (ExitCode.USAGE, "a problem in at least one file (each one is listed)"),
)
#: ``promgate report``
REPORT_EXIT_CODES = _table(
    (ExitCode.PASS, "written"),
    (ExitCode.FAIL, "an unknown or unfinished run"),
    (ExitCode.USAGE, "usage error (bad option, unreadable --result)"),
    _PROMETHEUS,
)
#: ``promgate runs``: a listing or a mark never judges a run, so never exits 1
RUNS_EXIT_CODES = _table(
    (ExitCode.PASS, "listed, or the run pinned/excluded"),
    (
        ExitCode.USAGE,
        "usage error (bad option, no --dir directory, a bad result file or index in it)",
    ),
    (ExitCode.PROMETHEUS, "Prometheus or the Pushgateway (pin/exclude) unreachable or failing"),
)
#: ``promgate --help``: what each command's code means
TOP_EXIT_CODES = _table(
    (ExitCode.PASS, "pass (check, run), valid (lint), written (report), listed or marked (runs)"),
    ("N", "warning (check, run) with --warning-exit-code N (0 or 5-125)"),
    (
        ExitCode.FAIL,
        "fail: a critical condition, no data, an unknown or unfinished run, an aborted run",
    ),
    _USAGE,
    _PROMETHEUS,
)


def wait_seconds(text: str) -> float:
    """``--wait-timeout``: seconds >= 0 (NaN, which would never time out, is refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):  # inf would never time out either
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def warning_code(text: str) -> int:
    """``--warning-exit-code``: 0 or a code promgate and the shell give no meaning."""
    try:
        return check_warning_exit_code(int(text))
    except (ValueError, ConfigError) as exc:
        detail = exc.message if isinstance(exc, ConfigError) else f"expected a number, got {text!r}"
        raise argparse.ArgumentTypeError(detail) from None


def parse_vars(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"bad --var {item!r} (expected name=value)")
        out[key] = value
    return out


def prometheus_url(given: str | None, default: str | None = None) -> str:
    """``--prometheus``, else ``PROMGATE_PROMETHEUS_URL``, else ``default`` (``check``: the
    config's ``prometheus.url``)."""
    url = given or os.environ.get("PROMGATE_PROMETHEUS_URL") or default
    if not url:
        raise UsageError("no Prometheus URL (pass --prometheus URL or set PROMGATE_PROMETHEUS_URL)")
    return url


def add_sigv4_options(p: argparse.ArgumentParser) -> None:
    """``--prometheus-sigv4-region/-profile``: the exporter's names, for every command that
    talks to Prometheus."""
    p.add_argument(
        "--prometheus-sigv4-region",
        metavar="REGION",
        help="sign every request to Prometheus (queries, remote write) with AWS SigV4 for this "
        "region, as Amazon Managed Service for Prometheus requires; credentials from the "
        "standard AWS chain; needs promgate[aws] (env PROMGATE_PROMETHEUS_SIGV4_REGION, or "
        "config prometheus: {sigv4: {region: ...}})",
    )
    p.add_argument(
        "--prometheus-sigv4-profile",
        metavar="PROFILE",
        help="AWS profile for the SigV4 credentials (env PROMGATE_PROMETHEUS_SIGV4_PROFILE, or "
        "config prometheus.sigv4.profile; default: AWS_PROFILE or the default chain)",
    )


def with_sigv4(args: argparse.Namespace, settings: PrometheusSettings) -> PrometheusSettings:
    """``settings`` with the SigV4 region and profile of the options, else of the environment
    (``PROMGATE_PROMETHEUS_SIGV4_REGION``/``_PROFILE``), else the config's."""
    env = os.environ
    region = getattr(args, "prometheus_sigv4_region", None)
    region = region or env.get("PROMGATE_PROMETHEUS_SIGV4_REGION") or settings.sigv4_region
    profile = getattr(args, "prometheus_sigv4_profile", None)
    profile = profile or env.get("PROMGATE_PROMETHEUS_SIGV4_PROFILE") or settings.sigv4_profile
    region, profile = (region or "").strip() or None, (profile or "").strip() or None
    if (region, profile) == (settings.sigv4_region, settings.sigv4_profile):
        return settings
    return dataclasses.replace(settings, sigv4_region=region, sigv4_profile=profile)

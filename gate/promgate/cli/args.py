"""Argument types and parsers shared by several subcommands."""

from __future__ import annotations

import argparse
import math
import os

from ..errors import UsageError

__all__ = ["EXIT_CODES", "parse_vars", "prometheus_url", "wait_seconds"]

#: the exit-code table every ``--help`` ends with
EXIT_CODES = """exit codes:
  0  pass (warnings allowed unless --strict)
  1  fail: a critical condition, no data, or an unknown or unfinished run
  2  usage or config error (bad option, config, PromQL syntax)
  3  Prometheus unreachable or failing (never mistaken for a failed threshold)
  4  internal error (a bug: rerun with PROMGATE_DEBUG=1 and report the traceback)"""


def wait_seconds(text: str) -> float:
    """``--wait-timeout``: seconds >= 0 (NaN, which would never time out, is refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


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

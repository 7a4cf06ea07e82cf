"""Offline checks of a config: every query templated with placeholders and parsed.

Uses promql-parser (the Rust parser Prometheus's grammar is ported to), so ``promgate lint``
and ``promgate check`` reject bad PromQL before any request is made.
"""

from __future__ import annotations

from collections.abc import Mapping

import promql_parser

from ..errors import ConfigError, QuerySyntaxError
from ..prometheus.templating import render
from .loader import CheckSpec, GateConfig
from .promql_bounds import check_bounds

__all__ = ["PLACEHOLDERS", "lint_config", "parse_promql"]

#: Values the run's variables take when a config is checked without a run.
PLACEHOLDERS: dict[str, str] = {
    "run_id": 'lint-run "quoted" \\ id',
    "job": "locust",
    "run_start": "1700000000",
    "run_end": "1700000600",
    "run_duration": "660s",
    "window": "660s",
    "win_start": "1700000030",
    "win_end": "1700000615",
    "win_seconds": "570",
    "win_range": "585s",
}


def parse_promql(expr: str) -> None:
    """Raise ``QuerySyntaxError`` (one line) when ``expr`` is not valid PromQL."""
    check_bounds(expr)  # the parser crashes the process on some inputs it is given
    try:
        promql_parser.parse(expr)
    except (ValueError, RuntimeError, TypeError) as exc:
        detail = " ".join(str(exc).split())
        raise QuerySyntaxError(
            f"bad PromQL: {detail} (check brackets, quotes and function names)"
        ) from None
    except BaseException as exc:  # the Rust extension panics as pyo3's PanicException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise QuerySyntaxError(f"bad PromQL: parser failed: {exc}") from None


def lint_check(check: CheckSpec, source: str, variables: Mapping[str, str]) -> None:
    _lint_query(check.query, f"checks.{check.name}", check.line, source, variables)


def _lint_query(
    query: str, key: str, line: int | None, source: str, variables: Mapping[str, str]
) -> None:
    try:
        parse_promql(render(query, variables))
    except ConfigError as exc:
        raise QuerySyntaxError(
            exc.message, file=source, line=line, key=f"{key}.query", option=exc.option
        ) from None


def lint_config(
    config: GateConfig, extra_vars: Mapping[str, str] | None = None
) -> list[ConfigError]:
    """Every problem found (empty when the config is fine)."""
    variables = {**PLACEHOLDERS, **config.vars, **(extra_vars or {})}
    errors: list[ConfigError] = []
    for check in config.checks:
        try:
            lint_check(check, config.source, variables)
        except ConfigError as exc:
            errors.append(exc)
    # A check rejected for another problem still has its PromQL checked: every error at once.
    for ref in config.rejected:
        try:
            _lint_query(ref.query, ref.key, ref.line, config.source, variables)
        except ConfigError as exc:
            errors.append(exc)
    return errors

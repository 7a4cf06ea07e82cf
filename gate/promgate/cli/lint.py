"""``promgate lint FILE...``: validate configs and their PromQL offline, like yamllint/promtool.

Every problem found in every file is reported as ``file:line: message`` (or a GitHub annotation
with ``--format github``); exit 2 when there is one, 0 otherwise. An unset ``${VAR}`` in a
credential field is a note, not an error: CI lints without credentials.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config.loader import load_config
from ..config.query_lint import lint_config
from ..config.thresholds import load_thresholds
from ..errors import ConfigError, ExitCode
from ..report.github import annotation
from ..textsafe import line_safe, redact_urls
from .args import LINT_EXIT_CODES, parse_vars

__all__ = ["add_lint_parser", "run_lint"]


def add_lint_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lint",
        help="check gate configs and their PromQL without Prometheus",
        description="Validate gate configs (YAML, or performance_thresholds.json, the Locust "
        "CI/CD guide's thresholds file) and every query's PromQL syntax, offline. Reports every "
        "problem in every file.",
        epilog=LINT_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("configs", nargs="+", metavar="FILE", help="gate.yaml or thresholds JSON")
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra template variable (repeatable)",
    )
    p.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="text: file:line: message on stderr; github: ::error annotations on stdout",
    )
    return p


def _problems(path: str, extra: dict[str, str]) -> tuple[list[ConfigError], list[str], int]:
    """(errors, notes, checks that passed) of one file."""
    errors: list[ConfigError] = []
    notes: list[str] = []
    try:
        if path.endswith(".json"):
            config = load_thresholds(path)
        else:
            config = load_config(path, errors=errors, notes=notes)
    except ConfigError as exc:  # unreadable or not YAML/JSON at all: nothing more to find
        return [exc], notes, 0
    syntax = lint_config(config, extra)
    errors.extend(syntax)
    return errors, notes, len(config.checks) - len(syntax)


def run_lint(args: argparse.Namespace) -> int:
    extra = parse_vars(args.var)
    failed = False
    for path in args.configs:
        errors, notes, good = _problems(str(path), extra)
        errors.sort(key=lambda e: e.line or 0)
        for error in errors:
            _report("error", path, error.line, error.message, args.format)
        for note in notes:
            _report("notice", path, None, note, args.format)
        if errors:
            failed = True
        else:
            print(line_safe(redact_urls(f"{path}: {good} checks OK")), file=sys.stderr)
    return ExitCode.USAGE if failed else ExitCode.PASS


def _report(level: str, path: str, line: int | None, message: str, fmt: str) -> None:
    # A path is what was typed: a URL typed as one keeps its password out of the output too.
    path, message = redact_urls(path), redact_urls(message)
    if fmt == "github":
        print(annotation(level, "promgate lint", message, file=path, line=line))
        return
    prefix = "" if message.startswith(f"{path}:") else f"{path}: "
    word = "note: " if level == "notice" else ""
    print(line_safe(f"{prefix}{word}{message}"), file=sys.stderr)

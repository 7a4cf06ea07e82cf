"""``promgate lint CONFIG``: validate a config and its PromQL offline."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config.lint import lint_config
from ..config.loader import load_config
from ..config.thresholds import load_thresholds
from ..errors import ConfigError
from .args import parse_vars

__all__ = [
    "add_lint_parser",
    "run_lint",
]


def add_lint_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lint",
        help="check a gate config and its PromQL without Prometheus",
        description="Validate a gate config (YAML, or the seed's thresholds "
        "JSON) and every query's PromQL syntax, offline.",
    )
    p.add_argument("config", help="gate.yaml or performance_thresholds.json")
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra template variable (repeatable)",
    )
    return p


def run_lint(args: argparse.Namespace) -> int:
    extra = parse_vars(args.var)
    path = str(args.config)
    try:
        config = load_thresholds(path) if path.endswith(".json") else load_config(path)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    errors = lint_config(config, extra)
    for error in errors:
        print(error.message, file=sys.stderr)
    if errors:
        return 2
    print(f"{path}: {len(config.checks)} checks OK")
    return 0

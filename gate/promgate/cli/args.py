"""Argument types and parsers shared by several subcommands."""

from __future__ import annotations

import argparse
import math

from ..errors import UsageError

__all__ = ["parse_vars", "wait_seconds"]


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

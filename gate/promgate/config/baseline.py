"""Config keys of regression against history.

baseline: {history: 5}        # top level: judge against the last 5 passing runs
checks:
  - name: latency
    preset: latency_regression
    critical: "> +10%"          # a shift of the median or p95, relative only
    confidence: 0.99            # significance the shift needs (default 0.99)
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from .conditions import Condition
from .yamldoc import YamlDoc

__all__ = [
    "DEFAULT_CONFIDENCE",
    "REGRESSION_PRESET",
    "check_regression_conditions",
    "parse_baseline",
    "parse_confidence",
]

REGRESSION_PRESET = "latency_regression"
DEFAULT_CONFIDENCE = 0.99
_KEYS = ("history",)


def parse_baseline(doc: YamlDoc, node: yaml.Node) -> int | None:
    """``baseline: {history: N}``: how many earlier passing runs form the baseline (N >= 1)."""
    m = doc.mapping(node, "baseline")
    for name, (knode, _) in m.items():
        if name not in _KEYS:
            raise doc.fail(knode, f"baseline.{name}", f"unknown key (allowed: {', '.join(_KEYS)})")
    if "history" not in m:
        return None
    vnode = m["history"][1]
    n = doc.typed(vnode, "baseline.history", int, "a whole number of runs")
    if n < 1:
        raise doc.fail(vnode, "baseline.history", "must be >= 1 (earlier passing runs)")
    return int(n)


def parse_confidence(doc: YamlDoc, node: yaml.Node, key: str, preset: str | None) -> float:
    """A check's ``confidence``: the significance a latency shift needs, strictly in (0.5, 1)."""
    if preset != REGRESSION_PRESET:
        raise doc.fail(node, key, f"only for preset {REGRESSION_PRESET}")
    val = float(doc.typed(node, key, (int, float), "a probability such as 0.99"))
    if not 0.5 < val < 1.0:
        raise doc.fail(node, key, "must be between 0.5 and 1 (e.g. 0.99)")
    return val


def check_regression_conditions(
    doc: YamlDoc, node: yaml.Node, key: str, conditions: Sequence[Condition]
) -> None:
    """``latency_regression`` judges shifts: every condition must be relative (``> +10%``)."""
    for cond in conditions:
        if not cond.relative:
            raise doc.fail(
                node,
                key,
                f"{cond.text!r} is absolute; {REGRESSION_PRESET} takes a shift such as '> +10%'",
            )

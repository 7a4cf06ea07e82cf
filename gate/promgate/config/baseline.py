"""Config keys of regression against history.

baseline: {history: 5, comparable: warn}   # top level: judge against the last 5 passing runs;
                                           # a run with another load profile: strict|warn|off
checks:
  - name: latency
    preset: latency_regression
    critical: "> +10%"          # a shift of the median or p95, relative only
    confidence: 0.99            # significance the shift needs (default 0.99)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from .conditions import Condition
from .yamldoc import YamlDoc

__all__ = [
    "DEFAULT_CONFIDENCE",
    "REGRESSION_PRESET",
    "BaselineSettings",
    "Comparable",
    "check_regression_conditions",
    "parse_baseline",
    "parse_confidence",
]

REGRESSION_PRESET = "latency_regression"
DEFAULT_CONFIDENCE = 0.99
_KEYS = ("history", "comparable")


class Comparable(str, enum.Enum):
    """What a baseline run with another load profile than the judged run's does."""

    #: refused: never compared (from history it is skipped; alone, there is no baseline)
    STRICT = "strict"
    #: compared, and the difference is shown in every report
    WARN = "warn"
    #: compared without a word
    OFF = "off"


@dataclass(frozen=True)
class BaselineSettings:
    history: int | None = None
    comparable: Comparable = Comparable.WARN


def parse_baseline(doc: YamlDoc, node: yaml.Node) -> BaselineSettings:
    """``baseline: {history: N, comparable: strict|warn|off}``: how many earlier passing runs
    form the baseline (N >= 1), and what a run with another load profile does."""
    m = doc.mapping(node, "baseline")
    for name, (knode, _) in m.items():
        if name not in _KEYS:
            raise doc.fail(knode, f"baseline.{name}", f"unknown key (allowed: {', '.join(_KEYS)})")
    comparable = Comparable.WARN
    if "comparable" in m:
        cnode = m["comparable"][1]
        # The scalar's own text: YAML 1.1 reads a bare ``off`` as false.
        text = cnode.value if isinstance(cnode, yaml.ScalarNode) else None
        try:
            comparable = Comparable(str(text).lower())
        except ValueError:
            raise doc.fail(cnode, "baseline.comparable", "must be strict, warn or off") from None
    if "history" not in m:
        return BaselineSettings(None, comparable)
    vnode = m["history"][1]
    n = doc.typed(vnode, "baseline.history", int, "a whole number of runs")
    if n < 1:
        raise doc.fail(vnode, "baseline.history", "must be >= 1 (earlier passing runs)")
    return BaselineSettings(int(n), comparable)


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
    """``latency_regression`` judges shifts: every condition must be relative (``> +10%``;
    joined by ``and``, at least one part, as in ``"> +20% and > +15ms"``)."""
    for cond in conditions:
        if not cond.relative:
            raise doc.fail(
                node,
                key,
                f"{cond.text!r} is absolute; {REGRESSION_PRESET} takes a shift such as '> +10%'",
            )

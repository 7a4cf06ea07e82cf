"""A check's ``abort:`` key: whether ``promgate run`` may stop the load test on its breach.

    abort: true                      # stop at the first live evaluation that sees a critical breach
    abort: {for: 30s, after: 60s}    # the breach must hold 30 s, and is not judged before 60 s

``for`` works like a Prometheus alert's ``for``; ``after`` like k6's ``delayAbortEval`` (from the
run's start). Durations take ``ms``, ``s``, ``m``, ``h``; a bare number is seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from ..errors import ConfigError
from .units import get_unit, parse_quantity
from .yamldoc import YamlDoc

__all__ = ["AbortRule", "parse_abort"]

_KEYS = ("for", "after")


@dataclass(frozen=True)
class AbortRule:
    #: seconds a critical breach must hold before the run is stopped
    hold: float = 0.0
    #: seconds from the run's start before the check is judged live at all
    after: float = 0.0

    def describe(self) -> str:
        parts = [f"for {self.hold:g}s"] if self.hold else []
        if self.after:
            parts.append(f"after {self.after:g}s")
        return ", ".join(parts) or "at once"


def parse_abort(doc: YamlDoc, node: yaml.Node, key: str) -> AbortRule | None:
    """``abort: true|false`` or ``abort: {for: D, after: D}``; None when the check never aborts."""
    if isinstance(node, yaml.MappingNode):
        m = doc.mapping(node, key)
        values: dict[str, float] = {}
        for name, (knode, vnode) in m.items():
            if name not in _KEYS:
                raise doc.fail(knode, f"{key}.{name}", f"unknown key (allowed: {', '.join(_KEYS)})")
            values[name] = _duration(doc, vnode, f"{key}.{name}")
        return AbortRule(hold=values.get("for", 0.0), after=values.get("after", 0.0))
    val = doc.value(node, key)
    if isinstance(val, bool):
        return AbortRule() if val else None
    raise doc.fail(node, key, "expected true, false or a mapping like {for: 30s, after: 60s}")


def _duration(doc: YamlDoc, node: yaml.Node, key: str) -> float:
    val = doc.value(node, key)
    if isinstance(val, bool) or not isinstance(val, (int, float, str)):
        raise doc.fail(node, key, "expected a duration like 30s, 2m or a number of seconds")
    try:
        seconds = parse_quantity(str(val), get_unit("seconds"))
    except ConfigError as exc:
        raise doc.fail(node, key, f"{exc.message} (a duration like 30s or 2m)") from None
    if not seconds >= 0:
        raise doc.fail(node, key, "must be >= 0")
    return seconds

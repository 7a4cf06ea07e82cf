"""A check's ``window:`` (which seconds of the run it judges) and Apdex's ``t:``.

    window: whole            # the whole run (default)
    window: steady           # from the moment all users ran (Locust's spawning_complete)
    window: {skip: 30s}      # from 30 s after the run's start
    window: {last: 2m}       # the last 2 minutes before the run's end

Every preset has a windowed form in ``queries/window_figures.py`` (counters from their values at the
window's edges, percentiles from the window's own bucket counts); a ``query:`` check reads the
window from ``$win_start``, ``$win_end`` (Unix seconds, for ``@``), ``$win_seconds`` and
``$win_range`` (a PromQL duration).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml

from .. import queries
from ..errors import ConfigError
from .presets import PRESETS
from .units import get_unit, parse_quantity
from .yamldoc import YamlDoc

__all__ = [
    "APDEX_PRESETS",
    "EXACT_APDEX_T_MS",
    "WHOLE",
    "WindowKind",
    "WindowSpec",
    "check_window",
    "parse_window",
    "preset_description",
]


class WindowKind(enum.Enum):
    WHOLE = "whole"
    STEADY = "steady"
    SKIP = "skip"
    LAST = "last"


@dataclass(frozen=True)
class WindowSpec:
    kind: WindowKind = WindowKind.WHOLE
    #: ``skip``/``last``: the duration in seconds
    seconds: float = 0.0

    def describe(self) -> str:
        """``whole run``, ``steady``, ``skip 30s``, ``last 2m``: how every output names it."""
        if self.kind is WindowKind.WHOLE:
            return "whole run"
        if self.kind is WindowKind.STEADY:
            return "steady"
        return f"{self.kind.value} {_seconds_text(self.seconds)}"


WHOLE = WindowSpec()
#: One year: more is a typo, and a larger value would overflow the window's arithmetic.
_MAX_SECONDS = 366 * 86400.0
_FORMS = "whole, steady, {skip: 30s} or {last: 2m}"

APDEX_PRESETS = ("apdex", "endpoint_apdex")
#: T values whose T and 4T are both histogram bounds: Apdex is exact from the bucket counts.
EXACT_APDEX_T_MS: tuple[int, ...] = tuple(
    b for b in queries.HISTOGRAM_BOUNDS_MS if 4 * b in queries.HISTOGRAM_BOUNDS_MS
)


def _seconds_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def _ms_text(ms: int) -> str:
    return f"{ms / 1000:g}s" if ms >= 1000 else f"{ms}ms"


def parse_window(doc: YamlDoc, node: yaml.Node, key: str) -> WindowSpec:
    """``whole``, ``steady``, ``{skip: D}`` or ``{last: D}`` (D > 0: 30s, 2m, or seconds)."""
    if isinstance(node, yaml.MappingNode):
        m = doc.mapping(node, key)
        if len(m) != 1:
            raise doc.fail(node, key, f"expected one of {_FORMS}")
        ((name, (knode, vnode)),) = m.items()
        if name not in (WindowKind.SKIP.value, WindowKind.LAST.value):
            raise doc.fail(knode, f"{key}.{name}", f"unknown window {name!r} (expected {_FORMS})")
        return WindowSpec(WindowKind(name), _duration(doc, vnode, f"{key}.{name}"))
    val = doc.value(node, key)
    if val in (WindowKind.WHOLE.value, WindowKind.STEADY.value):
        return WindowSpec(WindowKind(val))
    raise doc.fail(node, key, f"unknown window {str(val)[:40]!r} (expected {_FORMS})")


def _duration(doc: YamlDoc, node: yaml.Node, key: str) -> float:
    val = doc.value(node, key)
    if isinstance(val, bool) or not isinstance(val, (int, float, str)):
        raise doc.fail(node, key, "expected a duration like 30s or 2m")
    try:
        seconds = parse_quantity(str(val), get_unit("seconds"))
    except ConfigError as exc:
        raise doc.fail(node, key, f"{exc.message} (a duration like 30s or 2m)") from None
    if not (math.isfinite(seconds) and 0 < seconds <= _MAX_SECONDS):
        raise doc.fail(node, key, "must be more than 0 and at most a year")
    return seconds


def _windowed(preset: str, t_ms: int) -> str | None:
    """The preset's query over ``$win_start``..``$win_end``; None for a preset with no window."""
    by = "method, name"
    table: dict[str, Any] = {
        "requests_total": queries.window_requests,
        "failures_total": queries.window_failures,
        "error_rate": queries.window_error_ratio,
        "rps": queries.window_rps,
        "avg_response_time": queries.window_avg_response_time,
        # Locust keeps no max per window: the upper bound of the highest bucket in it.
        "max_response_time": partial(queries.window_quantile, 1.0),
        "max_users": queries.window_max_users,
        "loadgen_cpu": queries.window_loadgen_cpu,
        "host_cpu": queries.window_node_cpu,
        "host_memory": queries.window_node_memory,
        "endpoint_p95": partial(queries.window_quantile, 0.95, by=by),
        "endpoint_p99": partial(queries.window_quantile, 0.99, by=by),
        "endpoint_error_rate": partial(queries.window_error_ratio, by=by),
        "apdex": partial(queries.apdex, t_ms, windowed=True),
        "endpoint_apdex": partial(queries.apdex, t_ms, by=by, windowed=True),
    }
    for label, q in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)):
        table[label] = table[f"{label}_hist"] = partial(queries.window_quantile, q)
    build = table.get(preset)
    return str(build()) if build is not None else None


def preset_description(preset: str, window: WindowSpec) -> str:
    """The preset's meaning as judged over ``window``: Locust's own whole-run gauges become the
    window's bucket counts."""
    text = PRESETS[preset].description
    if window.kind is WindowKind.WHOLE:
        return text
    label = preset.removeprefix("endpoint_").removesuffix("_hist")
    if label in ("p50", "p90", "p95", "p99"):
        whose = "each endpoint's requests" if preset.startswith("endpoint_") else "the requests"
        return f"{label} of {whose} in the window, from their bucket counts (within one bucket)"
    if preset == "max_response_time":
        return "upper bound of the highest bucket with a request in the window"
    text = text.replace("whole-run ", "").replace("over the run", "over the window")
    return text if "window" in text else f"{text}, over the window"


def _apdex_t(doc: YamlDoc, node: yaml.Node, key: str) -> int:
    """T in whole milliseconds (Locust's response times are), with 4T inside the histogram.
    Exact when T and 4T are bounds (``EXACT_APDEX_T_MS``); else interpolated within a bucket."""
    seconds = _duration(doc, node, key)
    ms = round(seconds * 1000)
    if abs(seconds * 1000 - ms) > 1e-6 or ms < 1:
        raise doc.fail(node, key, "must be a whole number of milliseconds, at least 1ms")
    try:
        queries.apdex_bracket(4 * ms)
    except ValueError:
        limit = _ms_text(queries.HISTOGRAM_BOUNDS_MS[-1] // 4)
        raise doc.fail(node, key, f"4T must lie in the histogram: T up to {limit}") from None
    return ms


def check_window(
    doc: YamlDoc,
    m: dict[str, tuple[yaml.Node, yaml.Node]],
    key: str,
    preset: str | None,
    query: str,
    default: WindowSpec,
) -> tuple[WindowSpec, str]:
    """A check's window (its own ``window:``, else the config's) and the query judged over it:
    a preset's windowed form; a ``query:`` check is left as written (it reads ``$win_*``)."""
    node = m.get("window", (None, None))[1]
    window = parse_window(doc, node, f"{key}.window") if node is not None else default
    t_node = m.get("t", (None, None))[1]
    if preset in APDEX_PRESETS:
        if t_node is None:
            raise doc.fail(m["preset"][1], f"{key}.t", f"{preset} needs t: (e.g. t: 500ms)")
        t_ms = _apdex_t(doc, t_node, f"{key}.t")
        if window.kind is WindowKind.WHOLE:
            whole = "method, name" if preset == "endpoint_apdex" else ""
            return window, queries.apdex(t_ms, by=whole)
        built = _windowed(preset, t_ms)
        assert built is not None
        return window, built
    if t_node is not None:
        raise doc.fail(t_node, f"{key}.t", "only for preset apdex or endpoint_apdex")
    if window.kind is WindowKind.WHOLE or preset is None:
        return window, query
    built = _windowed(preset, 0)
    if built is None:
        if node is None:  # the config-wide window: this preset keeps the whole run
            return WHOLE, query
        raise doc.fail(
            node, f"{key}.window", f"preset {preset} compares whole runs; it takes no window"
        )
    return window, built

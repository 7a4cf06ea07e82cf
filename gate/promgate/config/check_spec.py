"""One check of the gate's config: the model (``CheckSpec``) and how its YAML becomes one.

Every error names the file, the line and the key ``checks.NAME.KEY``; the checks around it and
the top-level keys are ``config.loader``'s.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import yaml

from ..errors import ConfigError
from .abort import AbortRule, parse_abort
from .baseline import (
    DEFAULT_CONFIDENCE,
    REGRESSION_PRESET,
    check_regression_conditions,
    parse_confidence,
)
from .conditions import LEVELS, Condition, Level, parse_condition
from .outcomes import POLICIES, CheckMode, Policy, parse_mode
from .presets import PRESETS, Preset
from .units import Unit, get_unit
from .windows import WHOLE, WindowSpec, check_window, preset_description
from .yamldoc import YamlDoc, join_key, opt_str, unknown_key

__all__ = ["REDUCERS", "CheckSpec", "Reduce", "RejectedQuery", "parse_check", "parse_policy"]

#: a YAML mapping: key -> (key node, value node)
_Map = dict[str, tuple[yaml.Node, yaml.Node]]

#: how a check's series become its value: judged each, or reduced to one
Reduce = Literal["each", "max", "min", "avg", "sum"]
REDUCERS: tuple[Reduce, ...] = get_args(Reduce)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    query: str
    unit: Unit
    #: the unit the query's values come in; converted to ``unit`` before judging
    query_unit: Unit
    warning: tuple[Condition, ...] = ()
    critical: tuple[Condition, ...] = ()
    description: str = ""
    preset: str | None = None
    reduce: Reduce = "each"
    no_data: Policy = "fail"
    baseline_missing: Policy = "warn"
    line: int | None = None
    #: ``promgate run`` stops the load test on this check's critical breach (``abort:``)
    abort: AbortRule | None = None
    #: ``latency_regression``: the significance a shift needs (``confidence:``)
    confidence: float = DEFAULT_CONFIDENCE
    #: which seconds of the run are judged (``window:``; config/windows.py)
    window: WindowSpec = WHOLE
    #: ``mode: report``: judged and shown, never counted
    mode: CheckMode = CheckMode.GATE

    @property
    def relative(self) -> bool:
        return any(c.needs_baseline for c in (*self.warning, *self.critical))

    def conditions(self, level: Level) -> tuple[Condition, ...]:
        return self.warning if level == "warning" else self.critical

    def thresholds(self, baseline: float | None) -> dict[str, list[float | None]]:
        """Each level's absolute thresholds against ``baseline`` (None: relative, none)."""
        return {level: [c.threshold(baseline) for c in self.conditions(level)] for level in LEVELS}


@dataclass(frozen=True)
class RejectedQuery:
    """The ``query:`` of a check rejected for another reason (a typo in a key, no condition):
    ``promgate lint`` still checks its PromQL, so one run shows every problem of the check."""

    key: str
    query: str
    line: int | None


def parse_policy(
    doc: YamlDoc,
    m: _Map,
    key: str,
    default: Policy | None,
    prefix: str = "",
) -> Policy | None:
    """``no_data:`` / ``baseline_missing:`` at ``prefix`` (top level or a check); ``default``
    when not set."""
    val = opt_str(doc, m, key, prefix)
    if val is None:
        return default
    policy = next((p for p in POLICIES if p == val), None)
    if policy is None:
        raise doc.fail(m[key][1], join_key(prefix, key), f"expected one of {', '.join(POLICIES)}")
    return policy


_CHECK_KEYS = (
    "name",
    "description",
    "query",
    "preset",
    "unit",
    "query_unit",
    "warning",
    "critical",
    "reduce",
    "no_data",
    "baseline_missing",
    "abort",
    "confidence",
    "window",
    "t",
    "mode",
)


def parse_check(
    doc: YamlDoc,
    node: yaml.Node,
    where: str,
    defaults: Mapping[str, Policy | None],
    keep: Callable[[ConfigError], None],
    found_query: Callable[[RejectedQuery], None],
    window: WindowSpec = WHOLE,
) -> CheckSpec:
    """One check; ``where`` (``checks[2]``) names it until its name is known, then every
    message says ``checks.NAME``."""
    m = doc.mapping(node, where)
    name = _check_name(doc, node, m, where)
    key = f"checks.{name}"
    for other, (knode, _) in m.items():
        if other not in _CHECK_KEYS:
            keep(doc.fail(knode, f"{key}.{other}", unknown_key(other, _CHECK_KEYS)))
    preset_name = opt_str(doc, m, "preset", key)
    query = _own_query(doc, node, m, key, found_query)
    if (query is None) == (preset_name is None):
        raise doc.fail(node, key, "set exactly one of query or preset")
    preset = _preset(doc, m, key, preset_name) if preset_name is not None else None
    query = preset.query if preset is not None else query
    assert query is not None
    window, query = check_window(doc, m, key, preset_name, query, window)
    unit, query_unit = _units(doc, node, m, key, preset)
    warning, critical = (_conditions(doc, m, key, level, unit) for level in LEVELS)
    if not warning and not critical:
        raise doc.fail(node, key, "set warning or critical (or both)")
    mode = _mode(doc, m, key)
    abort = _abort(doc, m, key, mode, critical)
    confidence = DEFAULT_CONFIDENCE
    if "confidence" in m:
        confidence = parse_confidence(doc, m["confidence"][1], f"{key}.confidence", preset_name)
    if preset_name == REGRESSION_PRESET:
        check_regression_conditions(doc, node, key, (*warning, *critical))
    reduce = _reduce(doc, m, key)
    description = opt_str(doc, m, "description", key) or (
        preset_description(preset_name, window) if preset_name else ""
    )
    no_data, baseline_missing = _policies(doc, m, key, defaults, preset)
    return CheckSpec(
        name=name,
        query=query,
        unit=unit,
        query_unit=query_unit,
        warning=warning,
        critical=critical,
        description=description,
        preset=preset_name,
        reduce=reduce,
        no_data=no_data,
        baseline_missing=baseline_missing,
        line=node.start_mark.line + 1,
        abort=abort,
        confidence=confidence,
        window=window,
        mode=mode,
    )


def _policies(
    doc: YamlDoc,
    m: _Map,
    key: str,
    defaults: Mapping[str, Policy | None],
    preset: Preset | None,
) -> tuple[Policy, Policy]:
    """The check's ``no_data`` and ``baseline_missing``; unset, the config's top-level ones
    (for ``no_data`` then the preset's), else ``fail`` and ``warn``."""
    no_data_default = defaults.get("no_data") or (preset.no_data if preset is not None else None)
    no_data = parse_policy(doc, m, "no_data", no_data_default or "fail", key) or "fail"
    baseline_missing = parse_policy(
        doc, m, "baseline_missing", defaults.get("baseline_missing") or "warn", key
    )
    return no_data, baseline_missing or "warn"


def _check_name(doc: YamlDoc, node: yaml.Node, m: _Map, where: str) -> str:
    name = opt_str(doc, m, "name", where)
    if not name or not name.strip():
        raise doc.fail(node, f"{where}.name", "missing (every check needs a name)")
    # Names are free text ("p95 latency", "checkout error rate"); every output escapes them.
    # Control characters only: a newline would split the one-line reports.
    if any(not c.isprintable() and c != " " for c in name.strip()):
        raise doc.fail(m["name"][1], f"{where}.name", "no control characters (newlines, tabs)")
    return name.strip()


def _own_query(
    doc: YamlDoc, node: yaml.Node, m: _Map, key: str, found: Callable[[RejectedQuery], None]
) -> str | None:
    """The check's ``query:``, handed to ``found`` at once (lint checks its PromQL even when
    the check is rejected later); None without one."""
    if "query" not in m:
        return None
    raw = doc.value(m["query"][1], f"{key}.query", interpolate=False)
    if not isinstance(raw, str) or not raw.strip():
        raise doc.fail(m["query"][1], f"{key}.query", "expected a PromQL expression")
    found(RejectedQuery(key, raw.strip(), node.start_mark.line + 1))
    return raw.strip()


def _preset(doc: YamlDoc, m: _Map, key: str, name: str) -> Preset:
    preset = PRESETS.get(name)
    if preset is not None:
        return preset
    close = difflib.get_close_matches(name, sorted(PRESETS), n=3, cutoff=0.6)
    # Two swapped characters (p59) are the commonest typo: prefer the same letters.
    close.sort(key=lambda c: sorted(c) != sorted(name))
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(PRESETS))}"
    raise doc.fail(m["preset"][1], f"{key}.preset", f"unknown preset {name!r} ({hint})")


def _units(
    doc: YamlDoc, node: yaml.Node, m: _Map, key: str, preset: Preset | None
) -> tuple[Unit, Unit]:
    """The unit values are shown and judged in, and the one the query's values come in (by
    default the preset's, else ``count`` and the shown unit); of one dimension."""
    try:
        unit_name = opt_str(doc, m, "unit", key) or (preset.shown_unit if preset else "count")
        unit = get_unit(unit_name)
        qunit_name = opt_str(doc, m, "query_unit", key) or (preset.unit if preset else unit_name)
        query_unit = get_unit(qunit_name)
    except ConfigError as exc:
        bad = "unit" if "unit" in m else "query_unit"
        raise doc.fail(m.get(bad, (node, node))[1], f"{key}.{bad}", exc.message) from None
    if unit.dimension != query_unit.dimension:
        raise doc.fail(
            m.get("unit", (node, node))[1],
            f"{key}.unit",
            f"{unit.name} cannot show values in {query_unit.name}",
        )
    return unit, query_unit


def _conditions(doc: YamlDoc, m: _Map, key: str, level: Level, unit: Unit) -> tuple[Condition, ...]:
    """``warning:`` or ``critical:``: one condition or a list, in the check's unit."""
    if level not in m:
        return ()
    vnode = m[level][1]
    raw = doc.value(vnode, f"{key}.{level}")
    conds: list[Condition] = []
    for item in raw if isinstance(raw, list) else [raw]:
        try:
            conds.append(parse_condition(item, unit))
        except ConfigError as exc:
            raise doc.fail(vnode, f"{key}.{level}", exc.message) from None
    return tuple(conds)


def _mode(doc: YamlDoc, m: _Map, key: str) -> CheckMode:
    if "mode" not in m:
        return CheckMode.GATE
    try:
        return parse_mode(doc.value(m["mode"][1], f"{key}.mode"))
    except ConfigError as exc:
        raise doc.fail(m["mode"][1], f"{key}.mode", exc.message) from None


def _abort(
    doc: YamlDoc, m: _Map, key: str, mode: CheckMode, critical: tuple[Condition, ...]
) -> AbortRule | None:
    """``abort:``: only on a gating check, which needs a critical condition to stop the run on."""
    if "abort" not in m:
        return None
    abort = parse_abort(doc, m["abort"][1], f"{key}.abort")
    if mode is CheckMode.REPORT:
        raise doc.fail(m["abort"][1], f"{key}.abort", "a report-only check never stops a run")
    if not critical:
        raise doc.fail(m["abort"][1], f"{key}.abort", "needs a critical condition to abort on")
    return abort


def _reduce(doc: YamlDoc, m: _Map, key: str) -> Reduce:
    given = opt_str(doc, m, "reduce", key) or "each"
    reduce = next((r for r in REDUCERS if r == given), None)
    if reduce is None:
        raise doc.fail(m["reduce"][1], f"{key}.reduce", f"expected one of {', '.join(REDUCERS)}")
    return reduce

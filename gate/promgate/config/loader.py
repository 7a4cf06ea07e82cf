"""The gate's YAML config: loading, ``${VAR}`` interpolation and validation.

Every error names the file, the line (from YAML's node marks) and the key. The query
templates are left alone by ``${VAR}`` interpolation: their ``$name`` variables are filled in
later, per run, by ``promgate.prometheus.templating``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, get_args

import yaml

from ..defaults import LOOKBACK
from ..errors import ConfigError
from ..prometheus.settings import PrometheusSettings
from ..prometheus.templating import check_duration
from .abort import AbortRule, parse_abort
from .baseline import (
    DEFAULT_CONFIDENCE,
    REGRESSION_PRESET,
    BaselineSettings,
    Comparable,
    check_regression_conditions,
    parse_baseline,
    parse_confidence,
)
from .conditions import Condition, parse_condition
from .outcomes import POLICIES, CheckMode, Policy, check_warning_exit_code, parse_mode
from .presets import PRESETS, Preset
from .prometheus_block import parse_prometheus
from .units import Unit, get_unit
from .windows import WHOLE, WindowSpec, check_window, parse_window, preset_description
from .yamldoc import YamlDoc, compose_config, join_key, opt_str, unknown_key

__all__ = [
    "REDUCERS",
    "CheckSpec",
    "GateConfig",
    "PrometheusSettings",
    "Reduce",
    "RejectedQuery",
    "load_config",
    "parse_config",
]

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


@dataclass(frozen=True)
class RejectedQuery:
    """The ``query:`` of a check rejected for another reason (a typo in a key, no condition):
    ``promgate lint`` still checks its PromQL, so one run shows every problem of the check."""

    key: str
    query: str
    line: int | None


@dataclass(frozen=True)
class GateConfig:
    source: str
    checks: tuple[CheckSpec, ...]
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    job: str | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    wait_timeout: float | None = None
    #: how far back ``--run-id latest`` and run discovery look
    lookback: str = LOOKBACK
    #: ``baseline: {history: N}``: judge against the last N passing runs
    baseline_history: int | None = None
    #: ``baseline: {comparable: ...}``: what a baseline with another load profile does
    comparable: Comparable = Comparable.WARN
    #: queries of the checks left out of ``checks`` for another error (lint only)
    rejected: tuple[RejectedQuery, ...] = ()
    #: the exit code of a warning verdict (``warning_exit_code``; 0: warnings pass)
    warning_exit_code: int = 0


def load_config(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    *,
    errors: list[ConfigError] | None = None,
    notes: list[str] | None = None,
) -> GateConfig:
    """Read and validate a gate config file (see ``parse_config`` for ``errors`` and ``notes``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", file=str(path)) from None
    return parse_config(text, str(path), env, errors=errors, notes=notes)


_TOP_KEYS = (
    "prometheus",
    "checks",
    "job",
    "vars",
    "wait_timeout",
    "lookback",
    "baseline",
    "baseline_missing",
    "no_data",
    "version",
    "window",
    "warning_exit_code",
)

#: a top-level mapping of the config: key -> (key node, value node)
_Top = dict[str, tuple[yaml.Node, yaml.Node]]
_Keep = Callable[[ConfigError], None]


def parse_config(
    text: str,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    *,
    errors: list[ConfigError] | None = None,
    notes: list[str] | None = None,
) -> GateConfig:
    """Parse and validate a config. By default the first problem is raised. With ``errors``,
    every problem found is appended there and the config holds the checks that were valid (what
    ``promgate lint`` reports). With ``notes``, an unset ``${VAR}`` in a credential field is a
    note there instead of an error (lint runs without credentials; ``check`` still fails)."""
    doc = YamlDoc(source, os.environ if env is None else env, secret_notes=notes)

    def keep(error: ConfigError) -> None:
        if errors is None:
            raise error
        errors.append(error)

    root = compose_config(text, source)
    if root is None:
        raise ConfigError("empty config (expected a mapping with checks:)", file=source)
    top = doc.mapping(root, "")
    for name, (knode, _) in top.items():
        if name not in _TOP_KEYS:
            keep(doc.fail(knode, name, unknown_key(name, sorted(_TOP_KEYS))))
    # Sections in a fixed order: without ``errors``, the first problem found is the one raised.
    prometheus = _kept(keep, lambda: parse_prometheus(doc, top["prometheus"][1]), top, "prometheus")
    job = opt_str(doc, top, "job")
    variables = _variables(doc, top)
    wait_timeout = _wait_timeout(doc, top)
    lookback = _lookback(doc, top, keep)
    settings = parse_baseline(doc, top["baseline"][1]) if "baseline" in top else BaselineSettings()
    warning_exit_code = _warning_exit_code(doc, top, keep)
    defaults: dict[str, Policy | None] = {
        "baseline_missing": _policy(doc, top, "baseline_missing", "warn"),
        "no_data": _policy(doc, top, "no_data", None),
    }
    window = _kept(keep, lambda: parse_window(doc, top["window"][1], "window"), top, "window")
    checks, rejected = _checks(doc, root, top, defaults, keep, WHOLE if window is None else window)
    return GateConfig(
        source,
        _unique(checks, source, keep),
        PrometheusSettings() if prometheus is None else prometheus,
        job,
        variables,
        wait_timeout,
        lookback,
        baseline_history=settings.history,
        comparable=settings.comparable,
        rejected=tuple(rejected),
        warning_exit_code=warning_exit_code,
    )


_T = TypeVar("_T")


def _kept(keep: _Keep, parse: Callable[[], _T], top: _Top, key: str) -> _T | None:
    """A top-level section parsed by ``parse``, or None when it is absent or has a problem
    (kept for lint, or raised)."""
    if key not in top:
        return None
    try:
        return parse()
    except ConfigError as exc:
        keep(exc)
        return None


def _variables(doc: YamlDoc, top: _Top) -> dict[str, str]:
    variables: dict[str, str] = {}
    if "vars" in top:
        for name, (_knode, vnode) in doc.mapping(top["vars"][1], "vars").items():
            val = doc.value(vnode, f"vars.{name}")
            if isinstance(val, (dict, list)) or val is None:
                raise doc.fail(vnode, f"vars.{name}", "expected a scalar value")
            variables[name] = str(val)
    return variables


def _wait_timeout(doc: YamlDoc, top: _Top) -> float | None:
    if "wait_timeout" not in top:
        return None
    node = top["wait_timeout"][1]
    wait_timeout = float(doc.typed(node, "wait_timeout", (int, float), "seconds"))
    if not wait_timeout >= 0:  # NaN too: it would never time out
        raise doc.fail(node, "wait_timeout", "must be >= 0 seconds")
    return wait_timeout


def _lookback(doc: YamlDoc, top: _Top, keep: _Keep) -> str:
    lookback = opt_str(doc, top, "lookback") or LOOKBACK
    try:
        check_duration(lookback)
    except ConfigError as exc:
        keep(doc.fail(top["lookback"][1], "lookback", exc.message))
        return LOOKBACK
    return lookback


def _warning_exit_code(doc: YamlDoc, top: _Top, keep: _Keep) -> int:
    if "warning_exit_code" not in top:
        return 0
    node = top["warning_exit_code"][1]
    try:
        return check_warning_exit_code(doc.value(node, "warning_exit_code"))
    except ConfigError as exc:
        keep(doc.fail(node, "warning_exit_code", exc.message))
        return 0


def _checks(
    doc: YamlDoc,
    root: yaml.Node,
    top: _Top,
    defaults: Mapping[str, Policy | None],
    keep: _Keep,
    window: WindowSpec,
) -> tuple[list[CheckSpec], list[RejectedQuery]]:
    """The valid checks, and the queries of those rejected for another problem (lint)."""
    checks: list[CheckSpec] = []
    rejected: list[RejectedQuery] = []
    if "checks" not in top:
        keep(doc.fail(root, "checks", "missing (a list of checks to judge)"))
    elif not isinstance(top["checks"][1], yaml.SequenceNode) or not top["checks"][1].value:
        keep(doc.fail(top["checks"][1], "checks", "expected a non-empty list of checks"))
    else:
        for i, node in enumerate(top["checks"][1].value):
            found: list[RejectedQuery] = []
            try:
                checks.append(
                    _check(doc, node, f"checks[{i}]", defaults, keep, found.append, window)
                )
            except ConfigError as exc:
                keep(exc)
                rejected.extend(found)
    return checks, rejected


def _unique(checks: list[CheckSpec], source: str, keep: _Keep) -> tuple[CheckSpec, ...]:
    """The checks without a second one of the same name (results are matched by name)."""
    seen: dict[str, int | None] = {}
    for check in list(checks):
        if check.name in seen:
            checks.remove(check)
            keep(
                ConfigError(
                    f"duplicate check name {check.name!r} (first on line {seen[check.name]})",
                    file=source,
                    line=check.line,
                    key=f"checks.{check.name}",
                )
            )
        seen[check.name] = check.line
    return tuple(checks)


def _policy(
    doc: YamlDoc,
    m: dict[str, tuple[yaml.Node, yaml.Node]],
    key: str,
    default: Policy | None,
    prefix: str = "",
) -> Policy | None:
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


def _check(
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
    no_data_default = defaults.get("no_data")
    if preset is not None:
        query = preset.query
        no_data_default = no_data_default or preset.no_data
    assert query is not None
    window, query = check_window(doc, m, key, preset_name, query, window)
    unit, query_unit = _units(doc, node, m, key, preset)
    warning, critical = (_conditions(doc, m, key, level, unit) for level in _LEVELS)
    if not warning and not critical:
        raise doc.fail(node, key, "set warning or critical (or both)")
    mode = _mode(doc, m, key)
    abort = _abort(doc, m, key, mode, critical)
    confidence = (
        parse_confidence(doc, m["confidence"][1], f"{key}.confidence", preset_name)
        if "confidence" in m
        else DEFAULT_CONFIDENCE
    )
    if preset_name == REGRESSION_PRESET:
        check_regression_conditions(doc, node, key, (*warning, *critical))
    reduce = _reduce(doc, m, key)
    return CheckSpec(
        name=name,
        query=query,
        unit=unit,
        query_unit=query_unit,
        warning=warning,
        critical=critical,
        description=opt_str(doc, m, "description", key)
        or (preset_description(preset_name, window) if preset_name else ""),
        preset=preset_name,
        reduce=reduce,
        no_data=_policy(doc, m, "no_data", no_data_default or "fail", key) or "fail",
        baseline_missing=_policy(
            doc, m, "baseline_missing", defaults.get("baseline_missing") or "warn", key
        )
        or "warn",
        line=node.start_mark.line + 1,
        abort=abort,
        confidence=confidence,
        window=window,
        mode=mode,
    )


_LEVELS = ("warning", "critical")


def _check_name(doc: YamlDoc, node: yaml.Node, m: _Top, where: str) -> str:
    name = opt_str(doc, m, "name", where)
    if not name or not name.strip():
        raise doc.fail(node, f"{where}.name", "missing (every check needs a name)")
    # Names are free text ("p95 latency", "checkout error rate"); every output escapes them.
    # Control characters only: a newline would split the one-line reports.
    if any(not c.isprintable() and c != " " for c in name.strip()):
        raise doc.fail(m["name"][1], f"{where}.name", "no control characters (newlines, tabs)")
    return name.strip()


def _own_query(
    doc: YamlDoc, node: yaml.Node, m: _Top, key: str, found: Callable[[RejectedQuery], None]
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


def _preset(doc: YamlDoc, m: _Top, key: str, name: str) -> Preset:
    preset = PRESETS.get(name)
    if preset is not None:
        return preset
    close = difflib.get_close_matches(name, sorted(PRESETS), n=3, cutoff=0.6)
    # Two swapped characters (p59) are the commonest typo: prefer the same letters.
    close.sort(key=lambda c: sorted(c) != sorted(name))
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(PRESETS))}"
    raise doc.fail(m["preset"][1], f"{key}.preset", f"unknown preset {name!r} ({hint})")


def _units(
    doc: YamlDoc, node: yaml.Node, m: _Top, key: str, preset: Preset | None
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


def _conditions(doc: YamlDoc, m: _Top, key: str, level: str, unit: Unit) -> tuple[Condition, ...]:
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


def _mode(doc: YamlDoc, m: _Top, key: str) -> CheckMode:
    if "mode" not in m:
        return CheckMode.GATE
    try:
        return parse_mode(doc.value(m["mode"][1], f"{key}.mode"))
    except ConfigError as exc:
        raise doc.fail(m["mode"][1], f"{key}.mode", exc.message) from None


def _abort(
    doc: YamlDoc, m: _Top, key: str, mode: CheckMode, critical: tuple[Condition, ...]
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


def _reduce(doc: YamlDoc, m: _Top, key: str) -> Reduce:
    given = opt_str(doc, m, "reduce", key) or "each"
    reduce = next((r for r in REDUCERS if r == given), None)
    if reduce is None:
        raise doc.fail(m["reduce"][1], f"{key}.reduce", f"expected one of {', '.join(REDUCERS)}")
    return reduce

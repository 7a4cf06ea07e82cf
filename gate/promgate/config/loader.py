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
from typing import Literal, get_args

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
from .presets import PRESETS
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
    allowed = {
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
    }
    for name, (knode, _) in top.items():
        if name not in allowed:
            keep(doc.fail(knode, name, unknown_key(name, sorted(allowed))))
    prometheus = PrometheusSettings()
    if "prometheus" in top:
        try:
            prometheus = parse_prometheus(doc, top["prometheus"][1])
        except ConfigError as exc:
            keep(exc)
    job = opt_str(doc, top, "job")
    variables: dict[str, str] = {}
    if "vars" in top:
        for name, (_knode, vnode) in doc.mapping(top["vars"][1], "vars").items():
            val = doc.value(vnode, f"vars.{name}")
            if isinstance(val, (dict, list)) or val is None:
                raise doc.fail(vnode, f"vars.{name}", "expected a scalar value")
            variables[name] = str(val)
    wait_timeout = None
    if "wait_timeout" in top:
        node = top["wait_timeout"][1]
        wait_timeout = float(doc.typed(node, "wait_timeout", (int, float), "seconds"))
        if not wait_timeout >= 0:  # NaN too: it would never time out
            raise doc.fail(node, "wait_timeout", "must be >= 0 seconds")
    lookback = opt_str(doc, top, "lookback") or LOOKBACK
    try:
        check_duration(lookback)
    except ConfigError as exc:
        keep(doc.fail(top["lookback"][1], "lookback", exc.message))
        lookback = LOOKBACK
    settings = parse_baseline(doc, top["baseline"][1]) if "baseline" in top else BaselineSettings()
    warning_exit_code = 0
    if "warning_exit_code" in top:
        node = top["warning_exit_code"][1]
        try:
            warning_exit_code = check_warning_exit_code(doc.value(node, "warning_exit_code"))
        except ConfigError as exc:
            keep(doc.fail(node, "warning_exit_code", exc.message))
    defaults: dict[str, Policy | None] = {
        "baseline_missing": _policy(doc, top, "baseline_missing", "warn"),
        "no_data": _policy(doc, top, "no_data", None),
    }
    window = WHOLE
    if "window" in top:
        try:
            window = parse_window(doc, top["window"][1], "window")
        except ConfigError as exc:
            keep(exc)
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
    return GateConfig(
        source,
        tuple(checks),
        prometheus,
        job,
        variables,
        wait_timeout,
        lookback,
        baseline_history=settings.history,
        comparable=settings.comparable,
        rejected=tuple(rejected),
        warning_exit_code=warning_exit_code,
    )


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
    name_or_none = opt_str(doc, m, "name", where)
    if not name_or_none or not name_or_none.strip():
        raise doc.fail(node, f"{where}.name", "missing (every check needs a name)")
    # Names are free text ("p95 latency", "checkout error rate"); every output escapes them.
    # Control characters only: a newline would split the one-line reports.
    name = name_or_none.strip()
    if any(not c.isprintable() and c != " " for c in name):
        raise doc.fail(m["name"][1], f"{where}.name", "no control characters (newlines, tabs)")
    key = f"checks.{name}"
    for other, (knode, _) in m.items():
        if other not in _CHECK_KEYS:
            keep(doc.fail(knode, f"{key}.{other}", unknown_key(other, _CHECK_KEYS)))
    preset_name = opt_str(doc, m, "preset", key)
    query: str | None = None
    if "query" in m:
        raw = doc.value(m["query"][1], f"{key}.query", interpolate=False)
        if not isinstance(raw, str) or not raw.strip():
            raise doc.fail(m["query"][1], f"{key}.query", "expected a PromQL expression")
        query = raw.strip()
        found_query(RejectedQuery(key, query, node.start_mark.line + 1))
    if (query is None) == (preset_name is None):
        raise doc.fail(node, key, "set exactly one of query or preset")
    no_data_default = defaults.get("no_data")
    if preset_name is not None:
        preset = PRESETS.get(preset_name)
        if preset is None:
            close = difflib.get_close_matches(preset_name, sorted(PRESETS), n=3, cutoff=0.6)
            # Two swapped characters (p59) are the commonest typo: prefer the same letters.
            close.sort(key=lambda c: sorted(c) != sorted(preset_name))
            hint = (
                f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(PRESETS))}"
            )
            raise doc.fail(
                m["preset"][1], f"{key}.preset", f"unknown preset {preset_name!r} ({hint})"
            )
        query = preset.query
        native = preset.unit
        shown = preset.shown_unit
        no_data_default = no_data_default or preset.no_data
    assert query is not None
    window, query = check_window(doc, m, key, preset_name, query, window)
    try:
        unit_name = opt_str(doc, m, "unit", key) or (shown if preset_name else "count")
        unit = get_unit(unit_name)
        qunit_name = opt_str(doc, m, "query_unit", key) or (native if preset_name else unit_name)
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
    levels: dict[str, tuple[Condition, ...]] = {}
    for level in ("warning", "critical"):
        conds: list[Condition] = []
        if level in m:
            vnode = m[level][1]
            raw_val = doc.value(vnode, f"{key}.{level}")
            items = raw_val if isinstance(raw_val, list) else [raw_val]
            for item in items:
                try:
                    conds.append(parse_condition(item, unit))
                except ConfigError as exc:
                    raise doc.fail(vnode, f"{key}.{level}", exc.message) from None
        levels[level] = tuple(conds)
    if not levels["warning"] and not levels["critical"]:
        raise doc.fail(node, key, "set warning or critical (or both)")
    mode = CheckMode.GATE
    if "mode" in m:
        try:
            mode = parse_mode(doc.value(m["mode"][1], f"{key}.mode"))
        except ConfigError as exc:
            raise doc.fail(m["mode"][1], f"{key}.mode", exc.message) from None
    abort = parse_abort(doc, m["abort"][1], f"{key}.abort") if "abort" in m else None
    if abort is not None and mode is CheckMode.REPORT:
        raise doc.fail(m["abort"][1], f"{key}.abort", "a report-only check never stops a run")
    if abort is not None and not levels["critical"]:
        raise doc.fail(m["abort"][1], f"{key}.abort", "needs a critical condition to abort on")
    confidence = DEFAULT_CONFIDENCE
    if "confidence" in m:
        confidence = parse_confidence(doc, m["confidence"][1], f"{key}.confidence", preset_name)
    if preset_name == REGRESSION_PRESET:
        check_regression_conditions(doc, node, key, (*levels["warning"], *levels["critical"]))
    given = opt_str(doc, m, "reduce", key) or "each"
    reduce = next((r for r in REDUCERS if r == given), None)
    if reduce is None:
        raise doc.fail(m["reduce"][1], f"{key}.reduce", f"expected one of {', '.join(REDUCERS)}")
    return CheckSpec(
        name=name,
        query=query,
        unit=unit,
        query_unit=query_unit,
        warning=levels["warning"],
        critical=levels["critical"],
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

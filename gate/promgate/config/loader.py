"""The gate's YAML config: loading, ``${VAR}`` interpolation and validation.

Every error names the file, the line (from YAML's node marks) and the key. The query
templates are left alone by ``${VAR}`` interpolation: their ``$name`` variables are filled in
later, per run, by ``promgate.prometheus.templating``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from ..defaults import LOOKBACK
from ..errors import ConfigError
from ..prometheus.settings import PrometheusSettings
from ..prometheus.templating import check_duration
from .baseline import BaselineSettings, Comparable, parse_baseline
from .check_spec import REDUCERS, CheckSpec, Reduce, RejectedQuery, parse_check, parse_policy
from .outcomes import Policy, check_warning_exit_code
from .prometheus_block import parse_prometheus
from .windows import WHOLE, WindowSpec, parse_window
from .yamldoc import YamlDoc, compose_config, opt_str, unknown_key

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
        "baseline_missing": parse_policy(doc, top, "baseline_missing", "warn"),
        "no_data": parse_policy(doc, top, "no_data", None),
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
                    parse_check(doc, node, f"checks[{i}]", defaults, keep, found.append, window)
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

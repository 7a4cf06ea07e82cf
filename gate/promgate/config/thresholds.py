"""``performance_thresholds.json``, the thresholds file of the Locust CI/CD guide, read unchanged.

The thresholds file is read unchanged: each known metric becomes a check on a preset, with the
file's ``warning``/``critical`` numbers as bounds in the file's ``unit``. ``requests_per_second``
is a lower bound (below critical is critical), every other metric an upper bound.
``--analysis-json`` (``promgate.report.analysis``) writes the shape its
``check_regression.py`` reads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import ConfigError
from .conditions import LEVELS, Condition, Level, Op
from .loader import CheckSpec, GateConfig
from .outcomes import Policy
from .presets import PRESETS
from .units import UnitName, get_unit

__all__ = ["FILE_METRICS", "load_thresholds", "parse_thresholds"]

#: metric of the file -> (preset, bound: ">" upper / "<" lower, no_data). The guide's script skips a
#: metric it has no figure for; so does the gate, and reports it as skipped. It still never
#: passes on nothing: a run with every check skipped fails (and an unknown run fails first).
FILE_METRICS: dict[str, tuple[str, Op, Policy]] = {
    "response_time_p95": ("p95", ">", "skip"),
    "response_time_p99": ("p99", ">", "skip"),
    "error_rate": ("error_rate", ">", "skip"),
    "requests_per_second": ("rps", "<", "skip"),
    "cpu_usage": ("host_cpu", ">", "skip"),
    "memory_usage": ("host_memory", ">", "skip"),
}
#: a unit of the file as a suffix in the gate's own condition syntax ("> 5%")
_SUFFIX = {"seconds": "s", "ms": "ms", "percent": "%"}
_FILE_UNITS: dict[str, UnitName] = {
    "seconds": "seconds",
    "ms": "ms",
    "percent": "percent",
    "rps": "rps",
    "ratio": "ratio",
    "bytes": "bytes",
    "count": "count",
}


def load_thresholds(path: str | Path) -> GateConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read thresholds: {exc}", file=str(path)) from None
    return parse_thresholds(text, str(path))


def parse_thresholds(text: str, source: str = "<thresholds>") -> GateConfig:
    doc = _json_object(text, source)
    lines = _key_lines(text)
    return GateConfig(
        source,
        tuple(_metric_check(name, spec, source, lines.get(name)) for name, spec in doc.items()),
    )


def _json_object(text: str, source: str) -> dict[str, object]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", file=source, line=exc.lineno) from None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", file=source) from None
    except ValueError as exc:  # an integer beyond Python's 4,300 digits
        raise ConfigError(f"invalid JSON: {exc}", file=source) from None
    if not isinstance(doc, dict) or not doc:
        raise ConfigError("expected an object of metrics like response_time_p95", file=source)
    return doc


def _metric_check(name: str, spec: object, source: str, line: int | None) -> CheckSpec:
    """One metric of the file as a check on its preset."""
    if name not in FILE_METRICS:
        raise ConfigError(
            f"unknown metric (known: {', '.join(FILE_METRICS)})", file=source, line=line, key=name
        )
    if not isinstance(spec, dict):
        raise ConfigError(
            "expected an object with warning, critical, unit", file=source, line=line, key=name
        )
    preset_name, bound, no_data = FILE_METRICS[name]
    preset = PRESETS[preset_name]
    # Without a unit, a number means what the guide's check_regression.py compares it with:
    # its analysis figures, which give the error rate in percent.
    unit_name = spec.get("unit", preset.shown_unit)
    if not isinstance(unit_name, str) or unit_name not in _FILE_UNITS:
        raise ConfigError(
            f"unknown unit {unit_name!r} (use one of: {', '.join(_FILE_UNITS)})",
            file=source,
            line=line,
            key=f"{name}.unit",
        )
    unit = get_unit(_FILE_UNITS[unit_name])
    native = get_unit(preset.unit)
    if unit.dimension != native.dimension:
        raise ConfigError(
            f"unit {unit_name} does not fit {name} ({preset.unit})",
            file=source,
            line=line,
            key=f"{name}.unit",
        )
    warning, critical = (
        _bound(spec, level, bound, unit_name, source, line, name) for level in LEVELS
    )
    if not warning and not critical:
        raise ConfigError("set warning or critical", file=source, line=line, key=name)
    return CheckSpec(
        name=name,
        query=preset.query,
        unit=unit,
        query_unit=native,
        warning=warning,
        critical=critical,
        description=preset.description,
        preset=preset_name,
        reduce="max",
        no_data=no_data,
        baseline_missing="warn",
        line=line,
    )


def _bound(
    spec: dict[str, object],
    level: Level,
    bound: Op,
    unit_name: str,
    source: str,
    line: int | None,
    name: str,
) -> tuple[Condition, ...]:
    """The file's ``warning`` or ``critical`` number as the condition ``> 5%`` (none if unset)."""
    if level not in spec:
        return ()
    value = _finite(spec[level])
    if value is None:
        raise ConfigError("expected a number", file=source, line=line, key=f"{name}.{level}")
    shown = f"{bound} {value:g}{_SUFFIX.get(unit_name, '')}"
    return (Condition(shown, bound, float(value)),)


def _finite(value: object) -> float | None:
    """A JSON number as a finite float; None for anything else (a 401-digit integer too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _key_lines(text: str) -> dict[str, int]:
    """Line of each top-level key; JSON has no marks, so find ``"key":`` at depth one."""
    lines: dict[str, int] = {}
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if depth == 1 and stripped.startswith('"'):
            key = stripped[1:].split('"', 1)[0]
            lines.setdefault(key, number)
        depth += line.count("{") - line.count("}")
    return lines

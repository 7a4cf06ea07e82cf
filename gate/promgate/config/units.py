"""Units a check's values are read and shown in, and quantities written with a unit suffix.

Each unit belongs to a dimension; values convert only within one (``2s`` is ``2000`` in a
``ms`` check, ``5%`` is ``0.05`` in a ``ratio`` check). A bare number is in the check's unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, get_args

from ..errors import ConfigError

__all__ = [
    "UNITS",
    "UNIT_NAMES",
    "Dimension",
    "Unit",
    "UnitName",
    "convert",
    "get_unit",
    "parse_quantity",
    "unit_name",
]

#: the units a check's values are read and shown in (``unit:``, ``query_unit:``, result files)
UnitName = Literal["seconds", "ms", "ratio", "percent", "rps", "bytes", "count"]
UNIT_NAMES: tuple[UnitName, ...] = get_args(UnitName)
#: what a unit measures: values convert only within one
Dimension = Literal["time", "fraction", "rate", "bytes", "count"]


@dataclass(frozen=True)
class Unit:
    name: UnitName
    dimension: Dimension
    #: value in the dimension's base unit = value * scale
    scale: float
    symbol: str


UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        Unit("seconds", "time", 1.0, "s"),
        Unit("ms", "time", 1e-3, "ms"),
        Unit("ratio", "fraction", 1.0, ""),
        Unit("percent", "fraction", 1e-2, "%"),
        Unit("rps", "rate", 1.0, " rps"),
        Unit("bytes", "bytes", 1.0, " B"),
        Unit("count", "count", 1.0, ""),
    )
}

# Suffixes accepted in conditions, as (dimension, scale to the dimension's base unit).
_SUFFIXES: dict[str, tuple[Dimension, float]] = {
    "ns": ("time", 1e-9),
    "us": ("time", 1e-6),
    "µs": ("time", 1e-6),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "m": ("time", 60.0),
    "h": ("time", 3600.0),
    "%": ("fraction", 1e-2),
    "rps": ("rate", 1.0),
    "/s": ("rate", 1.0),
    "b": ("bytes", 1.0),
    "kb": ("bytes", 1e3),
    "mb": ("bytes", 1e6),
    "gb": ("bytes", 1e9),
    "kib": ("bytes", 1024.0),
    "mib": ("bytes", 1024.0**2),
    "gib": ("bytes", 1024.0**3),
}

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*([a-zA-Zµ%/]*)$")


def get_unit(name: str) -> Unit:
    try:
        return UNITS[name]
    except KeyError:
        known = ", ".join(UNITS)
        raise ConfigError(f"unknown unit {name!r} (use one of: {known})") from None


def unit_name(value: object) -> UnitName | None:
    """``value`` as a unit's name, None when it names none (a result file from elsewhere)."""
    return next((n for n in UNIT_NAMES if n == value), None)


def convert(value: float, src: Unit, dst: Unit) -> float:
    if src.dimension != dst.dimension:
        raise ConfigError(f"cannot convert {src.name} to {dst.name} (different dimensions)")
    return value * src.scale / dst.scale


def parse_quantity(text: str, unit: Unit) -> float:
    """``"2s"`` in a ``ms`` check -> ``2000.0``; a bare number is taken in ``unit``."""
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ConfigError(f"not a number with an optional unit: {text!r} (e.g. 2s, 5%, 0.99)")
    number = float(text.strip()[: len(text.strip()) - len(match.group(2))].strip())
    suffix = match.group(2)
    if not math.isfinite(number):
        raise ConfigError(f"not a finite number: {text!r}")
    if not suffix:
        return number
    try:
        dimension, scale = _SUFFIXES[suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_SUFFIXES))
        raise ConfigError(
            f"unknown unit suffix {suffix!r} in {text!r} (use one of: {known})"
        ) from None
    if dimension != unit.dimension:
        raise ConfigError(
            f"{text!r} is a {dimension} but the check's unit is {unit.name} (a {unit.dimension})"
        )
    return number * scale / unit.scale

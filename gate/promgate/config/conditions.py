"""Threshold conditions: ``"> 2s"``, ``"< 50"``, ``">= 0.99"``, ``"> +20%"``, ``"> +50ms"``.

A condition describes the *bad* state: it triggers when the value satisfies it. A signed
right-hand side is relative to the baseline run: ``+20%`` means baseline x 1.2, ``-10%``
baseline x 0.9, and ``+50ms`` baseline + 50 ms (a signed amount in the check's unit).
Conditions joined by ``and`` all have to hold (``"> +20% and > +15ms"``: a relative threshold
with an absolute floor); they must point the same way (all ``>``/``>=`` or all ``<``/``<=``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from ..errors import ConfigError
from .units import Unit, parse_quantity

__all__ = ["LEVELS", "Condition", "Level", "Op", "Relative", "parse_condition"]

#: a condition's comparison: the value against the threshold
Op = Literal[">=", "<=", "==", "!=", ">", "<"]
#: "" absolute; "percent" (+20% of baseline); "delta" (+50ms over baseline)
Relative = Literal["", "percent", "delta"]
#: a check's conditions by what a breach means: ``critical`` fails the check, ``warning`` warns
Level = Literal["warning", "critical"]
LEVELS: tuple[Level, ...] = get_args(Level)

_OPS: dict[Op, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_SYNTAX = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([+-]?)\s*(\S.*?)\s*$")
_AND = re.compile(r"\s+and\s+")


@dataclass(frozen=True)
class Condition:
    text: str
    op: Op
    #: absolute threshold, or the relative amount when ``relative`` is set (check's unit)
    amount: float
    relative: Relative = ""
    #: the conditions joined by ``and`` (empty for a single one); op/relative are the first's
    parts: tuple[Condition, ...] = ()

    @property
    def needs_baseline(self) -> bool:
        return bool(self.relative)

    def threshold(self, baseline: float | None) -> float | None:
        """The absolute threshold; ``None`` when relative and there is no baseline. Of
        conditions joined by ``and``, the strictest: the one a value must pass to trigger all."""
        if self.parts:
            limits = [p.threshold(baseline) for p in self.parts]
            if any(x is None for x in limits):
                return None
            return (max if self.op.startswith(">") else min)(x for x in limits if x is not None)
        if not self.relative:
            return self.amount
        if baseline is None or not math.isfinite(baseline):
            return None
        if self.relative == "percent":
            return baseline * (1.0 + self.amount / 100.0)
        return baseline + self.amount

    def triggered(self, value: float, baseline: float | None = None) -> bool | None:
        """True when ``value`` is in the bad state; ``None`` when it cannot be decided."""
        if self.parts:
            hits = [p.triggered(value, baseline) for p in self.parts]
            # One part that surely does not hold decides ``and``, even without a baseline.
            return False if False in hits else None if None in hits else True
        limit = self.threshold(baseline)
        if limit is None or not math.isfinite(value):
            return None
        return _OPS[self.op](value, limit)


def parse_condition(text: object, unit: Unit) -> Condition:
    """Parse one condition; ``ConfigError`` with the reason on anything malformed."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ConfigError(f"condition must be a string like '> 2s', got {type(text).__name__}")
    if not isinstance(text, str):
        # A bare number in YAML: an upper bound, as a thresholds file's are.
        text = f"> {text}"
    if _AND.search(text.strip()):
        return _combined(text, unit)
    match = _SYNTAX.match(text)
    if not match:
        raise ConfigError(f"bad condition {text!r} (expected e.g. '> 2s', '< 50', '> +20%')")
    op_text, sign, rest = match.groups()
    op = next(o for o in _OPS if o == op_text)  # the pattern matched one of them
    if sign:
        stripped = rest.strip()
        if stripped.endswith("%"):
            try:
                amount = float(stripped[:-1].strip())
            except ValueError:
                raise ConfigError(f"bad relative amount in {text!r}") from None
            if not math.isfinite(amount):
                raise ConfigError(f"bad relative amount in {text!r}")
            return Condition(text, op, -amount if sign == "-" else amount, "percent")
        amount = _quantity(rest, unit, text)
        return Condition(text, op, -amount if sign == "-" else amount, "delta")
    return Condition(text, op, _quantity(rest, unit, text), "")


def _combined(text: str, unit: Unit) -> Condition:
    parts = tuple(parse_condition(part, unit) for part in _AND.split(text.strip()))
    ups = {p.op.startswith(">") for p in parts}
    if any(p.op in ("==", "!=") for p in parts) or len(ups) > 1:
        raise ConfigError(
            f"bad condition {text!r}: conditions joined by 'and' must all be > / >= or all "
            "< / <= (e.g. '> +20% and > +15ms')"
        )
    first = parts[0]
    relative: Relative = next((p.relative for p in parts if p.relative), "")
    return Condition(text, first.op, first.amount, relative, parts)


def _quantity(rest: str, unit: Unit, text: str) -> float:
    try:
        return parse_quantity(rest, unit)
    except ConfigError as exc:
        raise ConfigError(f"bad condition {text!r}: {exc.message}") from None

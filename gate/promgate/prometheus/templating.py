"""Filling ``$name`` variables into PromQL templates without letting a value change the query.

The template is scanned token by token. Inside a string literal a value is escaped for that
literal's quoting, so a run id full of quotes, backslashes and newlines stays one label value.
Outside a string a value must be a plain number, duration or identifier; anything else is an
error rather than text spliced into the expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import ConfigError

__all__ = ["check_duration", "escape_string", "render", "variables_in"]

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_SAFE_BARE = re.compile(
    r"^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # number
    r"|(?:[0-9]+(?:ms|s|m|h|d|w|y))+"  # duration
    r"|[A-Za-z_:][A-Za-z0-9_:]*)$"  # identifier / metric name
)
_DURATION = re.compile(r"^(?:[0-9]{1,9}(?:ms|s|m|h|d|w|y))+$")
# Variables Grafana fills in; left alone so one template serves both.
_GRAFANA = frozenset({"__range", "__rate_interval", "__interval", "__range_s"})


def escape_string(value: str, quote: str = '"') -> str:
    """Escape ``value`` for the inside of a PromQL string literal quoted with ``quote``."""
    if quote == "`":
        # Raw strings have no escapes; a backtick cannot be represented at all.
        if "`" in value:
            raise ConfigError(f"value {value!r} contains a backtick and is used in a `raw` string")
        return value
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def check_duration(text: str, what: str = "lookback") -> str:
    """``text`` when it is a PromQL duration (``7d``, ``1h30m``), else ``ConfigError``: a
    duration is pasted into a range selector, so anything else would change the query."""
    if not _DURATION.match(text):
        raise ConfigError(
            f"{what} {text[:40]!r} is not a PromQL duration (e.g. 7d, 12h, 1h30m)", option=what
        )
    return text


def variables_in(template: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in _VAR.finditer(template)}


def render(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``$name`` / ``${name}``; unknown names are a ``ConfigError``."""
    out: list[str] = []
    quote = ""
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if quote:
            if ch == "\\" and quote != "`" and i + 1 < n:
                out.append(template[i : i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
                out.append(ch)
                i += 1
                continue
        elif ch in "\"'`":
            quote = ch
            out.append(ch)
            i += 1
            continue
        elif ch == "#":
            # A PromQL comment runs to the end of the line; variables in it do not matter.
            end = template.find("\n", i)
            end = n if end < 0 else end
            out.append(template[i:end])
            i = end
            continue
        if ch == "$":
            match = _VAR.match(template, i)
            if match:
                name = match.group(1) or match.group(2)
                if name in _GRAFANA and name not in values:
                    out.append(match.group(0))
                elif name not in values:
                    known = ", ".join(f"${k}" for k in sorted(values))
                    raise ConfigError(f"unknown variable ${name} (known: {known})", option="var")
                else:
                    out.append(_fill(name, values[name], quote))
                i = match.end()
                continue
        out.append(ch)
        i += 1
    if quote:
        raise ConfigError(f"unterminated string literal ({quote}) in query")
    return "".join(out)


def _fill(name: str, value: str, quote: str) -> str:
    if quote:
        return escape_string(value, quote)
    if not _SAFE_BARE.match(value):
        raise ConfigError(
            f"variable ${name}={value!r} is used outside a string and is not a number, "
            "duration or identifier (quote it in the query)"
        )
    return value

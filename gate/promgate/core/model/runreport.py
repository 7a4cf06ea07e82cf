"""What the HTML report shows beyond the verdict: the run's time series for its charts, the
endpoint table and the errors table, as ``core.runs.collect.fetch_report``
read them from Prometheus.

A result keeps them (``report`` in the result file), so the report renders again from the file
alone, byte for byte, with no Prometheus (``promgate report --result``). Values are in the
series' own unit (users, requests per second, a ratio, seconds); a missing value is ``None`` in
the tables and NaN in a line (a gap), ``null`` in JSON either way.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EndpointRow", "ErrorRow", "Panel", "RunReport", "SeriesLine"]


class Panel(str, enum.Enum):
    """The chart a line belongs to, and the unit of its values."""

    USERS = "users"
    REQUESTS = "requests_per_second"
    FAILURES = "failures_per_second"
    ERROR_RATIO = "error_ratio"
    RESPONSE_TIME = "response_time"


@dataclass(frozen=True)
class SeriesLine:
    panel: Panel
    label: str
    #: (Unix seconds, value); a NaN value is a gap in the data
    points: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "panel": self.panel.value,
            "label": self.label,
            "points": [[t, v if math.isfinite(v) else None] for t, v in self.points],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SeriesLine:
        points = []
        for item in _list(doc.get("points"), "points"):
            if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 2:
                raise ValueError("a chart point is not [time, value]")
            t, v = _number(item[0]), _number(item[1])
            if t is None:
                raise ValueError("a chart point has no time")
            points.append((t, v if v is not None else math.nan))
        return cls(Panel(doc.get("panel")), _text(doc.get("label")), tuple(points))


@dataclass(frozen=True)
class EndpointRow:
    """One row of the endpoint table (``queries.endpoint_table``)."""

    method: str
    name: str
    requests: float | None = None
    failures: float | None = None
    #: failures / requests, a ratio
    error_ratio: float | None = None
    avg: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    rps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "name": self.name,
            **{k: _finite(getattr(self, k)) for k in _ENDPOINT_FIGURES},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> EndpointRow:
        figures = {k: _number(doc.get(k)) for k in _ENDPOINT_FIGURES}
        return cls(_text(doc.get("method")), _text(doc.get("name")), **figures)


_ENDPOINT_FIGURES = ("requests", "failures", "error_ratio", "avg", "p50", "p95", "p99", "rps")


@dataclass(frozen=True)
class ErrorRow:
    """Failures of one endpoint with one normalized error text (``queries.errors_by_error``)."""

    method: str
    name: str
    error: str
    count: float

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "name": self.name, "error": self.error, "count": self.count}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ErrorRow:
        count = _number(doc.get("count"))
        if count is None:
            raise ValueError("an error row has no count")
        return cls(_text(doc.get("method")), _text(doc.get("name")), _text(doc["error"]), count)


@dataclass(frozen=True)
class RunReport:
    """The report's data of one run, in the order it was read."""

    endpoints: tuple[EndpointRow, ...] = ()
    errors: tuple[ErrorRow, ...] = ()
    lines: tuple[SeriesLine, ...] = ()
    #: the sliding window of the rate and histogram lines (``"6s"``), named in the chart title
    rate_window: str = ""
    #: what went wrong while reading (a failed query), shown in the report instead of hidden
    notes: tuple[str, ...] = ()

    def panel(self, panel: Panel) -> list[SeriesLine]:
        return [line for line in self.lines if line.panel is panel]

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoints": [r.to_dict() for r in self.endpoints],
            "errors": [r.to_dict() for r in self.errors],
            "lines": [line.to_dict() for line in self.lines],
            "rate_window": self.rate_window,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunReport:
        """``ValueError`` on anything that is not what ``to_dict`` writes."""
        try:
            return cls(
                endpoints=tuple(
                    EndpointRow.from_dict(_mapping(d)) for d in _list(doc.get("endpoints"))
                ),
                errors=tuple(ErrorRow.from_dict(_mapping(d)) for d in _list(doc.get("errors"))),
                lines=tuple(SeriesLine.from_dict(_mapping(d)) for d in _list(doc.get("lines"))),
                rate_window=_text(doc.get("rate_window")),
                notes=tuple(_text(n) for n in _list(doc.get("notes"))),
            )
        except KeyError as exc:
            raise ValueError(f"report: an entry has no {exc.args[0]!r}") from None


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("report: an entry is not an object")
    return value


def _list(value: object, what: str = "entries") -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"report: {what} is not a list")
    return value


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"report: {str(value)[:20]!r} is not a string")
    return value


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"report: {str(value)[:20]!r} is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer of 400 digits in a file from elsewhere
        raise ValueError(f"report: a number too large: {str(value)[:20]}...") from None
    return number if math.isfinite(number) else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None

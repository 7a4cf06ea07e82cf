"""One run's figures per endpoint, as ``latency_regression`` compares them and a result file
keeps them: the latency histogram's bucket counts (``le`` -> cumulative count, the last values of
``locust_request_duration_seconds_bucket``), Locust's own whole-run percentiles, request and
failure counts and throughput.

``RunData.from_records`` is the one way both sources become comparable figures: the records
fetched from Prometheus (``core.runs.collect``) and the records read back from a result file go
through it, so the same run judged from either gives the same statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..stats.distribution import Buckets

__all__ = ["AGGREGATED", "STATS", "EndpointRecord", "Key", "RunData"]

Key = tuple[str, str]
#: the all-requests series, named as Locust's summary names its total row
AGGREGATED: Key = ("", "Aggregated")
#: the statistics ``latency_regression`` judges, and their ``percentile`` label
STATS = (("median", "0.5"), ("p95", "0.95"))


@dataclass(frozen=True)
class EndpointRecord:
    """One endpoint (or ``AGGREGATED``) of one run, as the result file's ``endpoints`` holds it."""

    method: str
    name: str
    requests: float | None = None
    failures: float | None = None
    #: whole-run requests per second, as Locust computes it
    rps: float | None = None
    #: ``le`` label text -> cumulative count (empty for ``AGGREGATED``: pooled from the others)
    buckets: dict[str, float] = field(default_factory=dict)
    #: ``percentile`` label text (``"0.95"``) -> seconds: Locust's whole-run percentiles
    percentiles: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.method, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "name": self.name,
            "requests": _finite(self.requests),
            "failures": _finite(self.failures),
            "rps": _finite(self.rps),
            "buckets": {k: v for k, v in self.buckets.items() if math.isfinite(v)},
            "percentiles": {k: v for k, v in self.percentiles.items() if math.isfinite(v)},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> EndpointRecord:
        """``ValueError`` on anything that is not what ``to_dict`` writes."""
        if not isinstance(doc, Mapping) or not isinstance(doc.get("name"), str):
            raise ValueError("an endpoint without a name")
        return cls(
            method=str(doc.get("method") or ""),
            name=str(doc["name"]),
            requests=_number(doc.get("requests")),
            failures=_number(doc.get("failures")),
            rps=_number(doc.get("rps")),
            buckets=_numbers(doc.get("buckets"), "buckets"),
            percentiles=_numbers(doc.get("percentiles"), "percentiles"),
        )


@dataclass(frozen=True)
class RunData:
    """One run's buckets and Locust percentiles per endpoint (and ``AGGREGATED``)."""

    run_id: str
    buckets: dict[Key, Buckets]
    #: (method, name) -> {"median": s, "p95": s}
    percentiles: dict[Key, dict[str, float]]
    #: what it was built from (the result file's ``endpoints``)
    records: tuple[EndpointRecord, ...] = ()

    @classmethod
    def from_records(cls, run_id: str, records: Iterable[EndpointRecord]) -> RunData:
        records = tuple(sorted(records, key=lambda r: (r.key == AGGREGATED, r.key)))
        buckets: dict[Key, Buckets] = {}
        for r in records:
            if r.key != AGGREGATED and r.buckets:
                buckets[r.key] = Buckets.from_cumulative(
                    (_le(le), c) for le, c in r.buckets.items()
                )
        if buckets:
            buckets[AGGREGATED] = Buckets.pooled(list(buckets.values()))
        names = {q: stat for stat, q in STATS}
        percentiles: dict[Key, dict[str, float]] = {}
        for r in records:
            for label, seconds in r.percentiles.items():
                stat = names.get(_q_label(label))
                if stat is not None and math.isfinite(seconds):
                    percentiles.setdefault(r.key, {})[stat] = seconds
        return cls(run_id, buckets, percentiles, records)

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records]

    @classmethod
    def from_list(cls, run_id: str, docs: Sequence[Any]) -> RunData:
        return cls.from_records(run_id, [EndpointRecord.from_dict(d) for d in docs])


def _q_label(text: str) -> str:
    try:
        return str(float(text)).rstrip("0").rstrip(".") if text else ""
    except ValueError:
        return text


def _le(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of 400 digits in a file from elsewhere
        raise ValueError(f"a number too large: {str(value)[:20]}...") from None
    return number if math.isfinite(number) else None


def _numbers(value: object, what: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"endpoint {what} is not an object")
    out: dict[str, float] = {}
    for k, v in value.items():
        number = _number(v)
        if number is None:
            raise ValueError(f"endpoint {what}[{k!r}] is not a number")
        out[str(k)] = number
    return out


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None

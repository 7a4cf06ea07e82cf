"""Why ``promgate run`` stopped the load test early: the ``aborted`` part of a gate result.

JSON form (``"aborted"`` in ``promgate check --json``'s document; ``null`` when the run ended by
itself)::

    {"reason": "breach"|"interrupted", "check": str|null, "value": float|null, "unit": str,
     "threshold": str, "labels": {str: str}, "since": float|null, "at": float,
     "elapsed": float|null, "message": str}

``since`` is when the live gate first saw the breach and ``at`` when it stopped Locust (Unix
seconds); ``elapsed`` is ``at`` in seconds from the run's start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ...config.units import UnitName, unit_name

__all__ = ["Abort", "AbortReason", "elapsed_text"]

#: "breach" (a check marked ``abort:`` held a critical breach) or "interrupted" (Ctrl-C)
AbortReason = Literal["breach", "interrupted"]
_REASONS: tuple[AbortReason, ...] = get_args(AbortReason)


@dataclass(frozen=True)
class Abort:
    reason: AbortReason
    at: float
    message: str
    check: str | None = None
    value: float | None = None
    unit: UnitName = "count"
    threshold: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    since: float | None = None
    elapsed: float | None = None

    def summary(self) -> str:
        """One line every output shows: how far into the run, when (UTC), and why."""
        when = time.strftime("%H:%M:%S UTC", time.gmtime(self.at))
        into = f" {elapsed_text(self.elapsed)} into the run" if self.elapsed is not None else ""
        what = "aborted" if self.reason == "breach" else "stopped"
        return f"{what}{into} at {when}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "check": self.check,
            "value": _finite(self.value),
            "unit": self.unit,
            "threshold": self.threshold,
            "labels": dict(self.labels),
            "since": self.since,
            "at": self.at,
            "elapsed": self.elapsed,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Abort:
        return cls(
            reason=next((r for r in _REASONS if r == doc.get("reason")), "breach"),
            at=float(doc.get("at") or 0.0),
            message=str(doc.get("message") or ""),
            check=str(doc["check"]) if doc.get("check") is not None else None,
            value=_finite(doc.get("value")),
            unit=unit_name(doc.get("unit")) or "count",
            threshold=str(doc.get("threshold") or ""),
            labels={str(k): str(v) for k, v in (doc.get("labels") or {}).items()},
            since=_finite(doc.get("since")),
            elapsed=_finite(doc.get("elapsed")),
        )


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def elapsed_text(seconds: float) -> str:
    """Seconds into a run as ``m:ss`` (``83:05`` past an hour: a run is read in minutes)."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"

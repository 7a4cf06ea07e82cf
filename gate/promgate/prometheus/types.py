"""What a query returns: an instant vector's samples and a range selector's raw series.

Plain values with no HTTP behind them, so judging and rendering do not pull in the client.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Sample", "Series"]


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (or a scalar, with no labels)."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """Raw samples of one series from a range selector: (timestamp, value) pairs."""

    labels: dict[str, str]
    points: list[tuple[float, float]]

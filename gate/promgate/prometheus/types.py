"""Plain values with no HTTP behind them, so judging and rendering do not pull in the client:
an instant vector's samples, a range selector's raw series, and a run's window."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RunWindow", "Sample", "Series"]


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


@dataclass(frozen=True)
class RunWindow:
    run_id: str
    job: str
    #: Locust's statistics start and the run's end (exporter's clock), Unix seconds
    start: float
    end: float
    #: Prometheus's timestamp of the first scrape that saw the end (its clock)
    final_scrape: float
    scrape_interval: float
    #: when the gate's queries are evaluated, and the range they look back over
    eval_time: float
    window_seconds: int

    @property
    def duration(self) -> str:
        return f"{self.window_seconds}s"

    def variables(self) -> dict[str, str]:
        """The run's template variables."""
        return {
            "run_id": self.run_id,
            "job": self.job,
            "run_start": _num(self.start),
            "run_end": _num(self.end),
            "run_duration": self.duration,
            "window": self.duration,
        }

    @classmethod
    def from_dict(cls, run: Mapping[str, Any]) -> RunWindow:
        """The window as ``to_dict`` wrote it; ``ValueError`` names what is missing or bad."""
        try:
            window = cls(
                run_id=str(run["run_id"]),
                job=str(run["job"]),
                start=float(run["start"]),
                end=float(run["end"]),
                final_scrape=float(run.get("final_scrape") or run["end"]),
                scrape_interval=float(run.get("scrape_interval") or 15.0),
                eval_time=float(run["eval_time"]),
                window_seconds=int(str(run["window"]).rstrip("s")),
            )
        except KeyError as exc:
            raise ValueError(f"run window has no {exc.args[0]!r}") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"run window malformed: {exc}") from None
        times = (window.start, window.end, window.final_scrape, window.eval_time)
        if not all(math.isfinite(t) for t in (*times, window.scrape_interval)):
            raise ValueError("run window malformed: a time is not a finite number")
        return window

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "start": self.start,
            "end": self.end,
            "final_scrape": self.final_scrape,
            "scrape_interval": self.scrape_interval,
            "eval_time": self.eval_time,
            "window": self.duration,
        }


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")

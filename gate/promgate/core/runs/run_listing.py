"""The runs Prometheus knows, newest first (``promgate runs``).

One instant query per column of ``queries.runs_table`` (the Runs dashboard's table), each
returning a row per ``run_id``, so the listing costs the same for 3 runs or 3,000.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ... import queries
from ...defaults import LOOKBACK
from ...prometheus.client import PrometheusClient
from ...prometheus.templating import check_duration, render
from ..model.result import GateResult, Verdict
from ..regression.baseline_history import run_markers

__all__ = ["RunRow", "list_runs", "marker_of", "rows_from_results"]


@dataclass(frozen=True)
class RunRow:
    run_id: str
    start: float | None
    duration: float | None
    #: a count: whole in every format (JSON writes 1234, not 1234.0)
    requests: int | None
    error_percent: float | None
    p95: float | None
    rps: float | None
    #: the gate's verdict when ``promgate check --push-results`` pushed one, else None
    verdict: str | None
    #: ``pinned`` or ``excluded`` (``promgate runs pin|exclude``), else None
    marker: str | None = None


def list_runs(
    client: PrometheusClient, job: str, lookback: str = LOOKBACK, at: float | None = None
) -> list[RunRow]:
    """Every run of ``job`` with data within ``lookback`` of ``at``, newest first."""
    at = time.time() if at is None else at
    check_duration(lookback)
    columns: dict[str, dict[str, float]] = {}
    for column, template in queries.runs_table().items():
        if column.startswith("link_") or column == "peak_users":
            # Links are for the dashboard; peak users is a subquery at the evaluation interval
            # over the whole lookback, far too costly for a listing.
            continue
        expr = render(template, {"job": job, "window": lookback})
        for sample in client.query(expr, at):
            run_id = sample.labels.get("run_id")
            if run_id is not None and math.isfinite(sample.value):
                columns.setdefault(run_id, {})[column] = sample.value
    markers = run_markers(client, lookback)
    rows = []
    for run_id, c in columns.items():
        if "start" not in c:
            continue  # a gate result without a run behind it
        ratio = c.get("error_ratio")
        verdict = c.get("verdict")
        rows.append(
            RunRow(
                run_id=run_id,
                start=c["start"] / 1000,  # the table's start is in ms, for Grafana
                duration=c.get("duration"),
                requests=_whole(c.get("requests")),
                error_percent=ratio * 100 if ratio is not None else None,
                p95=c.get("p95"),
                rps=c.get("rps"),
                verdict=_verdict_name(verdict),
                marker=marker_of(run_id, markers),
            )
        )
    rows.sort(key=lambda r: (r.start or 0.0, r.run_id), reverse=True)
    return rows


def rows_from_results(
    results: Sequence[GateResult], pinned: Collection[str], excluded: Collection[str]
) -> list[RunRow]:
    """``promgate runs --dir``: the runs of a directory's result files, newest first."""
    markers = {"pinned": set(pinned), "excluded": set(excluded)}
    rows = [
        RunRow(
            run_id=r.run_id,
            start=r.run.start,
            duration=r.run.end - r.run.start if r.run.end > r.run.start else None,
            requests=_whole(r.summary.get("requests")),
            error_percent=r.summary.get("error_rate_percent"),
            p95=r.summary.get("p95"),
            rps=r.summary.get("rps"),
            verdict=r.verdict.value,
            marker=marker_of(r.run_id, markers),
        )
        for r in results
    ]
    rows.sort(key=lambda r: (r.start or 0.0, r.run_id), reverse=True)
    return rows


def marker_of(run_id: str, markers: Mapping[str, Collection[str]]) -> str | None:
    # Excluded wins: a run both pinned and excluded is never a baseline.
    for marker in ("excluded", "pinned"):
        if run_id in markers.get(marker, ()):
            return marker
    return None


def _whole(value: float | None) -> int | None:
    return round(value) if value is not None and math.isfinite(value) else None


def _verdict_name(code: float | None) -> str | None:
    """A pushed ``promgate_verdict`` as its word; None when the gate pushed nothing."""
    if code is None:
        return None
    verdict = Verdict.from_code(code)
    return verdict.value if verdict is not None else "unknown"

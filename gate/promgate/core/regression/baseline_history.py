"""Run history as the baseline (``--baseline-history N``): the last N earlier runs of the same
job, and the same testplan and environment when the judged run carries them, whose verdict
pushed by ``promgate check --push-results`` was pass or warning.

Found from Prometheus alone (``queries.passing_runs``), newest first; the judged run never
counts, nor any run that started after it. A check's baseline value against a history is the
median of the history runs' values, series by series.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ... import queries
from ...prometheus.client import PrometheusClient
from ...prometheus.templating import check_duration, escape_string
from ...prometheus.types import RunWindow, Sample
from ...prometheus.window import run_selector

__all__ = [
    "INFO_LABELS",
    "History",
    "find_history",
    "history_candidates",
    "history_samples",
    "run_markers",
    "series_key",
]

#: ``locust_run_info`` labels a history must share with the judged run, when it carries them
INFO_LABELS = ("testplan", "environment")


@dataclass(frozen=True)
class History:
    """The history runs found for one judged run, newest first."""

    wanted: int
    runs: tuple[RunWindow, ...]
    #: the run-info labels the runs were matched on (only those the judged run carries)
    matched: dict[str, str] = field(default_factory=dict)
    job: str = ""

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    def describe(self) -> str:
        """One line for the reports: what was asked, what was found, what it was matched on."""
        same = ", ".join(f"{k}={v}" for k, v in sorted(self.matched.items()))
        scope = f"job {self.job or '?'}" + (f", {same}" if same else "")
        found = len(self.runs)
        if found == 0:
            # A run in Prometheus counts only with its pushed verdict: say so, or a user with
            # earlier runs right there cannot tell why none was found.
            return (
                f"no earlier passing run found (wanted {self.wanted}; same {scope}; a run counts "
                "once promgate check --push-results pushed its verdict)"
            )
        text = f"{found} of {self.wanted} wanted earlier passing runs (same {scope})"
        if found < self.wanted:
            text += f"; fewer than {self.wanted} found"
        return text


def find_history(
    client: PrometheusClient,
    window: RunWindow,
    wanted: int,
    lookback: str,
    resolve: Callable[[str], RunWindow],
) -> History:
    """The last ``wanted`` passing runs before ``window``'s run; ``resolve`` turns a run id into
    its window (``Gate.resolve``: the history's runs are finished, so it does not wait)."""
    matched, candidates = history_candidates(client, window, lookback)
    runs = tuple(resolve(run_id) for _start, run_id in candidates[:wanted])
    return History(wanted, runs, matched, window.job)


def history_candidates(
    client: PrometheusClient, window: RunWindow, lookback: str
) -> tuple[dict[str, str], list[tuple[float, str]]]:
    """The labels matched on, and every earlier passing run of the same job (and testplan and
    environment when the judged run carries them) as (start, run_id), newest first."""
    sel = run_selector(window.run_id, window.job)
    matched: dict[str, str] = {}
    for sample in client.query(queries.run_info(sel, window.duration), window.eval_time):
        for label in INFO_LABELS:
            if sample.labels.get(label):
                matched[label] = sample.labels[label]
    info_sel = ", ".join(f'{k}="{escape_string(v)}"' for k, v in sorted(matched.items()))
    job_sel = f'job="{escape_string(window.job)}"'
    expr = queries.passing_runs(job_sel, info_sel, check_duration(lookback))
    candidates: list[tuple[float, str]] = []
    for sample in client.query(expr):
        run_id = sample.labels.get("run_id")
        if run_id is None or run_id == window.run_id or not math.isfinite(sample.value):
            continue
        if sample.value < window.start:  # earlier runs only, even when re-judging an old run
            candidates.append((sample.value, run_id))
    candidates.sort(reverse=True)
    return matched, candidates


def run_markers(client: PrometheusClient, lookback: str) -> dict[str, set[str]]:
    """Run ids by marker (``pinned``, ``excluded``) as ``promgate runs pin|exclude`` pushed them
    (a marker cleared with ``--clear`` reads 0 and does not count)."""
    out: dict[str, set[str]] = {}
    for sample in client.query(queries.run_markers(lookback)):
        run_id, marker = sample.labels.get("run_id"), sample.labels.get("marker")
        if run_id and marker and sample.value == 1:
            out.setdefault(marker, set()).add(run_id)
    return out


def series_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A series' identity across runs: its labels without the run's own (run_id, instance)."""
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("run_id", "instance")))


def history_samples(per_run: Sequence[Sequence[Sample]]) -> list[Sample]:
    """The history's baseline: per series, the median of the runs' finite values."""
    values: dict[tuple[tuple[str, str], ...], list[float]] = {}
    labels: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for samples in per_run:
        for sample in samples:
            key = series_key(sample.labels)
            labels.setdefault(key, dict(key))
            if math.isfinite(sample.value):
                values.setdefault(key, []).append(sample.value)
    return [
        Sample(labels[key], statistics.median(values[key]) if values.get(key) else math.nan)
        for key in labels
    ]

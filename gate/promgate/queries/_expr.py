"""The building blocks of every query: run selectors, the window placeholder and the small
helpers that assemble selectors, ``by`` clauses and quantiles. Imports nothing else of promgate."""

from __future__ import annotations

__all__ = [
    "ANY_RUN",
    "RUN",
    "RUN_LABELS",
    "SUT",
    "WINDOW",
]

#: Label matchers of one run. Grafana and the gate both fill in ``$job`` and ``$run_id``.
RUN = 'job="$job", run_id="$run_id"'
#: A duration covering the whole run.
WINDOW = "$window"


def _sel(metric: str, sel: str, extra: str = "") -> str:
    matchers = ", ".join(part for part in (sel, extra) if part)
    return f"{metric}{{{matchers}}}"


#: Labels that identify a run; recording rules and alerts aggregate by them.
RUN_LABELS = "job, run_id"
#: Matchers of every run's series (rules see all runs at once).
ANY_RUN = 'run_id!=""'
# Server-side view of the system under test (http_requests_total / http_request_duration_seconds
# with labels method, route, status, as examples/demo_api.py exposes them).
SUT = 'job="$sut_job"'


def _label_values(selector: str, label: str) -> str:
    return f"label_values({selector}, {label})"


def _join(*parts: str) -> str:
    return ", ".join(part for part in parts if part)


def _by(by: str) -> str:
    return f" by ({by}) " if by else ""


def _histogram_quantile(q: float | str, buckets: str, by: str) -> str:
    return f"histogram_quantile({_q(q)}, sum by (le{_comma(by)}) ({buckets}))"


def _comma(by: str) -> str:
    return f", {by}" if by else ""


def _q(q: float | str) -> str:
    return str(float(q)) if not isinstance(q, str) else q

"""``promgate runs pin|exclude RUN``: mark a run as a preferred baseline, or as never one.

File mode (``--dir DIR``): the index file beside the result files (``promgate-index.json``).
Prometheus mode: a marker pushed to the Pushgateway, ``promgate_run_marker{marker="pinned"|
"excluded"}`` (1 set, 0 cleared) under job ``promgate`` with the run's id, a group of its own
so that ``check --push-results`` never overwrites it (docs/metrics.md, "Gate results").
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from ..core.result_files import RunIndex, read_index, write_index
from ..errors import PrometheusUnavailable, UsageError
from ..queries import RESULTS_JOB

__all__ = ["MARKERS", "mark_run"]

#: action -> (marker it sets, marker it clears)
MARKERS = {"pin": ("pinned", "excluded"), "exclude": ("excluded", "pinned")}


def mark_run(action: str, run_id: str, clear: bool, directory: str | None, url: str | None) -> str:
    """Set (or with ``clear`` remove) the marker; the one line to print."""
    marker, other = MARKERS[action]
    if directory:
        if not os.path.isdir(directory):
            raise UsageError(f"runs {action} --dir {directory}: no such directory", option="dir")
        index = read_index(directory)
        sets = {"pinned": set(index.pinned), "excluded": set(index.excluded)}
        if clear:
            sets[marker].discard(run_id)
        else:
            sets[marker].add(run_id)
            sets[other].discard(run_id)  # pinned and excluded at once would mean nothing
        new = RunIndex(frozenset(sets["pinned"]), frozenset(sets["excluded"]))
        where = str(write_index(directory, new))
    else:
        target = url or os.environ.get("PROMGATE_PUSHGATEWAY_URL")
        if not target:
            raise UsageError(
                f"runs {action}: where to? (pass --dir DIR for result files, or --pushgateway "
                "URL or PROMGATE_PUSHGATEWAY_URL for Prometheus)"
            )
        _push(target, run_id, marker, 0.0 if clear else 1.0)
        if not clear:
            _push(target, run_id, other, 0.0)
        where = target
    return f"promgate: run {run_id!r} {'no longer ' if clear else ''}{marker} ({where})"


def _push(url: str, run_id: str, marker: str, value: float) -> None:
    registry = CollectorRegistry()
    gauge = Gauge(
        "promgate_run_marker",
        "1 when promgate runs pin|exclude marked the run, 0 when cleared",
        registry=registry,
    )
    gauge.set(value)
    try:
        push_to_gateway(
            url,
            job=RESULTS_JOB,
            registry=registry,
            grouping_key={"run_id": run_id, "marker": marker},
            timeout=10.0,
        )
    except OSError as exc:
        raise PrometheusUnavailable(
            f"pushing the {marker} marker to {url} failed: {exc} (is the Pushgateway up?)",
            option="pushgateway",
        ) from None

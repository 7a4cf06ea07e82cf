"""``promgate runs pin|exclude RUN``: mark a run as a preferred baseline, or as never one.

File mode (``--dir DIR``): the index file beside the result files (``promgate-index.json``).
Prometheus mode: a marker pushed to the Pushgateway, ``promgate_run_marker{marker="pinned"|
"excluded"}`` (1 set, 0 cleared) under job ``promgate`` with the run's id, a group of its own
so that ``check --push-results`` never overwrites it (docs/metrics.md, "Gate results"); or the
same series by remote write (``--remote-write``), stamped now, with the config's auth.
"""

from __future__ import annotations

import os
import time

import requests
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from ..core.runs.result_files import RunIndex, gather_results, read_index, write_index
from ..errors import PrometheusUnavailable, UsageError
from ..prometheus.remote_write_client import remote_write
from ..queries import RESULTS_JOB
from ..report.push import registry_samples
from ..textsafe import redact_url
from .pushgateway import check_remote_write_url

__all__ = ["MARKERS", "mark_run"]

#: action -> (marker it sets, marker it clears)
MARKERS = {"pin": ("pinned", "excluded"), "exclude": ("excluded", "pinned")}


def mark_run(
    action: str,
    run_id: str,
    clear: bool,
    directory: str | None,
    url: str | None,
    remote_write_url: str | None = None,
    session: requests.Session | None = None,
) -> str:
    """Set (or with ``clear`` remove) the marker; the one line to print. ``remote_write_url``
    (else ``PROMGATE_REMOTE_WRITE_URL`` when no Pushgateway is named) writes it there with
    ``session``'s auth instead of pushing it."""
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
        if not clear and not _has_result(directory, run_id):
            where += f"; note: no result in {directory} has run id {run_id!r} yet (a typo?)"
    elif remote_write_url or (not url and _remote_write_env()):
        writer = check_remote_write_url(
            remote_write_url or os.environ["PROMGATE_REMOTE_WRITE_URL"], "remote_write"
        )
        values = {marker: 0.0 if clear else 1.0, **({} if clear else {other: 0.0})}
        now = time.time()
        samples = [
            s
            for name, value in values.items()
            for s in registry_samples(_registry(value), {"run_id": run_id, "marker": name}, now)
        ]
        remote_write(
            session or requests.Session(),
            writer,
            samples,
            what=f"the {marker} marker of run {run_id!r}",
            option="remote_write",
        )
        where = redact_url(writer)
    else:
        target = url or os.environ.get("PROMGATE_PUSHGATEWAY_URL")
        if not target:
            raise UsageError(
                f"runs {action}: where to? (pass --dir DIR for result files, or --pushgateway "
                "URL or PROMGATE_PUSHGATEWAY_URL, or --remote-write URL or "
                "PROMGATE_REMOTE_WRITE_URL for Prometheus)"
            )
        _push(target, run_id, marker, 0.0 if clear else 1.0)
        if not clear:
            _push(target, run_id, other, 0.0)
        where = target
    return f"promgate: run {run_id!r} {'no longer ' if clear else ''}{marker} ({where})"


def _has_result(directory: str, run_id: str) -> bool:
    """A result file in ``directory`` is of ``run_id`` (unreadable files: assume so)."""
    try:
        found = gather_results([directory])
    except UsageError:
        return True
    return any(result.run_id == run_id for _, result in found.results)


def _remote_write_env() -> bool:
    """``PROMGATE_REMOTE_WRITE_URL`` is set (and is the only sink set)."""
    if not os.environ.get("PROMGATE_REMOTE_WRITE_URL"):
        return False
    if os.environ.get("PROMGATE_PUSHGATEWAY_URL"):
        raise UsageError(
            "runs: both PROMGATE_PUSHGATEWAY_URL and PROMGATE_REMOTE_WRITE_URL are set "
            "(pass --pushgateway URL or --remote-write URL to choose)"
        )
    return True


def _registry(value: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    gauge = Gauge(
        "promgate_run_marker",
        "1 when promgate runs pin|exclude marked the run, 0 when cleared",
        registry=registry,
    )
    gauge.set(value)
    return registry


def _push(url: str, run_id: str, marker: str, value: float) -> None:
    registry = _registry(value)
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

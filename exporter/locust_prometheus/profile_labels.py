"""The load profile on ``locust_run_info``: Locust's ``-u`` and ``-r`` and a digest of the
locustfile, so the gate can tell whether a baseline run had the same load (docs/metrics.md)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

__all__ = ["PROFILE_LABELS", "locustfile_digest", "profile_labels"]

logger = logging.getLogger(__name__)

#: the labels ``profile_labels`` sets (reserved: ``--prometheus-label`` cannot override them)
PROFILE_LABELS = ("users", "spawn_rate", "locustfile_digest")
#: a locustfile larger than this is not read for its digest (it would stall the start)
_MAX_BYTES = 16 * 1024 * 1024


def profile_labels(environment: Any) -> dict[str, str]:
    """``users``, ``spawn_rate`` (as Locust parsed them) and ``locustfile_digest``; a value
    Locust was not given is left out, never invented."""
    options = getattr(environment, "parsed_options", None)
    out: dict[str, str] = {}
    for label, attr in (("users", "num_users"), ("spawn_rate", "spawn_rate")):
        value = getattr(options, attr, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[label] = f"{value:g}"
    digest = locustfile_digest(getattr(options, "locustfile", None))
    if digest:
        out["locustfile_digest"] = digest
    return out


def locustfile_digest(given: object) -> str:
    """SHA-256 (first 16 hex digits) of the locustfile's content: one file, a comma-separated
    list, or a directory's ``*.py``; empty when none can be read (never fails the load test)."""
    if isinstance(given, (list, tuple)):
        names = [str(g) for g in given]
    elif isinstance(given, str) and given:
        names = [part.strip() for part in given.split(",") if part.strip()]
    else:
        return ""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    sha = hashlib.sha256()
    try:
        for path in files:
            if path.stat().st_size > _MAX_BYTES:
                return ""
            sha.update(path.read_bytes())
    except OSError:
        logger.debug("locust_prometheus: locustfile %s not read for its digest", given)
        return ""
    return sha.hexdigest()[:16]

"""A run's identity and load profile, and whether two runs are comparable.

The profile comes from the exporter's ``locust_run_info`` labels (testplan, environment, host,
``users``, ``spawn_rate``, ``locustfile_digest``, and every ``--prometheus-label`` such as
``git_sha`` or ``branch``), the peak of ``locust_users`` and the run's window. A result file
(``promgate check --json``) carries it, so a run read back from a file is compared exactly as a
run found in Prometheus.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DURATION_TOLERANCE", "RunProfile", "profile_differences"]

#: how far (relative) a baseline run's duration may be from the judged run's
DURATION_TOLERANCE = 0.10
#: ``locust_run_info`` labels with a field of their own (the rest stay in ``labels``)
_OWN = ("testplan", "environment", "host", "users", "spawn_rate", "locustfile_digest")


@dataclass(frozen=True)
class RunProfile:
    run_id: str
    job: str
    testplan: str = ""
    environment: str = ""
    host: str = ""
    #: the peak of ``locust_users`` over the run (all user classes)
    peak_users: float | None = None
    #: Locust's ``-u`` and ``-r`` as the exporter labels them (None: not published)
    users: float | None = None
    spawn_rate: float | None = None
    #: end minus start, seconds
    duration: float | None = None
    locustfile_digest: str = ""
    #: every other ``locust_run_info`` label (``git_sha``, ``branch``, versions)
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_info(
        cls,
        run_id: str,
        job: str,
        info: Mapping[str, str],
        *,
        peak_users: float | None,
        duration: float | None,
    ) -> RunProfile:
        """From the labels of the run's ``locust_run_info`` series."""
        return cls(
            run_id=run_id,
            job=job,
            testplan=info.get("testplan", ""),
            environment=info.get("environment", ""),
            host=info.get("host", ""),
            peak_users=peak_users,
            users=_number(info.get("users")),
            spawn_rate=_number(info.get("spawn_rate")),
            duration=duration,
            locustfile_digest=info.get("locustfile_digest", ""),
            labels={
                k: v
                for k, v in sorted(info.items())
                if k not in (*_OWN, "job", "run_id", "instance", "__name__")
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "testplan": self.testplan,
            "environment": self.environment,
            "host": self.host,
            "peak_users": _finite(self.peak_users),
            "users": _finite(self.users),
            "spawn_rate": _finite(self.spawn_rate),
            "duration": _finite(self.duration),
            "locustfile_digest": self.locustfile_digest,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunProfile:
        labels = doc.get("labels")
        return cls(
            run_id=str(doc.get("run_id") or ""),
            job=str(doc.get("job") or ""),
            testplan=str(doc.get("testplan") or ""),
            environment=str(doc.get("environment") or ""),
            host=str(doc.get("host") or ""),
            peak_users=_number(doc.get("peak_users")),
            users=_number(doc.get("users")),
            spawn_rate=_number(doc.get("spawn_rate")),
            duration=_number(doc.get("duration")),
            locustfile_digest=str(doc.get("locustfile_digest") or ""),
            labels={str(k): str(v) for k, v in labels.items()}
            if isinstance(labels, Mapping)
            else {},
        )

    @property
    def scope(self) -> tuple[str, str, str]:
        """What history must share: job, testplan, environment."""
        return (self.job, self.testplan, self.environment)


def profile_differences(judged: RunProfile, base: RunProfile) -> list[str]:
    """How ``base``'s load profile differs from ``judged``'s, one phrase each (empty: the same).

    A figure either run does not carry (an older result, an exporter without the label) is not
    compared: only what both record can differ."""
    out: list[str] = []
    users_j, users_b = judged.users, base.users
    what = "users"
    if users_j is None or users_b is None:
        users_j, users_b, what = judged.peak_users, base.peak_users, "peak users"
    if users_j is not None and users_b is not None and not math.isclose(users_j, users_b):
        out.append(f"{what} {_n(users_b)} (judged run {_n(users_j)})")
    sj, sb = judged.spawn_rate, base.spawn_rate
    if sj is not None and sb is not None and not math.isclose(sj, sb):
        out.append(f"spawn rate {_n(sb)}/s (judged run {_n(sj)}/s)")
    if judged.host and base.host and judged.host != base.host:
        out.append(f"host {base.host} (judged run {judged.host})")
    dj, db = judged.locustfile_digest, base.locustfile_digest
    if dj and db and dj != db:
        out.append(f"locustfile digest {db[:12]} (judged run {dj[:12]})")
    tj, tb = judged.duration, base.duration
    if tj is not None and tb is not None and tj > 0 and abs(tb / tj - 1.0) > DURATION_TOLERANCE:
        out.append(f"duration {tb:.0f}s (judged run {tj:.0f}s, beyond ±{DURATION_TOLERANCE:.0%})")
    return out


def _n(value: float) -> str:
    return f"{value:g}"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float, str)) and value != "" else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None

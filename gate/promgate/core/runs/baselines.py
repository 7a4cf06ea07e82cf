"""Choosing the baseline runs, the same way for both sources: runs found in Prometheus and result
files read from disk. Pure: the candidates arrive with what is known about them.

A candidate is **eligible** when its verdict was pass or warning (a failed run never becomes a
baseline), it is not excluded (``promgate runs exclude``), it is not the judged run, it started
before the judged run, and (history and directories only) it shares the judged run's job,
testplan and environment. Pinned candidates come first, then the newest. Among the eligible, one
whose load profile differs from the judged run's (``profile_differences``) is skipped under
``comparable: strict``, compared with the difference reported under ``warn``, compared silently
under ``off``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ...config.baseline import Comparable
from ..model.profile import RunProfile, profile_differences
from ..model.result import Verdict

__all__ = ["Candidate", "Choice", "choose", "preference_order"]

T = TypeVar("T")
#: candidates looked at before the search stops (each may cost queries in Prometheus mode)
MAX_INSPECTED = 200


@dataclass(frozen=True)
class Candidate(Generic[T]):
    """A possible baseline run; ``source`` is what the caller needs to use it (a run window, a
    loaded result file)."""

    run_id: str
    job: str
    start: float
    source: T
    #: None when unknown (a result file older than schema 2; a run without ``locust_run_info``)
    profile: RunProfile | None
    #: None when unknown (``--baseline-run``: Prometheus holds no verdict unless one was pushed)
    verdict: Verdict | None = None
    pinned: bool = False
    excluded: bool = False
    #: where it came from, for the reports (a file path, or empty)
    origin: str = ""


@dataclass
class Choice(Generic[T]):
    chosen: list[Candidate[T]] = field(default_factory=list)
    #: ``comparable: warn``: each compared run whose load profile differs, with how
    differences: list[str] = field(default_factory=list)
    #: ``comparable: strict``: each run skipped for its load profile, with how it differs
    refused: list[str] = field(default_factory=list)
    #: runs passed over as not eligible, with why (failed, excluded, another testplan ...)
    passed_over: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """``passed_over`` in one line: ``3 not eligible (r-1: verdict fail; ...)``."""
        if not self.passed_over:
            return ""
        shown = "; ".join(self.passed_over[:3])
        more = f"; {len(self.passed_over) - 3} more" if len(self.passed_over) > 3 else ""
        return f"{len(self.passed_over)} not eligible ({shown}{more})"


def preference_order(candidates: Iterable[Candidate[T]]) -> list[Candidate[T]]:
    """Pinned first, then newest first (run id breaks ties, for a stable order)."""
    return sorted(candidates, key=lambda c: (not c.pinned, -c.start, c.run_id))


def choose(
    ordered: Iterable[Candidate[T]],
    judged: RunProfile,
    wanted: int,
    comparable: Comparable,
    *,
    judged_start: float,
    explicit: bool = False,
) -> Choice[T]:
    """The first ``wanted`` eligible, comparable candidates of ``ordered`` (already in
    preference order; consumed lazily). ``explicit``: the user named the run (``--baseline-run``,
    one ``--baseline-file``): no scope or start check, only verdict and load profile."""
    out: Choice[T] = Choice()
    for inspected, cand in enumerate(ordered):
        if inspected >= MAX_INSPECTED:
            break
        why = _ineligible(cand, judged, judged_start, explicit)
        if why:
            out.passed_over.append(f"{cand.run_id}: {why}")
            continue
        diffs = (
            profile_differences(judged, cand.profile)
            if cand.profile is not None and comparable is not Comparable.OFF
            else []
        )
        line = f"{cand.run_id} differs in load profile: {', '.join(diffs)}"
        if diffs and comparable is Comparable.STRICT:
            out.refused.append(line)
            continue
        if diffs:
            out.differences.append(line)
        out.chosen.append(cand)
        if len(out.chosen) >= wanted:
            break
    return out


def _ineligible(
    cand: Candidate[T], judged: RunProfile, judged_start: float, explicit: bool
) -> str | None:
    if cand.verdict is Verdict.FAIL:
        return "verdict fail (a failed run never becomes a baseline)"
    if cand.verdict is Verdict.SKIP:
        return "nothing was judged"
    if cand.excluded:
        return "excluded (promgate runs exclude)"
    if explicit:
        return None
    if cand.run_id == judged.run_id:
        return "the judged run itself"
    if cand.start >= judged_start:
        return "started after the judged run"
    return _scope_difference(cand, judged)


def _scope_difference(cand: Candidate[T], judged: RunProfile) -> str | None:
    """A run of another job is no baseline, nor one of another testplan or environment when the
    judged run carries that label (as history in Prometheus matches them). A result older than
    schema 2 records no testplan: it is matched on its job alone."""
    if cand.job != judged.job:
        return f"job {cand.job} (judged run {judged.job})"
    if cand.profile is None:
        return None
    for what, mine, theirs in (
        ("testplan", judged.testplan, cand.profile.testplan),
        ("environment", judged.environment, cand.profile.environment),
    ):
        if mine and mine != theirs:
            return f"{what} {theirs or '(none)'} (judged run {mine})"
    return None

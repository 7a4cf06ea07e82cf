"""What the judged run is compared with: a named run, result files, or history from Prometheus
or from result files, chosen by ``baselines.choose`` the same way for every source.

``plan_baseline`` returns the baseline runs to use (Prometheus windows or loaded results), the
``Baseline`` the reports show, and when nothing can be used, why (``NoBaseline``): a first run
(no baseline yet: relative conditions are skipped, the build does not fail on them) or a refused
one (``comparable: strict``, a failed run named explicitly: the check's ``baseline_missing``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...config.baseline import Comparable
from ...errors import RunNotFound
from ...prometheus.client import PrometheusClient
from ...prometheus.types import RunWindow
from ..model.baseline_ref import Baseline, NoBaseline
from ..model.profile import RunProfile
from ..model.result import GateResult
from ..regression.baseline_history import History, history_candidates, run_markers
from .baselines import Candidate, Choice, choose, preference_order
from .collect import fetch_profile, fetch_verdict
from .result_files import ResultSet

__all__ = ["Plan", "plan_baseline"]


@dataclass
class Plan:
    baseline: Baseline | None = None
    #: the baseline runs in Prometheus, or the baseline results read from files
    windows: list[RunWindow] = field(default_factory=list)
    results: list[GateResult] = field(default_factory=list)
    #: judged as a history (median of the runs, their spread), not as one run
    history: bool = False
    missing: NoBaseline | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """Where the baseline comes from, as the options gave it."""

    run: str | None = None
    #: the result files of ``--baseline-file``, read
    files: ResultSet | None = None
    #: N of ``--baseline-history N`` (or the config's ``baseline: {history: N}``)
    history: int | None = None
    comparable: Comparable = Comparable.WARN


def plan_baseline(
    client: PrometheusClient,
    window: RunWindow,
    judged: RunProfile,
    source: Source,
    *,
    resolve: Callable[[str], RunWindow],
    lookback: str,
) -> Plan:
    if source.files is not None:
        return _from_files(window, judged, source, source.files)
    if source.run:
        try:
            bw = resolve(source.run)
        except RunNotFound as exc:  # the judged run was found: this one is the baseline
            raise RunNotFound(f"baseline run: {exc}", option="baseline_run") from None
        # Named explicitly, but a run that failed (a pushed verdict) is still no baseline.
        verdict = fetch_verdict(client, bw, lookback)
        cand = Candidate(bw.run_id, bw.job, bw.start, bw, fetch_profile(client, bw), verdict)
        choice = choose(
            [cand], judged, 1, source.comparable, judged_start=window.start, explicit=True
        )
        plan = _finish(Plan(), choice, source, explicit=True, what=f"run {bw.run_id!r}")
        plan.windows = [c.source for c in choice.chosen]
        plan.baseline = Baseline(
            "run", run=bw, missing=_text(plan.missing), differences=choice.differences
        )
        return plan
    if source.history:
        return _from_prometheus(client, window, judged, source, resolve, lookback)
    return Plan()


def _from_prometheus(
    client: PrometheusClient,
    window: RunWindow,
    judged: RunProfile,
    source: Source,
    resolve: Callable[[str], RunWindow],
    lookback: str,
) -> Plan:
    wanted = source.history or 1
    matched, found = history_candidates(client, window, lookback)
    markers = run_markers(client, lookback)
    pinned, excluded = markers.get("pinned", set()), markers.get("excluded", set())
    ordered = preference_order(
        Candidate(run_id, window.job, start, source=None, profile=None,
                  pinned=run_id in pinned, excluded=run_id in excluded)
        for start, run_id in found
    )  # fmt: skip

    def resolved() -> Iterator[Candidate[RunWindow]]:
        # Lazily: each run costs queries, and strict may have to look past a few.
        for c in ordered:
            if c.excluded:  # passed over unresolved: an excluded run is never chosen
                yield Candidate(c.run_id, c.job, c.start, window, None, excluded=True)
                continue
            bw = resolve(c.run_id)
            off = source.comparable is Comparable.OFF
            profile = None if off else fetch_profile(client, bw)
            yield Candidate(c.run_id, c.job, c.start, bw, profile, pinned=c.pinned)

    choice = choose(resolved(), judged, wanted, source.comparable, judged_start=window.start)
    runs = tuple(c.source for c in choice.chosen)
    history = History(wanted, runs, matched, window.job)
    plan = _finish(Plan(history=True), choice, source, explicit=False, what=history.describe())
    plan.windows = list(runs)
    plan.baseline = Baseline(
        "history",
        run=runs[0] if runs else None,
        history=history.run_ids,
        wanted=wanted,
        missing=_text(plan.missing),
        pending=plan.missing is not None and plan.missing.skip,
        differences=choice.differences,
    )
    plan.notes.insert(0, f"baseline history: {history.describe()}")
    return plan


def _from_files(window: RunWindow, judged: RunProfile, source: Source, found: ResultSet) -> Plan:
    explicit = source.history is None and found.explicit
    cands = [
        Candidate(
            r.run.run_id,
            r.run.job,
            r.run.start,
            r,
            r.profile,
            r.verdict,
            pinned=r.run.run_id in found.index.pinned,
            excluded=r.run.run_id in found.index.excluded,
            origin=path,
        )
        for path, r in found.results
    ]
    wanted = source.history or 1
    choice = choose(
        preference_order(cands),
        judged,
        wanted,
        source.comparable,
        judged_start=window.start,
        explicit=explicit,
    )
    where = ", ".join(found.given)
    what = _files_text(found.results, found.missing, choice, wanted, where)
    history = source.history is not None
    plan = _finish(Plan(history=history), choice, source, explicit=explicit, what=what)
    plan.results = [c.source for c in choice.chosen]
    first = choice.chosen[0] if choice.chosen else None
    plan.baseline = Baseline(
        "history" if history else "file",
        run=first.source.run if first else None,
        file=first.origin if first and not history else (where if not history else None),
        history=[c.run_id for c in choice.chosen] if history else [],
        wanted=source.history,
        files=[c.origin for c in choice.chosen],
        missing=_text(plan.missing),
        pending=plan.missing is not None and plan.missing.skip,
        differences=choice.differences,
    )
    if history:
        plan.notes.insert(0, f"baseline history: {what}")
    return plan


def _files_text(
    results: Sequence[tuple[str, GateResult]],
    missing: Sequence[str],
    choice: Choice[GateResult],
    wanted: int,
    where: str,
) -> str:
    found = len(choice.chosen)
    if found:
        text = f"{found} of {wanted} wanted earlier passing results from {where}"
        return text + (f"; fewer than {wanted} found" if found < wanted else "")
    if not results:
        gone = [m for m in missing if not Path(m).exists()]
        return f"{', '.join(gone)} does not exist" if gone else f"no result files in {where}"
    return f"no earlier passing result among {len(results)} in {where}"


def _finish(
    plan: Plan,
    choice: Choice[GateResult] | Choice[RunWindow],
    source: Source,
    *,
    explicit: bool,
    what: str,
) -> Plan:
    """The notes of a choice, and why there is no baseline when nothing was chosen."""
    mode = source.comparable.value
    plan.notes += [
        f"baseline load profile differs (comparable: {mode}): {d}" for d in choice.differences
    ]
    plan.notes += [f"baseline refused (comparable: {mode}): {r}" for r in choice.refused]
    if choice.chosen:
        if choice.passed_over:
            plan.notes.append(f"baseline candidates passed over: {choice.summary()}")
        return plan
    if choice.refused:
        reason = f"no comparable baseline ({choice.refused[0]}; comparable: {mode})"
        plan.missing = NoBaseline(reason)
    elif explicit and choice.passed_over:
        plan.missing = NoBaseline(f"no baseline ({choice.passed_over[0]})")
    else:
        tail = f"; {choice.summary()}" if choice.passed_over else ""
        plan.missing = NoBaseline(f"no baseline yet: {what}{tail}", skip=True)
    plan.notes.append(plan.missing.reason)
    return plan


def _text(missing: NoBaseline | None) -> str | None:
    return missing.reason if missing is not None else None

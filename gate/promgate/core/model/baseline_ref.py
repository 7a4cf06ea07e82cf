"""What a judged run was compared with (a result's ``baseline``), and why it was compared with
nothing when there was no baseline to use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ...prometheus.types import RunWindow

__all__ = ["Baseline", "BaselineSource", "NoBaseline"]

#: what the run was compared with: a named run, earlier result files, or the run history
BaselineSource = Literal["run", "file", "history"]
_SOURCES: tuple[BaselineSource, ...] = get_args(BaselineSource)


@dataclass
class Baseline:
    """What the run was compared with: another run, an earlier result file, or the run history
    (``history``: the runs found, newest first; ``wanted``: how many were asked for).

    ``files``: the result files the baseline was read from (file mode); ``missing``: why nothing
    was compared (``pending``: no baseline yet, a first run; else no comparable one);
    ``differences``: the compared runs' load profiles that differ from the judged run's
    (``comparable: warn``), one line each."""

    source: BaselineSource
    run: RunWindow | None = None
    file: str | None = None
    history: list[str] = field(default_factory=list)
    wanted: int | None = None
    files: list[str] = field(default_factory=list)
    missing: str | None = None
    pending: bool = False
    differences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        run = self.run.to_dict() if self.run is not None else None
        doc: dict[str, Any] = {"source": self.source, "run": run, "file": self.file}
        if self.source == "history":
            doc.update(history=list(self.history), wanted=self.wanted)
        doc.update(
            files=list(self.files),
            missing=self.missing,
            pending=self.pending,
            differences=list(self.differences),
        )
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Baseline:
        run = doc.get("run")
        wanted = doc.get("wanted")
        return cls(
            source=_source(doc.get("source"), run is not None),
            run=RunWindow.from_dict(run) if isinstance(run, Mapping) else None,
            file=str(doc["file"]) if doc.get("file") else None,
            history=[str(r) for r in doc.get("history") or []],
            wanted=int(wanted) if isinstance(wanted, int) else None,
            files=[str(f) for f in doc.get("files") or []],
            missing=str(doc["missing"]) if doc.get("missing") else None,
            pending=bool(doc.get("pending")),
            differences=[str(d) for d in doc.get("differences") or []],
        )


@dataclass(frozen=True)
class NoBaseline:
    """Why a check's relative conditions had nothing to compare with, and what that does:
    ``skip`` for a first run (no baseline yet), else the check's ``baseline_missing``."""

    reason: str
    skip: bool = False


def _source(value: object, has_run: bool) -> BaselineSource:
    """A result file's ``source``; older files without one (or an unknown one) say it by their
    ``run``."""
    known = next((s for s in _SOURCES if s == value), None)
    if known is not None:
        return known
    return "run" if has_run else "file"

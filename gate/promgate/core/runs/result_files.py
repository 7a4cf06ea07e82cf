"""Reading result files (``promgate check --json``) and the index of pinned and excluded runs
beside them: the file I/O of history without a TSDB.

Every problem with a result file is one ``UsageError`` (exit 2) naming the file: unreadable,
not UTF-8, corrupt or truncated JSON, not a promgate result, a schema newer than this promgate.
A bad file is never skipped: a baseline read wrong could pass a run that should fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ..model.result import SCHEMA, SCHEMAS, GateResult

__all__ = [
    "INDEX_NAME",
    "ResultSet",
    "RunIndex",
    "gather_results",
    "load_result",
    "read_index",
    "write_index",
]

#: the index of pinned and excluded runs, beside the result files of a directory
INDEX_NAME = "promgate-index.json"
INDEX_SCHEMA = "promgate.index/1"
_HINT = "pass a file written by promgate check --json"


def load_result(path: str | Path, option: str = "baseline_file") -> GateResult:
    """The result in ``path``; ``UsageError`` naming the file on anything else."""
    doc = _read_json(path, "result file", option)
    if not isinstance(doc, dict) or not isinstance(doc.get("run"), dict):
        raise UsageError(
            f"result file {path}: not a promgate result (no 'run' object) ({_HINT})", option=option
        )
    if not isinstance(doc.get("checks"), list):
        raise UsageError(
            f"result file {path}: not a promgate result (no 'checks' list) ({_HINT})", option=option
        )
    schema = doc.get("schema", 1)
    if schema not in SCHEMAS:
        newer = isinstance(schema, str) and schema.startswith("promgate.result/")
        detail = "written by a newer promgate" if newer else "unknown schema"
        raise UsageError(
            f"result file {path}: {detail} (schema {schema!r}; this promgate reads up to "
            f"{SCHEMA}) ({'upgrade promgate' if newer else _HINT})",
            option=option,
        )
    try:
        return GateResult.from_dict(doc)
    except ValueError as exc:
        raise UsageError(f"result file {path}: malformed: {exc} ({_HINT})", option=option) from None


@dataclass(frozen=True)
class RunIndex:
    """Runs pinned (preferred as baselines) and excluded (never a baseline)."""

    pinned: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    def merged(self, other: RunIndex) -> RunIndex:
        return RunIndex(self.pinned | other.pinned, self.excluded | other.excluded)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": INDEX_SCHEMA,
            "pinned": sorted(self.pinned),
            "excluded": sorted(self.excluded),
        }


def read_index(directory: str | Path) -> RunIndex:
    """The directory's index; empty when there is none."""
    path = Path(directory) / INDEX_NAME
    if not path.exists():
        return RunIndex()
    doc = _read_json(path, "run index", "dir")
    if not isinstance(doc, dict) or doc.get("schema") != INDEX_SCHEMA:
        raise UsageError(
            f"run index {path}: not a promgate run index (schema {INDEX_SCHEMA})", option="dir"
        )
    lists = [doc.get("pinned") or [], doc.get("excluded") or []]
    if not all(isinstance(x, list) and all(isinstance(r, str) for r in x) for x in lists):
        raise UsageError(
            f"run index {path}: 'pinned' and 'excluded' must be lists of run ids", option="dir"
        )
    return RunIndex(frozenset(lists[0]), frozenset(lists[1]))


def write_index(directory: str | Path, index: RunIndex) -> Path:
    """Write the index atomically (a reader never sees half of it)."""
    path = Path(directory) / INDEX_NAME
    tmp = path.with_name(f".{INDEX_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(index.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            f"cannot write run index {path}: {exc.strerror or exc}", option="dir"
        ) from None
    return path


@dataclass
class ResultSet:
    """The result files found under ``--baseline-file`` paths."""

    results: list[tuple[str, GateResult]] = field(default_factory=list)
    #: directories named that do not exist (a fresh CI runner): no baseline yet
    missing: list[str] = field(default_factory=list)
    #: the directories read (for their index)
    directories: list[str] = field(default_factory=list)
    index: RunIndex = field(default_factory=RunIndex)
    #: the paths as given
    given: tuple[str, ...] = ()

    @property
    def explicit(self) -> bool:
        """One file named: that run is the baseline (not the newest of several)."""
        return len(self.given) == 1 and not self.directories and not self.missing


def gather_results(paths: Sequence[str | Path]) -> ResultSet:
    """Every result file the paths name: a file, or a directory's ``*.json`` (not recursive;
    the index is not a result). A path that does not exist is a directory still to come unless
    it ends in ``.json`` (a file named explicitly must exist)."""
    out = ResultSet(given=tuple(str(p) for p in paths))
    for given in paths:
        path = Path(given)
        if path.is_dir():
            out.directories.append(str(path))
            out.index = out.index.merged(read_index(path))
            for file in sorted(path.glob("*.json")):
                if file.name != INDEX_NAME and file.is_file():
                    out.results.append((str(file), load_result(file)))
        elif path.exists() or path.suffix.lower() == ".json":
            out.results.append((str(path), load_result(path)))
        else:
            out.missing.append(str(path))
    return out


def _read_json(path: str | Path, what: str, option: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read {what} {path}: {exc.strerror or exc}", option=option
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path}: not UTF-8 text ({_HINT})", option=option) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            detail = "empty"
        elif exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            # The scanner reached the end mid-value: a file cut short (a full disk, a killed
            # job), not a typo; an unterminated string always runs to the end of the text.
            detail = f"truncated JSON (it ends at line {exc.lineno} mid-document)"
        else:
            detail = f"corrupt JSON at line {exc.lineno}: {exc.msg}"
        raise UsageError(f"{what} {path}: {detail} ({_HINT})", option=option) from None
    except RecursionError:
        raise UsageError(f"{what} {path}: nested too deeply ({_HINT})", option=option) from None

"""The ``promgate runs`` listing as a table or JSON."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import TextIO

from ..core.judging.format import format_value
from ..core.runs.run_listing import RunRow

__all__ = ["format_runs"]


def format_runs(rows: list[RunRow], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        json.dump([asdict(r) for r in rows], out, indent=2)
        out.write("\n")
        return
    if not rows:
        out.write("no runs\n")
        return
    head = ("RUN ID", "START (UTC)", "DURATION", "REQUESTS", "ERRORS", "P95", "RPS", "VERDICT")
    table = [head] + [
        (
            _one_line(r.run_id),
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.start)) if r.start else "-",
            f"{r.duration:.0f}s" if r.duration is not None else "-",
            format_value(r.requests, "count"),
            format_value(r.error_percent, "percent"),
            format_value(r.p95, "seconds"),
            format_value(r.rps, "rps"),
            (r.verdict or "-") + (f" [{r.marker}]" if r.marker else ""),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        cells = [
            cell.ljust(w) if i in (0, 1, 7) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")


def _one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``), so a run id stays one table row."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

"""``--analysis-json``: the document the Locust CI/CD guide's ``check_regression.py`` reads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..core.model.result import GateResult

__all__ = ["analysis_document"]


def analysis_document(result: GateResult) -> dict[str, Any]:
    """The shape the guide's script reads: seconds, percent, rps; host usage only when known."""
    summary: Mapping[str, float | None] = result.summary
    out: dict[str, Any] = {}
    for key, source in (
        ("response_time_p95", "p95"),
        ("response_time_p99", "p99"),
        ("error_rate", "error_rate_percent"),
        ("requests_per_second", "rps"),
        ("cpu_usage_avg", "cpu_usage_avg"),
        ("memory_usage_avg", "memory_usage_avg"),
    ):
        value = summary.get(source)
        if value is not None and math.isfinite(value):
            out[key] = value
    return out

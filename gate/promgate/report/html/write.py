"""Writing the HTML report of one run: gather its data from Prometheus, render, write atomically."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...prometheus.client import PrometheusClient
from ..files import write_report
from .data import collect_report, window_from_result
from .render import render_html

__all__ = ["write_html_report"]


def write_html_report(
    path: str | Path, client: PrometheusClient, result: Mapping[str, Any]
) -> None:
    """``promgate check --html FILE``: the report of the run the gate just judged.

    ``result`` is the gate's JSON document (``GateResult.to_dict()``).
    """
    window = window_from_result(result)
    write_report(path, render_html(collect_report(client, window, result)))

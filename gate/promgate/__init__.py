"""promgate: judge Locust runs from Prometheus, in CI and as a library.

    from promgate import Gate, PrometheusClient, load_config
    result = Gate(load_config("gate.yaml"), PrometheusClient(url)).evaluate("run-42")
    result.verdict, result.exit_code, result.to_dict()

Errors: see ``promgate.errors`` (one tree, each with its exit code).
"""

from __future__ import annotations

from ._version import __version__
from .config.conditions import Condition, parse_condition
from .config.loader import CheckSpec, GateConfig, load_config, parse_config
from .config.presets import PRESETS, Preset
from .config.thresholds import load_thresholds
from .core.gate import Gate
from .core.model.result import CheckResult, GateResult, SeriesResult, Verdict
from .errors import (
    ConfigError,
    ExitCode,
    PrometheusError,
    PrometheusUnavailable,
    PromgateError,
    QueryError,
    QuerySyntaxError,
    RunError,
    RunNotFinished,
    RunNotFound,
    UsageError,
)
from .prometheus.client import PrometheusClient
from .prometheus.settings import PrometheusSettings
from .prometheus.types import RunWindow, Sample, Series

__all__ = [
    "PRESETS",
    "CheckResult",
    "CheckSpec",
    "Condition",
    "ConfigError",
    "ExitCode",
    "Gate",
    "GateConfig",
    "GateResult",
    "Preset",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusSettings",
    "PrometheusUnavailable",
    "PromgateError",
    "QueryError",
    "QuerySyntaxError",
    "RunError",
    "RunNotFinished",
    "RunNotFound",
    "RunWindow",
    "Sample",
    "Series",
    "SeriesResult",
    "UsageError",
    "Verdict",
    "__version__",
    "load_config",
    "load_thresholds",
    "parse_condition",
    "parse_config",
]

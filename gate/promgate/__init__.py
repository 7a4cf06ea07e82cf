"""promgate: judge Locust runs from Prometheus, in CI and as a library.

    from promgate import Gate, PrometheusClient, load_config
    result = Gate(load_config("gate.yaml"), PrometheusClient(url)).evaluate("run-42")
    result.verdict, result.exit_code, result.to_dict()

Errors: see ``promgate._exceptions`` (one tree, each with its exit code).
"""

from __future__ import annotations

from ._conditions import Condition, parse_condition
from ._config import CheckSpec, GateConfig, PrometheusSettings, load_config, parse_config
from ._exceptions import (
    ConfigError,
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
from ._gate import Gate
from ._model import CheckResult, GateResult, SeriesResult, Verdict
from ._presets import PRESETS, Preset
from ._prometheus import PrometheusClient, Sample, Series
from ._run import RunWindow
from ._seed import load_thresholds
from ._version import __version__

__all__ = [
    "PRESETS",
    "CheckResult",
    "CheckSpec",
    "Condition",
    "ConfigError",
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

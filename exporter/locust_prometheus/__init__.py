"""Live Prometheus metrics for Locust: ``import locust_prometheus`` in a locustfile.

Importing registers the exporter's command-line options and listeners on ``locust.events``.
It pushes only when ``--prometheus-pushgateway`` (or ``--prometheus-listen``) is given, and only
from the master or the local runner. See docs/exporter.md.
"""

from __future__ import annotations

from .__about__ import __version__
from ._activate import activate
from .options import ConfigError, ExporterConfig, config_from_options
from .plugin import PrometheusExporter

__all__ = [
    "ConfigError",
    "ExporterConfig",
    "PrometheusExporter",
    "__version__",
    "activate",
    "config_from_options",
]

activate()

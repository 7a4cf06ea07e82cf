"""Live Prometheus metrics for Locust: ``import locust_prometheus`` in a locustfile.

Importing registers the exporter's command-line options and listeners on ``locust.events``.
It pushes only when ``--prometheus-pushgateway`` (or ``--prometheus-listen``) is given, and only
from the master or the local runner. See docs/exporter.md.

Without Locust or gevent (promgate installed without its ``locust`` extra) the import succeeds
so that ``python -m locust_prometheus`` can say what to install; ``PrometheusExporter`` and
``activate`` then raise ImportError with that one-line message.
"""

from __future__ import annotations

import typing

from .__about__ import __version__
from .options import ConfigError, ExporterConfig, config_from_options

__all__ = [
    "ConfigError",
    "ExporterConfig",
    "PrometheusExporter",
    "__version__",
    "activate",
    "config_from_options",
]

#: The packages of the ``locust`` extra that the plugin imports.
_LOCUST_EXTRA = frozenset({"locust", "gevent", "configargparse"})

#: Why the plugin cannot load ("" when it can): a one-line ``what: detail (hint)`` message.
_MISSING_DEPENDENCY = ""

try:
    from ._activate import activate
    from .plugin import PrometheusExporter
except ImportError as exc:
    if (exc.name or "").partition(".")[0] not in _LOCUST_EXTRA:
        raise
    _MISSING_DEPENDENCY = (
        f"locust_prometheus: cannot load the exporter: module {exc.name!r} is not installed "
        "(install promgate[locust])"
    )

    def __getattr__(name: str) -> typing.Any:
        if name in ("PrometheusExporter", "activate"):
            raise ImportError(_MISSING_DEPENDENCY, name=name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
else:
    activate()

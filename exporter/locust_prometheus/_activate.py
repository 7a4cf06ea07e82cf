"""Hooks the exporter into ``locust.events`` once per process."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .options import ConfigError, add_arguments, config_from_options
from .plugin import PrometheusExporter

logger = logging.getLogger("locust_prometheus")

_activated = False


def _on_parser(*, parser: Any, **_: Any) -> None:
    add_arguments(parser)


def _on_init(*, environment: Any, runner: Any = None, **_: Any) -> None:
    from locust.runners import WorkerRunner

    options = getattr(environment, "parsed_options", None)
    if options is None or isinstance(runner or environment.runner, WorkerRunner):
        return  # workers push nothing: the master aggregates their statistics
    try:
        config = config_from_options(options)
        if not config.enabled:
            logger.debug("locust_prometheus: off (no --prometheus-pushgateway)")
            return
        exporter = PrometheusExporter(config)
        exporter.register(environment)
    except ConfigError as exc:
        # Like argparse: a bad option stops Locust before any load is generated.
        logger.error("locust_prometheus: %s", exc)
        sys.exit(2)
    environment.locust_prometheus = exporter


def activate() -> None:
    """Register the options and the ``init`` listener on ``locust.events`` (idempotent)."""
    global _activated
    if _activated:
        return
    from locust import events

    events.init_command_line_parser.add_listener(_on_parser)  # type: ignore[no-untyped-call]
    events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
    _activated = True

"""Run ids of one Locust process: each test is its own run, and the run id file follows."""

from __future__ import annotations

import logging
from dataclasses import replace

from .options import ConfigError, ExporterConfig

__all__ = ["RunIds", "write_run_id_file"]

logger = logging.getLogger(__name__)


def write_run_id_file(config: ExporterConfig) -> None:
    """Write the run id for the CI step that runs the gate; ConfigError if that fails."""
    if not config.run_id_file:
        return
    try:
        with open(config.run_id_file, "w", encoding="utf-8") as fh:
            fh.write(config.run_id + "\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot write --prometheus-run-id-file {config.run_id_file!r}: {exc} "
            "(check the directory exists and is writable)"
        ) from exc


class RunIds:
    """The first test keeps the run id given or generated at start; later tests of the same
    process (the web UI's "New test") get ``<id>-2``, ``<id>-3``, …, so runs never merge."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tests = 0

    def next_test(self, config: ExporterConfig) -> ExporterConfig | None:
        """Count a test start; the config of a new run, or None for the process's first test."""
        self.tests += 1
        if self.tests == 1:
            return None
        new = replace(config, run_id=f"{self.base}-{self.tests}")
        logger.info(
            "locust_prometheus: new test in this process: run id %s (job %s)", new.run_id, new.job
        )
        try:
            write_run_id_file(new)
        except ConfigError as exc:
            logger.warning("locust_prometheus: %s", exc)  # pushing goes on under the new id
        return new

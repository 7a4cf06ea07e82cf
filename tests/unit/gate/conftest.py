"""Fixtures of the gate's unit tests: a fake Prometheus and config files with fast retries."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from gate_fakeprom import fake_prom

# The dev tools (generator command line, docs tables) live outside the wheel, in tools/.
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))

__all__ = ["fake_prom", "write_config"]

FAST = """
prometheus:
  retries: 2
  retry_wait: 0.01
  timeout: 5
"""


@pytest.fixture()
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a gate config (with fast retries prepended) and return its path."""
    counter = iter(range(1000))

    def write(body: str, fast: bool = True) -> Path:
        path = tmp_path / f"gate{next(counter)}.yaml"
        path.write_text((FAST if fast else "") + body, encoding="utf-8")
        return path

    return write

"""What the tests of ``promgate check`` share: a config of two checks, ``check`` (the command
against a fake Prometheus or a URL) and the one-line error every failure prints."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from gate_fakeprom import FakePrometheus
from promgate.cli import run

CHECKS = """
checks:
  - name: p95
    preset: p95
    warning: "> 1s"
    critical: "> 2s"
  - name: errors
    preset: error_rate
    unit: percent
    critical: "> 5%"
"""


Writer = Callable[[str], Path]


def check(
    prom: FakePrometheus | str, config: Path, *extra: str, run_id: str = "run-1", wait: str = "2"
) -> int:
    """``promgate check`` against the fake (or a URL) with ``config``; returns the exit code."""
    url = prom if isinstance(prom, str) else prom.url
    args = ["--prometheus", url, "--run-id", run_id, "--config", str(config)]
    return run(["check", *args, "--wait-timeout", wait, *extra])


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    return f"http://127.0.0.1:{port}"


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("promgate: error")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]

"""``examples/demo.py --keep`` stopped with SIGTERM (``timeout``, a CI cancel) leaves nothing
running: not its Prometheus, not its Pushgateway, not its Locust processes (issue 19, item 13)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import ROOT, wait_until

pytestmark = pytest.mark.integration


def _listening(url: str) -> bool:
    host, port = re.match(r"http://([\d.]+):(\d+)", url).groups()  # type: ignore[union-attr]
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def _processes_naming(text: str) -> list[str]:
    ps = subprocess.run(
        ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True
    )
    return [line for line in ps.stdout.splitlines() if text in line and "ps -ww" not in line]


def test_sigterm_stops_the_demos_stack_and_locust(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = [sys.executable, str(ROOT / "examples" / "demo.py"), "--keep", "--out", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*demo, "--duration", "60", "--users", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while not any(line.startswith("Locust:") for line in seen):
            assert time.monotonic() < deadline, "".join(seen)
            line = proc.stdout.readline()
            assert line, "demo ended early:\n" + "".join(seen)
            seen.append(line)
        text = "".join(seen)
        prometheus = re.search(r"Prometheus\s+(http://\S+)/graph", text).group(1)  # type: ignore[union-attr]
        pushgateway = re.search(r"Pushgateway\s+(http://\S+)", text).group(1)  # type: ignore[union-attr]
        run_id = re.search(r"run id (\S+)", text).group(1)  # type: ignore[union-attr]
        wait_until(lambda: bool(_processes_naming(run_id)), timeout=60, what="Locust started")
        assert _listening(prometheus) and _listening(pushgateway)
        proc.send_signal(signal.SIGTERM)
        try:
            # Its cleanup is bounded: Locust, Prometheus and the Pushgateway get 20 s each.
            code = proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate(timeout=10)
            pytest.fail(f"demo still running 90 s after SIGTERM; it printed:\n{text}{rest}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 128 + signal.SIGTERM
    assert not _listening(prometheus), "Prometheus still running"
    assert not _listening(pushgateway), "Pushgateway still running"
    wait_until(lambda: not _processes_naming(run_id), timeout=30, what="Locust gone")

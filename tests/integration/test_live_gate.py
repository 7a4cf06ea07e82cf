"""``promgate run`` against real processes: a real Locust (local, and master + 2 workers) under
the live gate, the demo API falling over mid-run, a real Prometheus scraping the Pushgateway and
the demo API's own ``http_requests_total`` every second.

The issue's 150 s runs with failures from 25 s on are shortened (failures from about 10 s, ``for``
5 s, evaluations every 2 s): the assertions are the same, and an abort is still clearly earlier
than the run's own end (90 s).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack, free_port, terminate
from promgate.cli import run
from support import LOCUSTFILE, DemoApi, new_run_id, wait_until

pytestmark = pytest.mark.integration

FAST = """
prometheus:
  retries: 2
  retry_wait: 0.05
  timeout: 5
"""
ERROR_RATE = (
    FAST
    + """
checks:
  - name: error_rate
    preset: error_rate
    unit: percent
    critical: "> 5%"
    abort: {for: 5s}
  - {name: requests, preset: requests_total, critical: "< 1"}
"""
)
#: the system under test's own view: the share of its answers that are 5xx over the last 10 s
SERVER_ERRORS = (
    FAST
    + """
checks:
  - name: server_errors
    query: >
      sum(rate(http_requests_total{job="demo_api", status=~"5.."}[10s]))
      / sum(rate(http_requests_total{job="demo_api"}[10s]))
    unit: percent
    query_unit: ratio
    critical: "> 50%"
    no_data: skip
    abort: {for: 5s}
  - name: error_rate
    preset: error_rate
    unit: percent
    critical: "> 5%"
"""
)
#: seconds from the run's appearance in Prometheus until the demo API answers 500 to everything
FAIL_AFTER = 8.0
RUN_TIME = "90s"


def locust_command(
    api: DemoApi, stack: LocalStack, *extra: str, run_time: str = RUN_TIME
) -> list[str]:
    """Locust's command line as a user writes it after ``--``: no run id (promgate passes it)."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        "10",
        "-r",
        "10",
        "-t",
        run_time,
        "--host",
        api.url,
        "--stop-timeout",
        "5",
        "--only-summary",
        "--prometheus-pushgateway",
        stack.pushgateway_url,
        "--prometheus-push-interval",
        "1",
        "--prometheus-keep",
        *extra,
    ]


def promgate_run(
    tmp_path: Path,
    stack: LocalStack,
    config: str,
    command: list[str],
    *extra: str,
    run_id: str | None = None,
) -> tuple[int, dict[str, Any], float]:
    """``promgate run`` in-process; (exit code, JSON result or {}, wall seconds)."""
    cfg = tmp_path / f"gate-{len(list(tmp_path.iterdir()))}.yaml"
    cfg.write_text(config, encoding="utf-8")
    out = tmp_path / f"result-{len(list(tmp_path.iterdir()))}.json"
    argv = ["run", "--config", str(cfg), "--prometheus", stack.prometheus_url, "--json", str(out)]
    argv += ["--run-id", run_id or new_run_id("live"), "--interval", "2", *extra]
    began = time.monotonic()
    code = run([*argv, "--", *command])
    doc = json.loads(out.read_text()) if out.exists() else {}
    return code, doc, time.monotonic() - began


class Outage:
    """The demo API falls over mid-run: 500 to everything from ``delay`` s after the run shows up
    in Prometheus (a fixed wall-clock time would depend on how fast Locust starts)."""

    def __init__(self, api: DemoApi) -> None:
        self.api = api
        self.fail_from = math.inf
        self._thread: threading.Thread | None = None

    def arm(self, stack: LocalStack, run_id: str, delay: float = FAIL_AFTER) -> None:
        def fail_later() -> None:
            start = f'locust_run_start_timestamp_seconds{{run_id="{run_id}"}}'
            wait_until(lambda: stack.query(start), 60, f"run {run_id} in Prometheus")
            self.fail_from = time.time() + delay
            self.api.configure(fail_from=self.fail_from)

        self._thread = threading.Thread(target=fail_later, daemon=True)
        self._thread.start()

    def armed(self) -> float:
        assert self._thread is not None
        self._thread.join(timeout=60)
        assert math.isfinite(self.fail_from), "the outage never started"
        return self.fail_from


@pytest.fixture()
def outage(api: DemoApi) -> Iterator[Outage]:
    yield Outage(api)
    api.configure(fail_from=None)


def _truth(api: DemoApi) -> tuple[int, int]:
    totals = api.totals()
    return sum(r for r, _ in totals.values()), sum(f for _, f in totals.values())


def _assert_aborted_in_time(doc: dict[str, Any], fail_from: float, check: str) -> None:
    aborted = doc["aborted"]
    assert aborted is not None, doc
    assert aborted["reason"] == "breach" and aborted["check"] == check, aborted
    assert doc["verdict"] == "fail" and doc["exit_code"] == 1
    # The run ended within 45 s of the failures starting, long before its own 90 s.
    run_window = doc["run"]
    assert run_window["end"] - fail_from < 45, (run_window, fail_from)
    assert run_window["end"] - run_window["start"] < 60
    # The breach was seen only after the failures began, and held for: 5s (less 10 % jitter).
    assert aborted["since"] >= fail_from - 1
    assert aborted["at"] - aborted["since"] >= 4.5


def _assert_nothing_lost(doc: dict[str, Any], api: DemoApi) -> None:
    # The exporter's final push after SIGTERM carried every request the server answered.
    requests, failures = _truth(api)
    assert requests > 0 and failures > 0
    assert doc["summary"]["requests"] == requests
    assert doc["summary"]["failures"] == failures


def test_local_run_is_aborted_on_the_error_rate(
    stack: LocalStack, outage: Outage, tmp_path: Path
) -> None:
    api, run_id = outage.api, new_run_id("abort")
    outage.arm(stack, run_id)
    reports = {name: tmp_path / f"report.{name}" for name in ("junit", "markdown", "html")}
    outputs = [arg for name, path in reports.items() for arg in (f"--{name}", str(path))]
    command = locust_command(api, stack)
    code, doc, _ = promgate_run(tmp_path, stack, ERROR_RATE, command, *outputs, run_id=run_id)
    assert code == 1
    _assert_aborted_in_time(doc, outage.armed(), "error_rate")
    assert doc["aborted"]["threshold"] == "> 5%" and doc["aborted"]["value"] > 5
    _assert_nothing_lost(doc, api)
    # Every report says the run was stopped, by which check.
    for path in reports.values():
        text = path.read_text(encoding="utf-8")
        assert "into the run at" in text and "check error_rate is" in text, path


def test_distributed_run_is_aborted_on_the_error_rate(
    stack: LocalStack, outage: Outage, tmp_path: Path
) -> None:
    api, run_id = outage.api, new_run_id("abort-dist")
    outage.arm(stack, run_id)
    port = free_port()
    master = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    command = locust_command(api, stack, *master, "--expect-workers", "2")
    worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"]
    worker += ["--master-host", "127.0.0.1", "--master-port", str(port)]
    workers = [
        subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    try:
        code, doc, _ = promgate_run(tmp_path, stack, ERROR_RATE, command, run_id=run_id)
        for proc in workers:  # the master told them to quit when it stopped
            proc.wait(timeout=60)
    finally:
        for proc in workers:
            terminate(proc)
    assert code == 1
    _assert_aborted_in_time(doc, outage.armed(), "error_rate")
    _assert_nothing_lost(doc, api)


def test_a_server_side_check_aborts_the_run(
    stack: LocalStack, outage: Outage, tmp_path: Path
) -> None:
    api, run_id = outage.api, new_run_id("abort-server")
    outage.arm(stack, run_id)
    code, doc, _ = promgate_run(
        tmp_path, stack, SERVER_ERRORS, locust_command(api, stack), run_id=run_id
    )
    assert code == 1
    _assert_aborted_in_time(doc, outage.armed(), "server_errors")
    assert doc["aborted"]["threshold"] == "> 50%"
    _assert_nothing_lost(doc, api)


def test_a_healthy_run_is_not_aborted_and_exits_as_check_would(
    stack: LocalStack, api: DemoApi, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run_id = new_run_id("healthy")
    command = locust_command(api, stack, run_time="8s")
    code, doc, _ = promgate_run(tmp_path, stack, ERROR_RATE, command, run_id=run_id)
    assert code == 0 and doc["aborted"] is None and doc["verdict"] == "pass"
    err = capfd.readouterr().err
    assert "promgate: live 0:0" in err and "ABORT" not in err and "PENDING" not in err
    requests, failures = _truth(api)
    assert doc["summary"]["requests"] == requests > 0 and failures == 0
    # promgate check on the same run: same exit code, same values.
    cfg = tmp_path / "check.yaml"
    cfg.write_text(ERROR_RATE, encoding="utf-8")
    out = tmp_path / "check.json"
    argv = ["check", "--config", str(cfg), "--prometheus", stack.prometheus_url]
    assert run([*argv, "--run-id", run_id, "--json", str(out)]) == code
    checked = json.loads(out.read_text())
    assert [(c["name"], c["value"], c["verdict"]) for c in checked["checks"]] == [
        (c["name"], c["value"], c["verdict"]) for c in doc["checks"]
    ]


def test_abort_after_is_not_judged_before_it(
    stack: LocalStack, api: DemoApi, tmp_path: Path
) -> None:
    api.configure(fail_from=time.time())  # failing from the very first request
    try:
        config = ERROR_RATE.replace("abort: {for: 5s}", "abort: {after: 12s}")
        code, doc, _ = promgate_run(tmp_path, stack, config, locust_command(api, stack))
    finally:
        api.configure(fail_from=None)
    assert code == 1
    aborted = doc["aborted"]
    assert aborted["check"] == "error_rate"
    # Breached from the start, judged from 12 s on, and stopped at the first evaluation after.
    assert 12 <= aborted["elapsed"] < 20
    assert aborted["since"] - doc["run"]["start"] >= 12
    assert doc["run"]["end"] - doc["run"]["start"] >= 12


def test_locust_with_bad_arguments_exits_2_without_waiting(
    stack: LocalStack, api: DemoApi, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    command = locust_command(api, stack, "--no-such-option")
    code, doc, seconds = promgate_run(tmp_path, stack, ERROR_RATE, command)
    assert code == 2 and doc == {}
    assert seconds < 30
    err = capfd.readouterr().err
    assert "unrecognized arguments: --no-such-option" in err  # Locust's own message
    assert "locust did not start run" in err


def test_prometheus_unreachable_never_aborts_and_the_final_check_says_3(
    stack: LocalStack, api: DemoApi, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "gate.yaml"
    cfg.write_text(ERROR_RATE, encoding="utf-8")
    dead = f"http://127.0.0.1:{free_port()}"
    command = locust_command(api, stack, run_time="6s")
    argv = ["run", "--config", str(cfg), "--prometheus", dead, "--interval", "1"]
    code = run([*argv, "--run-id", new_run_id("noprom"), "--", *command])
    assert code == 3
    err = capfd.readouterr().err
    assert "not judged" in err and "ABORT" not in err
    requests, _ = _truth(api)
    assert requests > 0  # Locust ran: the outage did not stop it


def _locust_children() -> list[int]:
    """Pids of the Locust processes this test process started (promgate run's child)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"locust" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def test_locust_crashing_mid_run_is_reported_and_judged(
    stack: LocalStack, api: DemoApi, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run_id = new_run_id("crash")

    def crash() -> None:
        start = f'locust_run_start_timestamp_seconds{{run_id="{run_id}"}}'
        wait_until(lambda: stack.query(start), 30, f"run {run_id} in Prometheus")
        for pid in _locust_children():
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=crash, daemon=True)
    killer.start()
    command = locust_command(api, stack)
    code, doc, seconds = promgate_run(
        tmp_path, stack, ERROR_RATE, command, "--wait-timeout", "3", run_id=run_id
    )
    killer.join(timeout=5)
    # No final push: the run has no end timestamp, so the final check fails it (exit 1).
    assert code == 1 and doc == {} and seconds < 60
    err = capfd.readouterr().err
    assert "locust ended abnormally (killed by SIGKILL)" in err
    assert "run not finished" in err

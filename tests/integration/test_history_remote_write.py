"""History kept by remote write, end to end: real Locust runs, a real Prometheus taking remote
write and a VictoriaMetrics, the gate's verdicts and run markers delivered by remote write.

Two history runs pass: the first's verdict is remote-written (``--remote-write-results``, through
a fan-out to Prometheus's receiver and VictoriaMetrics), the second's pushed to the Pushgateway
both engines scrape. A third run, its busiest endpoint slower, is judged with
``--baseline-history 2``: from Prometheus, from VictoriaMetrics (``prometheus.ingestion_delay``)
and from the two runs' result files, which tests/integration/test_history_files.py holds equal
to the Pushgateway path. All three find the same history and give the same figures. The
remote-written series carry exactly the labels the Pushgateway's do, so nothing downstream can
tell the carriers apart. Then ``runs pin|exclude --remote-write`` reorders and shortens the
history on both engines.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack
from promgate.cli import run
from support import DemoApi, wait_until
from test_gate_victoria import FanOut
from test_history_files import HISTORY_CONFIG, JUDGED_CONFIG, _compare
from test_regression import BUSIEST, MEDIANS, Runs
from victoria import VictoriaMetrics

pytestmark = pytest.mark.integration

#: the Pushgateway group's series, as Prometheus stores them (push_failure_time_seconds is the
#: Pushgateway's own bookkeeping, not part of the group's metrics)
RESULT_SERIES = '{__name__=~"promgate_.+|push_time_seconds", job="promgate", run_id="%s"}'


@pytest.fixture()
def fan_out(stack: LocalStack, tmp_path: Path) -> Iterator[tuple[VictoriaMetrics, str]]:
    """A VictoriaMetrics scraping the session's Pushgateway, and one remote-write URL that
    reaches both it and the stack's Prometheus."""
    with VictoriaMetrics(tmp_path / "vm", pushgateway=stack.pushgateway_url) as vm:
        handler = type("Fan", (FanOut,), {"targets": (stack.remote_write_url, vm.write_url)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield vm, f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
        finally:
            server.shutdown()
            server.server_close()


def _seen(query: Callable[[str], list[dict[str, Any]]], expr: str, what: str) -> None:
    wait_until(lambda: query(expr), 30, what)


def _judge_on(url: str, runs: Runs, run_id: str, config: str, extra: tuple[str, ...], label: str
              ) -> dict[str, Any]:  # fmt: skip
    """Judge ``run_id`` against the engine at ``url``; the JSON result."""
    cfg = runs.tmp / f"{run_id}-{label}.yaml"
    cfg.write_text(config, encoding="utf-8")
    out = runs.tmp / f"{run_id}-{label}.json"
    argv = ["check", "--prometheus", url, "--run-id", run_id, "--job", runs.job]
    code = run([*argv, "--config", str(cfg), "--json", str(out), "--wait-timeout", "60", *extra])
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert code == doc["exit_code"]
    return doc


def test_history_from_remote_written_verdicts(
    stack: LocalStack, fan_out: tuple[VictoriaMetrics, str], tmp_path: Path
) -> None:
    vm, fan = fan_out
    api = DemoApi(latency_ms=MEDIANS[BUSIEST], jitter_ms=0)
    runs = Runs(stack, api, tmp_path)
    history_dir = tmp_path / "history"
    history_dir.mkdir()
    try:
        # h1: the verdict by remote write; h2: pushed to the Pushgateway.
        h1, _ = runs.load()
        code, doc = runs.judge(h1, HISTORY_CONFIG, ("--remote-write-results", fan), label="rw")
        assert code == 0 and doc["verdict"] == "pass", doc
        shutil.copy(tmp_path / f"{h1}-rw.json", history_dir / f"{h1}.json")
        h2, _ = runs.load()
        code, doc = runs.judge(h2, HISTORY_CONFIG)
        assert code == 0, doc
        shutil.copy(tmp_path / f"{h2}.json", history_dir / f"{h2}.json")
        for name, query in (("Prometheus", stack.query), ("VictoriaMetrics", vm.query)):
            for r in (h1, h2):
                _seen(query, f'promgate_verdict{{run_id="{r}"}}', f"{r}'s verdict in {name}")

        # Same names, labels and values whichever carried them (Prometheus's view of both).
        carried = {
            r: sorted(
                json.dumps({k: v for k, v in s["metric"].items() if k != "run_id"}, sort_keys=True)
                for s in stack.query(RESULT_SERIES % r)
            )
            for r in (h1, h2)
        }
        assert carried[h1] == carried[h2]
        names = {json.loads(k)["__name__"] for k in carried[h1]}
        assert {"push_time_seconds", "promgate_verdict", "promgate_check_value"} <= names
        (verdict,) = stack.query(f'promgate_verdict{{run_id="{h1}"}}')
        assert verdict["metric"] == {"__name__": "promgate_verdict", "job": "promgate",
                                     "run_id": h1} and verdict["value"][1] == "0"  # fmt: skip

        # The judged run, from each source: the same history, the same figures.
        j, _ = runs.load(runs.slower(BUSIEST, 0.3))
        extra = ("--baseline-history", "2")
        _, prom = runs.judge(j, JUDGED_CONFIG, extra, label="prometheus")
        _, files = runs.judge(j, JUDGED_CONFIG, (*extra, "--baseline-file", str(history_dir)),
                              label="files")  # fmt: skip
        delayed = "prometheus:\n  ingestion_delay: 2\n" + JUDGED_CONFIG
        victoria = _judge_on(vm.url, runs, j, delayed, extra, "victoria")
        assert prom["baseline"]["history"] == [h2, h1] == victoria["baseline"]["history"]
        _compare(prom, files)
        _compare(prom, victoria)
        assert prom["verdict"] == "fail"  # the slower endpoint, found against this history

        # Pin h1 (first), then exclude h2 (gone): markers by remote write, on both engines.
        for action, marked, want in (("pin", h1, [h1, h2]), ("exclude", h2, [h1])):
            assert run(["runs", action, marked, "--remote-write", fan]) == 0
            marker = "pinned" if action == "pin" else "excluded"
            seen = f'promgate_run_marker{{run_id="{marked}", marker="{marker}"}} == 1'
            for name, query in (("Prometheus", stack.query), ("VictoriaMetrics", vm.query)):
                _seen(query, seen, f"the {marker} marker of {marked} in {name}")
            _, prom = runs.judge(j, JUDGED_CONFIG, extra, label=f"prometheus-{action}")
            victoria = _judge_on(vm.url, runs, j, delayed, extra, f"victoria-{action}")
            assert prom["baseline"]["history"] == want == victoria["baseline"]["history"]
            _compare(prom, victoria)
    finally:
        api.stop()

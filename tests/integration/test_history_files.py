"""History without a TSDB, end to end: real Locust runs, a real Prometheus, their result files.

Four runs pass and are pushed (``--push-results``) and written (``--json``). A fifth run, its
busiest endpoint slower, is judged twice with ``--baseline-history 4``: from Prometheus (the
pushed verdicts) and from the four result files in a directory. Both judgements must give the
same verdicts and the same figures, check by check and endpoint by endpoint: the same runs, the
same statistics, whichever source held them.

Pinned and excluded runs (``promgate runs pin|exclude``: pushed markers, the directory's index)
change both histories alike. Then a run with twice the users is the baseline of one with the
first runs' users: refused under ``comparable: strict``, compared with the reason under
``warn``, the reason in every format.

    .venv/bin/python -m pytest -s -p no:cacheprovider tests/integration/test_history_files.py
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack
from promgate.cli import run
from support import DemoApi, wait_until
from test_regression import BUSIEST, MEDIANS, Runs, latency_series

pytestmark = pytest.mark.integration

HISTORY = 4
#: the history runs' checks: the judged config's names, absolute conditions (no baseline yet)
HISTORY_CONFIG = """
checks:
  - {name: errors, preset: error_rate, critical: "> 1%"}
  - {name: p95, preset: p95, critical: "> 5s"}
  - {name: p95 per endpoint, preset: endpoint_p95, critical: "> 5s"}
"""
#: judged against the history: relative conditions, one with an absolute floor
JUDGED_CONFIG = """
checks:
  - {name: errors, preset: error_rate, critical: "> 1%"}
  - {name: p95, preset: p95, critical: "> +50% and > +20ms"}
  - {name: p95 per endpoint, preset: endpoint_p95, critical: "> +15% and > +5ms"}
  - {name: latency, preset: latency_regression, critical: "> +10%"}
"""
#: the figures of ``latency_regression`` both sources must agree on
FIGURES = ("requests", "baseline_requests", "baseline_runs", "detectable_percent", "judgeable")
STAT_FIGURES = ("run", "baseline", "shift_percent", "spread_percent", "confidence", "z")


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def _compare(prom: dict[str, Any], files: dict[str, Any]) -> None:
    """Same verdict, and per check and series the same value, baseline, verdict and figures."""
    assert prom["verdict"] == files["verdict"]
    assert prom["baseline"]["history"] == files["baseline"]["history"]
    for pc, fc in zip(prom["checks"], files["checks"], strict=True):
        name = pc["name"]
        for key in ("verdict", "value", "baseline"):
            _same(pc[key], fc[key], f"{name}.{key}")
        assert len(pc["series"]) == len(fc["series"]), name
        for ps, fs in zip(pc["series"], fc["series"], strict=True):
            where = f"{name}{ps['labels']}"
            assert ps["labels"] == fs["labels"], where
            for key in ("verdict", "value", "baseline"):
                _same(ps[key], fs[key], f"{where}.{key}")
            _same(ps["thresholds"], fs["thresholds"], f"{where}.thresholds")
            pr, fr = ps["regression"], fs["regression"]
            assert (pr is None) == (fr is None), where
            if pr is None:
                continue
            for key in FIGURES:
                _same(pr[key], fr[key], f"{where}.{key}")
            for stat in ("median", "p95"):
                for key in STAT_FIGURES:
                    _same(pr[stat][key], fr[stat][key], f"{where}.{stat}.{key}")
            assert pr["buckets"] == fr["buckets"], where


def test_history_from_result_files(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = DemoApi(latency_ms=MEDIANS[BUSIEST], jitter_ms=0)
    runs = Runs(stack, api, tmp_path)
    history_dir = tmp_path / "history"
    history_dir.mkdir()
    try:
        history: list[str] = []
        for _ in range(HISTORY):
            run_id, _factor = runs.load()
            code, doc = runs.judge(run_id, HISTORY_CONFIG)
            assert code == 0, doc
            history.append(run_id)
            shutil.copy(tmp_path / f"{run_id}.json", history_dir / f"{run_id}.json")
            # A result file is a complete baseline: profile and endpoints as the run had them.
            assert doc["schema"] == "promgate.result/2"
            assert doc["profile"]["users"] == 8 and doc["profile"]["spawn_rate"] == 8
            assert doc["profile"]["testplan"] == "regress" and doc["profile"]["peak_users"] == 8
            assert len(doc["profile"]["locustfile_digest"]) == 16
            endpoints = {e["name"]: e for e in doc["endpoints"]}
            assert set(endpoints) == {*MEDIANS, "Aggregated"}
            busiest = endpoints[BUSIEST]
            assert busiest["buckets"]["+Inf"] == busiest["requests"] > 0
            assert {"0.5", "0.95", "0.99"} <= set(busiest["percentiles"])
            assert endpoints["Aggregated"]["requests"] == doc["summary"]["requests"]

        run_id, _factor = runs.load(runs.slower(BUSIEST, 0.3))
        extra = ("--baseline-history", str(HISTORY))
        code_p, prom = runs.judge(run_id, JUDGED_CONFIG, extra, label="prometheus")
        extra_f = (*extra, "--baseline-file", str(history_dir))
        code_f, files = runs.judge(run_id, JUDGED_CONFIG, extra_f, label="files")
        assert prom["baseline"]["history"] == history[::-1]
        assert files["baseline"]["files"] == [str(history_dir / f"{r}.json") for r in history[::-1]]
        assert code_p == code_f
        _compare(prom, files)
        series = latency_series(files)
        assert series[BUSIEST]["regression"]["baseline_runs"] == HISTORY
        print(f"\njudged {run_id}: {files['verdict']}; {BUSIEST}: {series[BUSIEST]['reason']}")

        # Pin the oldest, exclude the newest: in Prometheus (pushed markers) and in the
        # directory's index, the same two runs form a history of two.
        for action, marked in (("pin", history[0]), ("exclude", history[-1])):
            assert run(["runs", action, marked, "--pushgateway", stack.pushgateway_url]) == 0
            assert run(["runs", action, marked, "--dir", str(history_dir)]) == 0
            marker = "pinned" if action == "pin" else "excluded"
            seen = f'promgate_run_marker{{run_id="{marked}", marker="{marker}"}} == 1'
            wait_until(lambda q=seen: stack.query(q), 30, f"the {marker} marker of {marked}")
        two = ("--baseline-history", "2")
        _, prom = runs.judge(run_id, JUDGED_CONFIG, two, label="prometheus-marked")
        two_f = (*two, "--baseline-file", str(history_dir))
        _, files = runs.judge(run_id, JUDGED_CONFIG, two_f, label="files-marked")
        assert prom["baseline"]["history"] == [history[0], history[-2]]
        _compare(prom, files)
        capsys.readouterr()
        assert run(["runs", "--prometheus", stack.prometheus_url, "--job", runs.job,
                    "--format", "json"]) == 0  # fmt: skip
        listed = {r["run_id"]: r["marker"] for r in json.loads(capsys.readouterr().out)}
        assert listed[history[0]] == "pinned" and listed[history[-1]] == "excluded"
        assert listed[history[1]] is None

        # Twice the users: a run of 16 users as the baseline of a run of 8.
        big, _factor = runs.load(users=16)
        code, _doc = runs.judge(big, HISTORY_CONFIG)
        assert code == 0
        big_file = str(tmp_path / f"{big}.json")
        reason = "users 16 (judged run 8)"
        judged = history[-1]
        strict = JUDGED_CONFIG.replace("checks:", "baseline: {comparable: strict}\nchecks:", 1)
        out = ("--baseline-file", big_file, "--junit", str(tmp_path / "strict.xml"))
        code, refused = runs.judge(judged, strict, out, label="strict")
        assert refused["baseline"]["missing"] and reason in refused["baseline"]["missing"]
        assert any(reason in n and "refused" in n for n in refused["notes"]), refused["notes"]
        for check in refused["checks"]:
            if check["name"] != "errors":  # the relative ones compared with nothing
                assert check["baseline"] is None and "no comparable baseline" in check["reason"]
        assert refused["verdict"] != "pass" or all(
            c["verdict"] != "pass" for c in refused["checks"] if c["name"] != "errors"
        )
        junit = ET.parse(tmp_path / "strict.xml").getroot().find("testsuite")
        assert junit is not None and reason in (junit.findtext("system-out") or "")

        html = tmp_path / "warn.html"
        out = ("--baseline-file", big_file, "--markdown", str(tmp_path / "warn.md"))
        code, warned = runs.judge(judged, JUDGED_CONFIG, (*out, "--html", str(html)), label="warn")
        assert warned["baseline"]["differences"] and reason in warned["baseline"]["differences"][0]
        assert warned["baseline"]["run"]["run_id"] == big
        assert any(c["baseline"] is not None for c in warned["checks"] if c["name"] == "p95")
        assert reason in (tmp_path / "warn.md").read_text(encoding="utf-8")
        page = html.read_text(encoding="utf-8")
        assert reason in page and "(&gt; +50% and &gt; +20ms)" in page  # the combined limit
        text = json.dumps(warned["notes"])
        assert "comparable: warn" in text and reason in text
    finally:
        api.stop()

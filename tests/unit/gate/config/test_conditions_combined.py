"""Conditions joined by ``and``: a relative threshold with an absolute floor
(``"> +20% and > +15ms"``), parsed, linted, judged and shown in every format."""

from __future__ import annotations

import json
import math
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from gate_cli_support import check
from gate_fakeprom import FakePrometheus, vector
from promgate import ConfigError, parse_condition
from promgate.cli import run
from promgate.config.units import UNITS
from promgate.core.judging.format import limit_text
from promgate.core.model.result import Verdict
from promgate.core.regression.latency_regression import judge_regression
from regression_support import BUSY, by_name, history, sample_run, spec

MS, S = UNITS["ms"], UNITS["seconds"]
FLOOR = "> +20% and > +15ms"
Writer = Callable[[str], Path]


def test_parse_and_judge_the_strictest_part() -> None:
    cond = parse_condition(FLOOR, MS)
    assert [p.text for p in cond.parts] == ["> +20%", "> +15ms"]
    assert cond.relative and cond.needs_baseline and cond.op == ">"
    # A 2 ms endpoint: 20 % is 2.4 ms, the floor 17 ms decides; at 50 ms the 20 % (60 ms) does.
    assert cond.threshold(2.0) == pytest.approx(17.0)
    assert cond.threshold(100.0) == pytest.approx(120.0)
    assert cond.triggered(2.6, 2.0) is False  # +30 % of 2 ms is no regression
    assert cond.triggered(118.0, 100.0) is False  # past the floor, not past +20 %
    assert cond.triggered(121.0, 100.0) is True
    assert cond.triggered(121.0, None) is None  # no baseline: undecided
    # One part that surely does not hold decides, with or without a baseline.
    mixed = parse_condition("> +20% and > 50ms", MS)
    assert mixed.triggered(40.0, None) is False and mixed.triggered(60.0, None) is None
    assert mixed.threshold(None) is None and mixed.threshold(100.0) == pytest.approx(120.0)
    down = parse_condition("< -10% and < 50", UNITS["rps"])
    assert down.threshold(100.0) == pytest.approx(50.0) and down.triggered(45.0, 100.0)
    assert parse_condition("> +20%  and  > +0.015s", S).threshold(0.1) == pytest.approx(0.12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("> 2s and < 5s", "must all be > / >= or all < / <="),
        ("== 1 and > 2", "must all be > / >= or all < / <="),
        ("> +20% and", "bad condition"),
        ("> +20% and > +fast", "bad condition"),
    ],
)
def test_bad_combinations_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_condition(text, MS)


def test_lint(write_config: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_config(f'checks:\n  - {{name: p95, preset: p95, unit: ms, critical: "{FLOOR}"}}\n')
    assert run(["lint", str(good)]) == 0
    bad = write_config('checks:\n  - {name: p95, preset: p95, critical: "> +20% and < 1s"}\n')
    capsys.readouterr()
    assert run(["lint", str(bad)]) == 2
    err = capsys.readouterr()
    assert "must all be > / >= or all < / <=" in err.out + err.err


def test_every_format_shows_the_combined_limit(
    fake_prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 2 ms and a 50 ms endpoint both 40 % slower: only the 50 ms one regressed."""
    fake_prom.runs = {"run-1": 1_700_000_060.0, "run-0": 1_700_000_060.0}
    base = {"/tiny": 0.002, "/big": 0.050}

    def p95(query: str) -> tuple[int, dict[str, object]]:
        factor = 1.4 if 'run_id="run-1"' in query else 1.0
        return vector(*(({"method": "GET", "name": n}, v * factor) for n, v in base.items()))

    fake_prom.on('percentile="0.95"', p95)
    cfg = write_config(
        f'checks:\n  - {{name: p95, preset: endpoint_p95, unit: ms, critical: "{FLOOR}"}}\n'
    )
    out = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "xml", "md")}
    code = check(fake_prom, cfg, "--baseline-run", "run-0", "--format", "github",
                 "--json", str(out["json"]), "--junit", str(out["xml"]),
                 "--markdown", str(out["md"]))  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 1
    doc = json.loads(out["json"].read_text())
    (c,) = doc["checks"]
    assert c["critical"] == [FLOOR]
    series = {s["labels"]["name"]: s for s in c["series"]}
    assert series["/tiny"]["verdict"] == "pass" and series["/big"]["verdict"] == "fail"
    assert series["/tiny"]["thresholds"]["critical"] == [pytest.approx(17.0)]
    assert series["/big"]["thresholds"]["critical"] == [pytest.approx(65.0)]
    assert "critical: 70.0ms > +20% and > +15ms (baseline 50.0ms, limit 65.0ms)" in c["reason"]
    shown = f"> 65.0ms ({FLOOR})"
    assert shown in stdout  # the table
    assert "::error" in stdout and "> +20% and > +15ms" in stdout  # GitHub annotation
    assert shown in out["md"].read_text()
    failures = [f.get("message", "") for f in ET.parse(out["xml"]).getroot().iter("failure")]
    assert any(FLOOR in m and "limit 65.0ms" in m for m in failures), failures
    # The HTML report's threshold text comes from the same function.
    assert limit_text(FLOOR, "ms", 50.0) == shown


def test_latency_regression_needs_the_shift_past_the_floor() -> None:
    """``latency_regression`` with a floor: a 30 % slower 30 ms median is past +10 % but not
    past +100 ms, so it does not fail; the condition asks about a shift of 100 ms / 30 ms."""
    rng = random.Random(5)
    n = {BUSY: 4000}
    text = "baseline: {history: 4}\nchecks:\n  - name: latency\n    preset: latency_regression\n"
    plain = spec(text + '    critical: "> +10%"\n')
    floored = spec(text + '    critical: "> +10% and > +100ms"\n')
    run_ = sample_run("r", rng, n, {"/busy": 1.3})
    past = history(rng, n)
    assert (
        by_name(judge_regression(plain, "q", run_, past, history=True, confidence=0.99))[
            "/busy"
        ].verdict
        is Verdict.FAIL
    )
    busy = by_name(judge_regression(floored, "q", run_, past, history=True, confidence=0.99))[
        "/busy"
    ]
    assert busy.verdict is not Verdict.FAIL, busy.reason
    assert busy.thresholds["critical"][0] is not None
    assert busy.thresholds["critical"][0] > 0.1 and not math.isnan(busy.thresholds["critical"][0])


def test_a_relative_part_is_enough_for_latency_regression() -> None:
    text = "checks:\n  - name: latency\n    preset: latency_regression\n"
    assert spec(text + '    critical: "> +10% and > 5ms"\n').critical[0].parts
    with pytest.raises(ConfigError, match="is absolute"):
        spec(text + '    critical: "> 5ms and > 6ms"\n')

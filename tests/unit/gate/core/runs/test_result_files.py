"""Result files as baselines, through ``promgate.cli`` ``run(argv)`` against a fake Prometheus:
bad files, directories, history, eligibility, pin/exclude, comparable load profiles, and the
first run on a fresh CI runner (no baseline yet)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gate_cli_support import check, one_line_error
from gate_fakeprom import START, FakePrometheus, value, vector
from promgate.cli import run
from promgate.core.runs.result_files import INDEX_NAME

Writer = Callable[[str], Path]
#: one absolute check (judged without a baseline) and one relative check
CONFIG = """
checks:
  - {name: errors, preset: error_rate, critical: "> 5%"}
  - {name: median, preset: p50, critical: "> +20%"}
"""
INFO = {"testplan": "shop", "environment": "ci", "host": "http://sut", "users": "10",
        "spawn_rate": "5", "locustfile_digest": "ab12cd34ef56ab12", "git_sha": "f00"}  # fmt: skip


@pytest.fixture()
def prom(fake_prom: FakePrometheus) -> FakePrometheus:
    """The judged run: 100 ms median, no errors, the load profile ``INFO``."""
    fake_prom.on('percentile="0.5"', value(0.100)).on("locust_request_failures_total", value(0))
    fake_prom.on("locust_run_info", vector((INFO, 1)))
    return fake_prom


@pytest.fixture()
def result(prom: FakePrometheus, write_config: Writer, tmp_path: Path) -> dict[str, Any]:
    """A passing result of the judged run as ``--json`` writes it (the template of the others)."""
    path = tmp_path / "judged.json"
    cfg = write_config(CONFIG.replace("'> +20%'", "'> 1s'").replace('"> +20%"', '"> 1s"'))
    assert check(prom, cfg, "--json", str(path)) == 0
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def earlier(
    template: dict[str, Any],
    run_id: str,
    ago: float,
    *,
    median: float = 0.100,
    verdict_fail: bool = False,
    **profile: Any,
) -> dict[str, Any]:
    """An earlier run's result: ``ago`` seconds before the judged run, its median, its profile."""
    doc = json.loads(json.dumps(template))
    doc["run"].update(run_id=run_id, start=START - ago, end=START - ago + 60)
    doc["profile"].update(run_id=run_id, **profile)
    for c in doc["checks"]:
        if c["name"] == "median":
            c["value"] = median
            c["series"][0]["value"] = median
        if verdict_fail and c["name"] == "errors":
            c["verdict"] = "fail"
    return doc


def write(directory: Path, doc: dict[str, Any]) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / f"{doc['run']['run_id']}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def judge(
    prom: FakePrometheus, cfg: Path, tmp_path: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "out.json"
    code = check(prom, cfg, "--json", str(out), *extra)
    return code, json.loads(out.read_text())


# -- bad files: one line naming the file, exit 2, never a pass -------------------------------


def _bad_files(good: str) -> dict[str, bytes]:
    doc = json.loads(good)
    doc["schema"] = "promgate.result/3"
    return {
        "corrupt": b'{"schema": "promgate.result/2", "run": {,,}',
        "truncated": good.encode()[: len(good) // 2],
        "empty": b"",
        "foreign": json.dumps({"testsuites": {"tests": 3}}).encode(),
        "a list": b"[1, 2, 3]",
        "future": json.dumps(doc).encode(),
        "not UTF-8": b"\xff\xfe{\x00",
    }


@pytest.mark.parametrize("in_dir", [False, True], ids=["file", "directory"])
def test_bad_result_files_exit_2_naming_the_file(
    prom: FakePrometheus,
    result: dict[str, Any],
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    in_dir: bool,
) -> None:
    cfg = write_config(CONFIG)
    expected = {
        "corrupt": "corrupt JSON at line 1",
        "truncated": "truncated JSON",
        "empty": "empty",
        "foreign": "not a promgate result",
        "a list": "not a promgate result",
        "future": "written by a newer promgate",
        "not UTF-8": "not UTF-8",
    }
    for i, (kind, raw) in enumerate(_bad_files(json.dumps(result, indent=2)).items()):
        where = tmp_path / f"d{i}"
        where.mkdir()
        write(where, earlier(result, "good", 600))  # a good file beside it changes nothing
        bad = where / "bad.json"
        bad.write_bytes(raw)
        capsys.readouterr()
        prom.hits = 0
        code = check(prom, cfg, "--baseline-file", str(where if in_dir else bad))
        err = capsys.readouterr().err
        line = one_line_error(err)
        assert code == 2, (kind, err)
        assert str(bad) in line and expected[kind] in line, (kind, line)
        assert prom.hits == 0  # refused before a single query: nothing judged, nothing passed


def test_an_older_result_without_schema_still_reads(
    prom: FakePrometheus, result: dict[str, Any], write_config: Writer, tmp_path: Path
) -> None:
    doc = earlier(result, "old", 600, median=0.050)
    for key in ("schema", "profile", "endpoints"):
        del doc[key]
    code, out = judge(prom, write_config(CONFIG), tmp_path, "--baseline-file",
                      str(write(tmp_path / "v1", doc)))  # fmt: skip
    assert code == 1 and out["checks"][1]["baseline"] == 0.050  # 100 ms vs 50 ms: +100 %
    assert out["baseline"]["source"] == "file" and out["baseline"]["run"]["run_id"] == "old"


# -- directories and history -----------------------------------------------------------------


def test_first_run_on_a_fresh_runner_is_a_note_not_a_failure(
    prom: FakePrometheus,
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = write_config(CONFIG)
    fresh = tmp_path / "cache" / "baselines"  # does not exist yet
    junit, md = tmp_path / "j.xml", tmp_path / "c.md"
    code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(fresh), "--junit", str(junit),
                      "--markdown", str(md))  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and doc["verdict"] == "pass"
    median = doc["checks"][1]
    assert median["verdict"] == "skip" and median["reason"].startswith("no baseline yet")
    assert doc["baseline"]["pending"] and f"{fresh} does not exist" in doc["baseline"]["missing"]
    assert "no baseline yet" in out  # the table's notes
    assert "no baseline yet" in (ET.parse(junit).getroot().findtext("testsuite/system-out") or "")
    assert "no baseline yet" in md.read_text()
    # Only relative checks: still a pass (else no baseline could ever form), said everywhere.
    only = write_config("checks:\n  - {name: median, preset: p50, critical: '> +20%'}\n")
    code, doc = judge(prom, only, tmp_path, "--baseline-file", str(fresh))
    assert code == 0 and doc["checks"][0]["verdict"] == "skip"
    # An empty directory is no baseline yet too; a missing *.json file named is an error.
    fresh.mkdir(parents=True)
    assert judge(prom, cfg, tmp_path, "--baseline-file", str(fresh))[0] == 0
    assert check(prom, cfg, "--baseline-file", str(fresh / "result.json")) == 2


def test_directory_takes_the_newest_eligible_result(
    prom: FakePrometheus, result: dict[str, Any], write_config: Writer, tmp_path: Path
) -> None:
    d = tmp_path / "results"
    write(d, earlier(result, "old-pass", 900, median=0.050))
    write(d, earlier(result, "pass", 600, median=0.095))
    write(d, earlier(result, "failed", 300, median=0.099, verdict_fail=True))
    write(d, earlier(result, "other-plan", 200, median=0.099, testplan="search"))
    write(d, earlier(result, "later", -100, median=0.099))
    cfg = write_config(CONFIG)
    code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(d))
    assert code == 0 and doc["baseline"]["run"]["run_id"] == "pass"
    assert doc["checks"][1]["baseline"] == 0.095
    passed_over = " ".join(doc["notes"])
    assert "failed: verdict fail" in passed_over and "other-plan: testplan search" in passed_over
    # History from files: the N newest eligible, the baseline their median (as from Prometheus).
    code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(d), "--baseline-history", "3")
    assert doc["baseline"]["source"] == "history" and doc["baseline"]["wanted"] == 3
    assert doc["baseline"]["history"] == ["pass", "old-pass"]
    assert doc["checks"][1]["baseline"] == pytest.approx((0.095 + 0.050) / 2)
    assert any("fewer than 3" in n for n in doc["notes"])
    # Several paths: a directory and a file, merged.
    extra = write(tmp_path / "more", earlier(result, "extra", 400, median=0.090))
    code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(d), "--baseline-file",
                      str(extra))  # fmt: skip
    assert doc["baseline"]["run"]["run_id"] == "extra"


def test_pinned_preferred_excluded_never(
    prom: FakePrometheus,
    result: dict[str, Any],
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = tmp_path / "results"
    for run_id, ago, median in (("a", 900, 0.05), ("b", 600, 0.06), ("c", 300, 0.07)):
        doc = earlier(result, run_id, ago, median=median)
        doc.setdefault("summary", {})["requests"] = 1234.0  # how a result file holds a count
        write(d, doc)
    cfg = write_config(CONFIG)
    assert run(["runs", "pin", "a", "--dir", str(d)]) == 0
    assert run(["runs", "exclude", "c", "--dir", str(d)]) == 0
    index = json.loads((d / INDEX_NAME).read_text())
    assert index == {"schema": "promgate.index/1", "pinned": ["a"], "excluded": ["c"]}
    code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(d))
    assert code == 1  # 100 ms against the pinned run's 50 ms
    assert doc["baseline"]["run"]["run_id"] == "a"  # pinned beats newer
    _, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(d), "--baseline-history", "5")
    assert doc["baseline"]["history"] == ["a", "b"]  # c excluded; pinned first
    capsys.readouterr()
    assert run(["runs", "--dir", str(d), "--format", "json"]) == 0
    rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["a"]["marker"] == "pinned" and rows["c"]["marker"] == "excluded"
    assert rows["b"]["marker"] is None and rows["b"]["verdict"] == "pass"
    assert [r["requests"] for r in rows.values()] == [1234] * 3  # a count: 1234, not 1234.0
    assert all(type(r["requests"]) is int for r in rows.values())
    assert run(["runs", "pin", "c", "--dir", str(d)]) == 0  # pinning moves it out of excluded
    assert run(["runs", "pin", "a", "--dir", str(d), "--clear"]) == 0
    index = json.loads((d / INDEX_NAME).read_text())
    assert index["pinned"] == ["c"] and index["excluded"] == []
    capsys.readouterr()
    assert run(["runs", "pin", "b", "--dir", str(d)]) == 0
    assert "note" not in capsys.readouterr().out
    assert run(["runs", "pin", "typo", "--dir", str(d)]) == 0  # a result may arrive later
    assert f"no result in {d} has run id 'typo' yet" in capsys.readouterr().out
    assert run(["runs", "pin", "--dir", str(d)]) == 2  # which run?
    assert run(["runs", "exclude", "x"]) == 2  # neither --dir nor a Pushgateway
    capsys.readouterr()
    assert run(["runs", "pin", "a", "--dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("no such directory (check runs --dir or check --baseline-file)"), err


# -- comparable load profiles ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["strict", "warn", "off"])
def test_twice_the_users(
    prom: FakePrometheus,
    result: dict[str, Any],
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: str,
) -> None:
    assert result["profile"]["users"] == 10 and result["profile"]["labels"]["git_sha"] == "f00"
    base = write(tmp_path / "b", earlier(result, "big", 600, median=0.050, users=20))
    cfg = write_config(f"baseline: {{comparable: {mode}}}\n{CONFIG}")
    junit = tmp_path / "j.xml"
    code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(base), "--junit", str(junit))
    out = capsys.readouterr().out
    reason = "big differs in load profile: users 20 (judged run 10)"
    median = doc["checks"][1]
    if mode == "strict":  # refused: never compared; the check's baseline_missing (warn) decides
        assert median["baseline"] is None and median["verdict"] == "warning"
        assert median["reason"].startswith(f"no comparable baseline ({reason}")
        assert reason in doc["baseline"]["missing"] and not doc["baseline"]["pending"]
        assert code == 0 and doc["verdict"] == "warning"
    else:  # compared: 100 ms vs 50 ms fails
        assert median["baseline"] == 0.050 and median["verdict"] == "fail" and code == 1
        assert doc["baseline"]["differences"] == ([reason] if mode == "warn" else [])
    suite_out = ET.parse(junit).getroot().findtext("testsuite/system-out")
    shown = [out, json.dumps(doc["notes"]), suite_out]
    for text in shown:
        assert (reason in (text or "")) is (mode != "off"), (mode, text)
    # Strict with a comparable run in the directory: that one is used, the other skipped.
    if mode == "strict":
        write(tmp_path / "b", earlier(result, "same", 900, median=0.095))
        code, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(tmp_path / "b"))
        assert doc["baseline"]["run"]["run_id"] == "same" and code == 0
        assert any("refused" in n and reason in n for n in doc["notes"])


def test_duration_beyond_ten_percent(
    prom: FakePrometheus, result: dict[str, Any], write_config: Writer, tmp_path: Path
) -> None:
    duration = result["profile"]["duration"]
    near = earlier(result, "near", 600, duration=duration * 1.09, spawn_rate=5)
    far = earlier(result, "far", 900, duration=duration * 1.2, host="http://other")
    cfg = write_config(f"baseline: {{comparable: strict}}\n{CONFIG}")
    _, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(write(tmp_path / "n", near)))
    assert doc["baseline"]["run"]["run_id"] == "near" and not doc["baseline"]["missing"]
    _, doc = judge(prom, cfg, tmp_path, "--baseline-file", str(write(tmp_path / "f", far)))
    missing = doc["baseline"]["missing"]
    assert "duration" in missing and "beyond ±10%" in missing and "host http://other" in missing


def test_short_runs_differ_in_duration_by_more_than_seconds_of_jitter() -> None:
    """The same ``--run-time 8s`` measured 6 s and 7 s apart on a busy machine (17 %): within
    the 5 s floor; twice the duration is not."""
    from promgate.core.model.profile import RunProfile, profile_differences

    def run(duration: float) -> RunProfile:
        return RunProfile(run_id="r", job="locust", duration=duration)

    assert profile_differences(run(6.0), run(7.0)) == []
    assert profile_differences(run(6.0), run(11.5)) == [
        "duration 12s (judged run 6s, beyond ±10% and ±5s)"
    ]
    assert profile_differences(run(600.0), run(640.0)) == []  # 6.7 %
    assert profile_differences(run(600.0), run(670.0))  # 11.7 %, 70 s


def test_comparable_config_values(write_config: Writer) -> None:
    from promgate.config.baseline import Comparable
    from promgate.config.loader import load_config
    from promgate.errors import ConfigError

    for text, want in (("strict", Comparable.STRICT), ("off", Comparable.OFF)):
        cfg = load_config(write_config(f"baseline: {{comparable: {text}}}\n{CONFIG}"))
        assert cfg.comparable is want  # a bare YAML off is the word, not false
    with pytest.raises(ConfigError, match="strict, warn or off"):
        load_config(write_config(f"baseline: {{comparable: maybe}}\n{CONFIG}"))


def test_a_named_run_that_failed_is_no_baseline(
    prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    prom.runs = {"run-1": START + 60, "run-0": START + 60}
    cfg = write_config(CONFIG)
    code, doc = judge(prom, cfg, tmp_path, "--baseline-run", "run-0")
    assert doc["baseline"]["run"]["run_id"] == "run-0" and doc["checks"][1]["baseline"] == 0.1
    prom.on("promgate_verdict", value(2))  # its pushed verdict: fail
    code, doc = judge(prom, cfg, tmp_path, "--baseline-run", "run-0")
    assert "verdict fail" in doc["baseline"]["missing"] and doc["checks"][1]["baseline"] is None
    assert doc["checks"][1]["verdict"] == "warning" and code == 0  # baseline_missing: warn


@pytest.mark.parametrize(
    "index", ['{"pinned": ["a"]}', '{"schema": "promgate.index/1", "pinned": "a"}', "{,"]
)
def test_a_bad_index_is_exit_2_naming_it(
    prom: FakePrometheus,
    result: dict[str, Any],
    write_config: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    index: str,
) -> None:
    d = tmp_path / "results"
    write(d, earlier(result, "a", 600))
    (d / INDEX_NAME).write_text(index, encoding="utf-8")
    capsys.readouterr()
    assert check(prom, write_config(CONFIG), "--baseline-file", str(d)) == 2
    assert str(d / INDEX_NAME) in one_line_error(capsys.readouterr().err)
    assert run(["runs", "--dir", str(d)]) == 2


def test_no_passing_run_in_prometheus_is_no_baseline_yet_too(
    prom: FakePrometheus, write_config: Writer, tmp_path: Path
) -> None:
    """History from Prometheus and from files say the same on a first run."""
    prom.on("sort_desc(", vector()).on("promgate_run_marker", vector())
    code, doc = judge(prom, write_config(f"baseline: {{history: 3}}\n{CONFIG}"), tmp_path)
    assert code == 0 and doc["baseline"]["pending"] and doc["baseline"]["history"] == []
    assert doc["checks"][1]["verdict"] == "skip"
    assert doc["checks"][1]["reason"].startswith("no baseline yet: no earlier passing run found")
    assert "once promgate check --push-results pushed its verdict" in doc["checks"][1]["reason"]


def test_a_check_the_baseline_result_lacks_says_so(
    prom: FakePrometheus, result: dict[str, Any], write_config: Writer, tmp_path: Path
) -> None:
    """Values are matched by check name: a renamed check's relative conditions say that the
    baseline result holds no check of that name, instead of a bare 'no baseline value'."""
    d = tmp_path / "results"
    doc = earlier(result, "pass", 600, median=0.095)
    for c in doc["checks"]:
        c["name"] = c["name"].replace("median", "median_regression")
    write(d, doc)
    code, out = judge(prom, write_config(CONFIG), tmp_path, "--baseline-file", str(d))
    median = next(c for c in out["checks"] if c["name"] == "median")
    assert median["baseline"] is None and median["verdict"] == "warning"
    assert "the baseline result (pass) has no check named 'median'" in median["reason"]
    assert code == 0


def test_a_result_files_baseline_source_is_one_of_the_three() -> None:
    """``Baseline.source`` is ``run``, ``file`` or ``history``; an older file without one (or a
    hand-edited odd one) reads by its ``run``, as before."""
    from promgate.core.model.baseline_ref import Baseline

    assert Baseline.from_dict({"source": "history", "history": ["a"]}).source == "history"
    assert Baseline.from_dict({"file": "x.json"}).source == "file"
    assert Baseline.from_dict({"source": "bogus", "file": "x.json"}).source == "file"


def test_a_result_files_closed_fields_read_as_one_of_their_values() -> None:
    """A check's ``unit``, ``reduce``, ``no_data`` and ``baseline_missing`` and an abort's
    ``reason`` and ``unit`` are each one of a closed set: a hand-edited odd one reads the field's
    default (as an odd number reads as absent), a known one reads as written."""
    from promgate import GateResult

    def read(check: dict[str, Any], aborted: dict[str, Any]) -> GateResult:
        run = {"run_id": "r", "job": "locust", "start": 1.0, "end": 2.0, "eval_time": 3.0}
        return GateResult.from_dict(
            {"run": {**run, "window": "5s"}, "checks": [check], "aborted": aborted}
        )

    odd = read(
        {"name": "c", "verdict": "pass", "unit": "furlongs", "reduce": "median", "no_data": 1,
         "baseline_missing": "x"},
        {"reason": "gremlins", "unit": "parsecs", "at": 1.0},
    )  # fmt: skip
    c = odd.checks[0]
    assert (c.unit, c.reduce, c.no_data, c.baseline_missing) == ("count", "max", "fail", "fail")
    assert odd.aborted is not None and (odd.aborted.reason, odd.aborted.unit) == ("breach", "count")
    known = read(
        {"name": "c", "verdict": "pass", "unit": "ms", "reduce": "each", "no_data": "skip",
         "baseline_missing": "warn"},
        {"reason": "interrupted", "unit": "seconds", "at": 1.0},
    )  # fmt: skip
    c = known.checks[0]
    assert (c.unit, c.reduce, c.no_data, c.baseline_missing) == ("ms", "each", "skip", "warn")
    assert known.to_dict()["checks"][0]["unit"] == "ms"
    assert known.aborted is not None
    assert (known.aborted.reason, known.aborted.unit) == ("interrupted", "seconds")

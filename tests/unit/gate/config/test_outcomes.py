"""``mode: report`` and ``warning_exit_code`` without Prometheus: the config and lint, the verdict
and exit code of a result, its JSON round trip, and the report-only checks apart in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from promgate import CheckResult, GateResult, RunWindow, Verdict
from promgate.cli import run
from promgate.cli.check import build_gate
from promgate.cli.commands import build_parser
from promgate.config.loader import parse_config
from promgate.config.outcomes import CheckMode
from promgate.core.judging.format import REPORT_ONLY
from promgate.errors import ConfigError
from promgate.report.github import github_annotations
from promgate.report.html.data import report_data
from promgate.report.html.page import render_html
from promgate.report.junit import render_junit
from promgate.report.markdown import render_markdown
from promgate.report.text import render_table

WINDOW = RunWindow("r-1", "locust", 1000.0, 1060.0, 1061.0, 1.0, 1062.0, 74)


def _check(name: str, verdict: Verdict, value: float | None = 1.0, **kw: object) -> CheckResult:
    fields: dict[str, object] = {
        "description": "",
        "preset": None,
        "query": "q",
        "unit": "count",
        "reduce": "max",
        "no_data": "fail",
        "baseline_missing": "warn",
        "warning": ["> 5"],
        "critical": ["> 10"],
        "baseline": None,
        "reason": f"reason of {name}",
    }
    fields.update(kw)
    return CheckResult(name=name, value=value, verdict=verdict, **fields)  # type: ignore[arg-type]


def _result(
    gating: list[CheckResult], trial: list[CheckResult], *, strict: bool = False, code: int = 0
) -> GateResult:
    for c in trial:
        c.mode = CheckMode.REPORT
    return GateResult(
        "0.1.0",
        2000.0,
        "http://prom",
        WINDOW,
        gating,
        {},
        strict=strict,
        report_checks=trial,
        warning_exit_code=code,
    )


def test_mode_and_warning_exit_code_in_the_config() -> None:
    text = """
warning_exit_code: 7
checks:
  - {name: a, preset: p95, critical: "> 1s"}
  - {name: b, preset: p95, critical: "> 1s", mode: report}
  - {name: c, preset: p95, critical: "> 1s", mode: gate}
"""
    config = parse_config(text)
    assert config.warning_exit_code == 7
    assert [c.mode for c in config.checks] == [CheckMode.GATE, CheckMode.REPORT, CheckMode.GATE]
    assert parse_config(text.replace("warning_exit_code: 7\n", "")).warning_exit_code == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("warning_exit_code: 3", "3 is not a free exit code (use 0, or 5-125"),
        ("warning_exit_code: 130", "130 is not a free exit code"),
        ("warning_exit_code: 256", "256 is not a free exit code"),
        ("warning_exit_code: -1", "-1 is not a free exit code"),
        ("warning_exit_code: yes", "expected a whole number, got True"),
        ("warning_exit_code: '7'", "expected a whole number, got '7'"),
    ],
)
def test_a_warning_exit_code_promgate_or_the_shell_uses_is_refused(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f"{line}\nchecks:\n  - {{name: a, preset: p95, critical: '> 1s'}}\n", "g.yaml")
    assert err.value.line == 1 and err.value.key == "warning_exit_code"
    assert message in err.value.message


def test_lint_knows_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "warning_exit_code: 2\n"
        "checks:\n"
        "  - {name: a, preset: p95, critical: '> 1s', mode: reprot}\n"
        "  - {name: b, preset: p95, critical: '> 1s', mode: report, abort: {}}\n",
        encoding="utf-8",
    )
    assert run(["lint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: warning_exit_code: 2 is not a free exit code" in err
    assert f"{bad}:3: checks.a.mode: unknown mode 'reprot' (expected one of gate, report)" in err
    assert f"{bad}:4: checks.b.abort: a report-only check never stops a run" in err


def test_report_only_checks_never_count_not_even_with_strict() -> None:
    failing = _check("trial", Verdict.FAIL, 50.0)
    result = _result([_check("a", Verdict.PASS)], [failing], strict=True)
    assert (result.verdict, result.exit_code) == (Verdict.PASS, 0)
    warned = _result([_check("a", Verdict.WARN)], [failing], code=9)
    assert (warned.verdict, warned.exit_code) == (Verdict.WARN, 9)
    # --strict: a warning is a failure, whatever the warning exit code.
    assert _result([_check("a", Verdict.WARN)], [], strict=True, code=9).exit_code == 1
    assert _result([_check("a", Verdict.FAIL)], [], code=9).exit_code == 1
    # Only report-only checks: nothing gates; a pass when they saw data, never on nothing.
    assert _result([], [failing]).verdict is Verdict.PASS
    assert _result([], [_check("t", Verdict.FAIL, None)]).verdict is Verdict.FAIL


def test_the_json_keeps_report_only_checks_apart_and_reads_back() -> None:
    result = _result([_check("a", Verdict.WARN)], [_check("trial", Verdict.FAIL, 50.0)], code=7)
    doc = json.loads(json.dumps(result.to_dict()))
    assert [c["name"] for c in doc["checks"]] == ["a"]
    assert [(c["name"], c["mode"]) for c in doc["report_checks"]] == [("trial", "report")]
    assert (doc["exit_code"], doc["warning_exit_code"]) == (7, 7)
    back = GateResult.from_dict(doc)
    assert back.report_checks[0].mode is CheckMode.REPORT and back.exit_code == 7
    # An older result has neither key.
    del doc["report_checks"], doc["warning_exit_code"]
    assert (
        GateResult.from_dict(doc).report_checks == [] and GateResult.from_dict(doc).exit_code == 0
    )


def test_report_only_checks_are_listed_apart_in_every_format() -> None:
    trial = [_check("trial p95", Verdict.FAIL, 50.0), _check("trial rate", Verdict.PASS, 1.0)]
    result = _result([_check("gating", Verdict.PASS)], trial)
    text = render_table(result)
    head, apart = text.split(f"{REPORT_ONLY}:\n", 1)
    assert "gating" in head and "trial" not in head and "trial p95" in apart
    assert "trial p95 (report-only): reason of trial p95" in apart
    suites = ET.fromstring(render_junit(result)).findall("testsuite")
    assert [s.get("name") for s in suites] == ["promgate r-1", f"promgate r-1: {REPORT_ONLY}"]
    assert [s.get("tests") for s in suites] == ["1", "2"]
    assert [s.get("failures") for s in suites] == ["0", "0"]
    assert not list(suites[1].iter("failure")) and not list(suites[1].iter("skipped"))
    assert "report-only, not counted: fail" in (suites[1].findtext("testcase/system-out") or "")
    markdown = render_markdown(result)
    assert markdown.index("| gating |") < markdown.index(f"**{REPORT_ONLY}:**")
    assert markdown.index(f"**{REPORT_ONLY}:**") < markdown.index("| trial p95 |")
    annotations = github_annotations(result)
    assert annotations == [
        "::notice title=promgate trial p95::trial p95: fail (report-only, not counted): "
        "reason of trial p95"
    ]
    page = render_html(report_data(result))  # the HTML is a pure function of the result
    assert page.index(">gating<") < page.index(f"<h2>{REPORT_ONLY}</h2>") < page.index("trial p95")


def test_warning_exit_code_option_of_check_and_run(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for command in (["check"], ["run"]):
        args = parser.parse_args([*command, "--config", "g.yaml", "--warning-exit-code", "78"])
        assert args.warning_exit_code == 78
    assert run(["check", "--config", "g.yaml", "--warning-exit-code", "4"]) == 2
    assert "4 is not a free exit code" in capsys.readouterr().err


def test_the_environment_sets_the_warning_exit_code_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "g.yaml"
    config.write_text("checks:\n  - {name: a, preset: p95, critical: '> 1s'}\n", encoding="utf-8")
    monkeypatch.setenv("PROMGATE_WARNING_EXIT_CODE", "130")
    # Refused before any request (this Prometheus does not exist) and before Locust would start.
    argv = ["--config", str(config), "--prometheus", "http://127.0.0.1:9", "--run-id", "r"]
    assert run(["check", *argv]) == 2
    assert run(["run", *argv[:-2], "--", "locust", "-f", "x.py"]) == 2
    err = capsys.readouterr().err
    assert err.count("bad PROMGATE_WARNING_EXIT_CODE: 130 is not a free exit code") == 2
    args = build_parser().parse_args(["check", "--config", str(config), "--prometheus", "h:9"])
    monkeypatch.setenv("PROMGATE_WARNING_EXIT_CODE", "42")

    build_gate(args)
    assert args.warning_exit_code == 42
    # The flag wins over the environment.
    flag = ["--warning-exit-code", "0"]
    args = build_parser().parse_args(
        ["check", "--config", str(config), "--prometheus", "h:9", *flag]
    )
    build_gate(args)
    assert args.warning_exit_code == 0


def test_exit_codes_are_one_enum_used_by_errors_results_and_help() -> None:
    """Each error class, a result's verdict and ``--help``'s table read the same ``ExitCode``; a
    configurable warning code can never take one of promgate's own codes."""
    from promgate import ExitCode, PrometheusError, RunNotFound, UsageError
    from promgate.config.outcomes import WARNING_EXIT_CODE_RANGE

    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]
    assert ConfigError("x").exit_code is UsageError("x").exit_code is ExitCode.USAGE
    assert PrometheusError("x").exit_code is ExitCode.PROMETHEUS
    assert RunNotFound("x").exit_code is ExitCode.FAIL
    assert not set(ExitCode) & set(WARNING_EXIT_CODE_RANGE)
    failing = _result([_check("a", Verdict.FAIL)], [])
    assert failing.exit_code is ExitCode.FAIL
    assert _result([_check("a", Verdict.PASS)], []).exit_code is ExitCode.PASS
    # the JSON holds a plain number, as result files written before the enum did
    assert type(failing.to_dict()["exit_code"]) is int
    assert '"exit_code": 1,' in json.dumps(failing.to_dict())
    help_text = build_parser().format_help()
    for code in ExitCode:
        assert f"\n  {int(code):<3}  " in help_text, code

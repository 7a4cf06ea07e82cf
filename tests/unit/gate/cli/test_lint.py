"""``promgate lint`` like yamllint/promtool: many files, every error as file:line, GitHub format,
"did you mean"; every example config in the docs lints; free-text check names; the first-contact
details of the command line (no abbreviations, ``--json -``, URLs without a scheme)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from gate_fakeprom import FakePrometheus, value
from promgate import ConfigError, Gate, PrometheusClient, UsageError, parse_config
from promgate.cli import run

ROOT = Path(__file__).resolve().parents[4]
Writer = Callable[..., Path]


def _yaml_blocks_with_checks() -> list[tuple[str, int, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in re.finditer(r"^```ya?ml\n(.*?)^```", text, flags=re.M | re.S):
            if re.search(r"^checks:", match.group(1), flags=re.M):
                line = text.count("\n", 0, match.start()) + 2
                found.append((doc.name, line, match.group(1)))
    return found


BLOCKS = _yaml_blocks_with_checks()


def test_the_docs_have_example_configs() -> None:
    assert {name for name, _, _ in BLOCKS} >= {"README.md", "gate.md"}


@pytest.mark.parametrize(("doc", "line", "block"), BLOCKS, ids=[f"{d}:{n}" for d, n, _ in BLOCKS])
def test_every_example_config_in_the_docs_lints(
    doc: str,
    line: int,
    block: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # CI lints without credentials: an unset secret is a note, never an error.
    for name in ("PROM_PASSWORD", "PROMGATE_PROMETHEUS_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "example.yaml"
    path.write_text(block, encoding="utf-8")
    assert run(["lint", str(path)]) == 0, f"{doc}:{line}: {capsys.readouterr().err}"


def test_every_error_of_every_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = tmp_path / "a.yaml"
    a.write_text(
        "checks:\n"
        "  - name: p95 latency\n"
        "    preset: p95\n"
        '    critical: "> 2s"\n'
        "    reduse: max\n"  # line 5: unknown key
        "  - name: broken\n"  # line 6: its query does not parse
        '    query: "sum(rate(x[5m]"\n'
        '    critical: "> 1"\n'
    )
    b = tmp_path / "b.yaml"
    b.write_text('checks:\n  - name: x\n    preset: nope\n    critical: "> 1"\n')
    assert run(["lint", str(a), str(b)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{a}:5: checks.p95 latency.reduse: unknown key 'reduse' (did you mean 'reduce'?)" in err
    assert any(e.startswith(f"{a}:6: checks.broken.query: bad PromQL") for e in err)
    assert any(e.startswith(f"{b}:3: checks.x.preset: unknown preset 'nope'") for e in err)
    assert len(err) == 3


def test_a_check_with_key_errors_still_gets_its_promql_linted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo (``critcal``) made the check invalid, and its unclosed parenthesis showed up only
    once the typo was fixed. Every message names the check the same way: ``checks.x``."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text('checks:\n  - name: x\n    query: "sum(rate(foo[5m])"\n    critcal: "> 1"\n')
    assert run(["lint", str(cfg)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{cfg}:4: checks.x.critcal: unknown key 'critcal' (did you mean 'critical'?)" in err
    assert f"{cfg}:2: checks.x: set warning or critical (or both)" in err
    assert any(e.startswith(f"{cfg}:2: checks.x.query: bad PromQL: ") for e in err), err
    assert len(err) == 3 and all(": checks.x" in e for e in err)


@pytest.mark.parametrize(("typo", "meant"), [("p59", "p95"), ("error_rat", "error_rate")])
def test_an_unknown_preset_gets_a_suggestion(typo: str, meant: str) -> None:
    with pytest.raises(ConfigError, match=rf"unknown preset '{typo}' \(did you mean '{meant}'\?\)"):
        parse_config(f"checks:\n  - {{name: a, preset: {typo}, critical: '> 1'}}\n")


def test_github_format_annotates_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "gate.yaml"
    bad.write_text("chekcs: []\n")
    assert run(["lint", "--format", "github", str(bad)]) == 2
    out = capsys.readouterr().out
    assert f"::error file={bad},line=1,title=promgate lint::" in out
    assert "did you mean 'checks'?" in out


def test_good_files_pass_and_secrets_are_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROM_PASSWORD", raising=False)
    cfg = tmp_path / "gate.yaml"
    cfg.write_text(
        "prometheus:\n  basic_auth: {username: ci, password: '${PROM_PASSWORD}'}\n"
        'checks:\n  - {name: p95, preset: p95, critical: "> 2s"}\n'
    )
    assert run(["lint", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "PROM_PASSWORD is not set" in err and "1 checks OK" in err
    with pytest.raises(ConfigError, match="PROM_PASSWORD is not set"):
        parse_config(cfg.read_text(), str(cfg), env={})  # check still needs it


@pytest.mark.parametrize(
    "name", ["p95 latency", 'the "checkout" p95', "api/v1 errors", "Ünïcode 延迟 | <b>"]
)
def test_check_names_are_free_text(name: str) -> None:
    text = json.dumps({"checks": [{"name": name, "preset": "p95", "critical": "> 2s"}]})
    assert parse_config(text).checks[0].name == name


@pytest.mark.parametrize(
    ("name", "message"), [("  ", "missing"), ("a\tb", "no control characters")]
)
def test_blank_or_control_character_names_are_refused(name: str, message: str) -> None:
    text = json.dumps({"checks": [{"name": name, "preset": "p95", "critical": "> 2s"}]})
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_options_are_never_abbreviated_and_typos_get_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["check", "--conf", "x.yaml", "--run-id", "r"]) == 2
    assert run(["lint", "x.yaml", "--fromat", "github"]) == 2
    err = capsys.readouterr().err
    assert "(did you mean --format?)" in err


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert run([*argv, "--help"]) == 0
    return capsys.readouterr().out


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("argv", "codes"),
    [
        ((), ("0", "N", "1", "2", "3", "4", "130")),
        (("check",), ("0", "N", "1", "2", "3", "4", "130")),
        (("run",), ("0", "N", "1", "2", "3", "4", "130")),
        (("lint",), ("0", "2", "4", "130")),
        (("report",), ("0", "1", "2", "3", "4", "130")),
        (("runs",), ("0", "2", "3", "4", "130")),
    ],
)
def test_help_lists_the_exit_codes_of_its_command(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], codes: tuple[str, ...]
) -> None:
    out = _help(capsys, *argv)
    table = out.split("exit codes:\n", 1)[1]
    # N: a warning with --warning-exit-code N (check and run only)
    listed = [line.split()[0] for line in table.splitlines() if line.startswith("  ")]
    assert tuple(listed) == codes, argv
    if argv == ("lint",):
        assert "critical" not in table  # the check's table does not describe lint
    if argv == ("runs",):
        assert "--result" not in table  # report's option; runs reads --dir


def test_help_texts_agree_with_themselves(capsys: pytest.CaptureFixture[str]) -> None:
    check_help, run_help = _flat(_help(capsys, "check")), _flat(_help(capsys, "run"))
    # run's --wait-timeout default is 60 (Locust has pushed before it exits), check's 300.
    assert "else 300)" in check_help and "else 60)" in run_help and "300" not in run_help
    for argv in (("check",), ("run",), ("report",)):
        out = _flat(_help(capsys, *argv))
        assert "--wait-timeout SECONDS" in out, argv
        assert ".css beside it" in out, argv  # the HTML report is not one file any more
    assert "json: a list of objects" in _flat(_help(capsys, "runs"))


def test_no_command_prints_the_overview_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 2
    captured = capsys.readouterr()
    assert "usage: promgate" in captured.err and "lint" in captured.err
    assert "exit codes:" in captured.err and "required" not in captured.err


def test_url_without_scheme_is_http() -> None:
    assert PrometheusClient("localhost:9090").url == "http://localhost:9090"
    assert PrometheusClient("https://p.example/prom/").url == "https://p.example/prom"
    with pytest.raises(UsageError, match="bad Prometheus URL"):
        PrometheusClient("ftp://p.example")


def test_json_dash_writes_the_document_to_stdout(
    fake_prom: FakePrometheus, write_config: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_prom.on('percentile="0.95"', value(0.3))
    cfg = write_config('checks:\n  - {name: p95 latency, preset: p95, critical: "> 2s"}\n')
    url = fake_prom.url.removeprefix("http://")  # no scheme: http is assumed
    code = run(["check", "--prometheus", url, "--run-id", "run-1", "--config", str(cfg),
                "--json", "-"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["checks"][0]["name"] == "p95 latency"
    assert "promgate: PASS" in err  # the table moved to stderr
    code = run(["check", "--prometheus", url, "--run-id", "run-1", "--config", str(cfg),
                "--json", "-", "--markdown", "-"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("only one output can go to stdout, got --json - and --markdown -"), err


def test_library_errors_name_no_flags_and_the_cli_adds_them(
    write_config: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config('checks:\n  - {name: p95, preset: p95, critical: "> +10%"}\n')
    missing = tmp_path / "missing.json"
    gate = Gate(parse_config(cfg.read_text()), PrometheusClient("http://127.0.0.1:9"))
    with pytest.raises(UsageError) as info:
        gate.evaluate("r", baseline_file=missing)
    assert "--" not in info.value.message and info.value.option == "baseline_file"
    code = run(["check", "--prometheus", "http://127.0.0.1:9", "--run-id", "r",
                "--config", str(cfg), "--baseline-file", str(missing)])  # fmt: skip
    assert code == 2
    assert "check --baseline-file" in capsys.readouterr().err


def test_prometheus_warnings_do_not_leak_into_the_next_evaluation(
    fake_prom: FakePrometheus, write_config: Writer
) -> None:
    status, body = value(0.3)
    fake_prom.on('percentile="0.95"', (status, {**body, "warnings": ["partial response"]}))
    cfg = write_config('checks:\n  - {name: p95, preset: p95, critical: "> 2s"}\n')
    gate = Gate(parse_config(cfg.read_text()), PrometheusClient(fake_prom.url, retries=1))
    first = gate.evaluate("run-1")
    assert any("partial response" in n for n in first.notes)
    fake_prom.on('percentile="0.95"', value(0.3))
    second = gate.evaluate("run-1")
    assert not any("partial response" in n for n in second.notes)

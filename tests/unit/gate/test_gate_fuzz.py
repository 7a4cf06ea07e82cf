"""A property-based fuzzer over the gate's inputs: configs (mutated from the example and small
seeds), performance_thresholds.json files, result files (as ``--baseline-file`` and ``report
--result``) and command lines. Every case holds the contract of ``hostile_contract``: a documented
exit code, no traceback, one error line, no secret, no raw control character, no workflow-command
line, bounded time — and lint rejects everything check rejects in the config.

``make test`` runs a budget of about 300 cases (seconds). ``PROMGATE_FUZZ_SOAK=1`` runs the soak:
more than 2,000 cases, random each time, and prints the count and the violations found.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator

import pytest
from gate_fakeprom import FakePrometheus, vector
from gate_fuzzdata import (
    HOSTILE,
    SECRET,
    SEEDS,
    SMALL,
    json_value,
    mutate,
    mutation,
    paths,
    replace,
    thresholds_doc,
)
from gate_hostileprom import hostile_server
from hostile_contract import Outcome, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SOAK = os.environ.get("PROMGATE_FUZZ_SOAK") == "1"
# The soak runs hundreds of cases per test function: far longer than the suite's per-test limit.
pytestmark = pytest.mark.timeout(3600 if SOAK else 300)
#: cases per strategy: (make test, soak)
BUDGET = {"config": (90, 900), "thresholds": (60, 400), "result": (50, 400), "argv": (50, 500)}
#: cases run and contract violations found, per strategy (printed by the soak)
COUNTS: Counter[str] = Counter()
VIOLATIONS: list[str] = []
#: runs per strategy and exit code: the fuzzer reaches past the first error, or it finds little
CODES: Counter[str] = Counter()


def _settings(strategy: str) -> settings:
    budget, soak = BUDGET[strategy]
    return settings(
        max_examples=soak if SOAK else budget,
        deadline=None,
        derandomize=not SOAK,  # make test: the same cases every run; the soak: new ones
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _note(strategy: str, outcome: Outcome, problems: list[str]) -> None:
    COUNTS[strategy] += 1
    CODES[f"{strategy} exit {outcome.code}"] += 1
    if problems:
        VIOLATIONS.append(f"{strategy}: exit {outcome.code}: {problems}: {outcome.argv}")
    assert not problems, f"{problems}\nargv: {outcome.argv}\nerr: {outcome.err[-1500:]}"


@pytest.fixture(scope="module")
def prom() -> Iterator[FakePrometheus]:
    # One fake for the module, no fault: every query answered with 1 (a finished run "run-1").
    with hostile_server("none") as (fake, _seen):
        fake.default = vector(({"name": "/a"}, 1.0))
        yield fake


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("PROMGATE_GRAFANA_URL", raising=False)
    monkeypatch.delenv("UNSET_FUZZ_VAR", raising=False)


# -- configs -----------------------------------------------------------------------------------


@_settings("config")
@given(
    seed=st.sampled_from(range(len(SEEDS))), mutations=st.lists(mutation, min_size=1, max_size=3)
)
def test_fuzz_config(
    seed: int,
    mutations: list[tuple[str, float, str, str]],
    prom: FakePrometheus,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("cfg")
    config = folder / "gate.yaml"
    config.write_text(mutate(SEEDS[seed], mutations), encoding="utf-8")
    linted = run_cli(["lint", str(config)], capsys)
    _note("config", linted, linted.violations(secrets=[SECRET], bound=20))
    outputs = [folder / "r.json", folder / "j.xml", folder / "m.md"]
    argv = ["check", "--prometheus", prom.url, "--run-id", "run-1", "--config", str(config)]
    argv += ["--wait-timeout", "1", "--json", str(outputs[0]), "--junit", str(outputs[1])]
    checked = run_cli([*argv, "--markdown", str(outputs[2])], capsys, outputs)
    problems = checked.violations(secrets=[SECRET], bound=30)
    if linted.code == 0 and checked.code == 2 and "environment variable" not in checked.err:
        problems.append(f"lint passed what check rejects: {checked.err.strip()[-300:]}")
    _note("config", checked, problems)


# -- performance_thresholds.json ---------------------------------------------------------------


@_settings("thresholds")
@given(
    doc=thresholds_doc,
    raw=st.sampled_from([False, False, False, True]),
)
def test_fuzz_thresholds(
    doc: object,
    raw: bool,
    prom: FakePrometheus,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path_factory.mktemp("thr") / "performance_thresholds.json"
    text = json.dumps(doc)
    path.write_text(text[: len(text) // 2] if raw else text, encoding="utf-8")  # raw: cut short
    linted = run_cli(["lint", str(path)], capsys)
    _note("thresholds", linted, linted.violations(bound=20))
    argv = ["check", "--prometheus", prom.url, "--run-id", "run-1", "--thresholds", str(path)]
    checked = run_cli([*argv, "--wait-timeout", "1"], capsys)
    problems = checked.violations(bound=30)
    if linted.code == 0 and checked.code == 2:
        problems.append(f"lint passed what check rejects: {checked.err.strip()[-300:]}")
    _note("thresholds", checked, problems)


# -- result files --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result_doc(prom: FakePrometheus, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("base")
    config = folder / "gate.yaml"
    config.write_text(SMALL, encoding="utf-8")
    from promgate.cli import run

    argv = ["check", "--prometheus", prom.url, "--run-id", "run-1", "--config", str(config)]
    assert run([*argv, "--json", str(folder / "r.json")]) in (0, 1)
    doc: dict[str, object] = json.loads((folder / "r.json").read_text())
    return doc


@_settings("result")
@given(
    picks=st.lists(st.tuples(st.integers(0, 10_000), json_value), min_size=1, max_size=3),
    data=st.data(),
)
def test_fuzz_result_files(
    picks: list[tuple[int, object]],
    data: st.DataObject,
    result_doc: dict[str, object],
    prom: FakePrometheus,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc: object = result_doc
    for index, new in picks:
        where = paths(doc)
        doc = replace(doc, where[index % len(where)], new)
    folder = tmp_path_factory.mktemp("res")
    path = folder / "result.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    config = folder / "gate.yaml"
    config.write_text(SMALL, encoding="utf-8")
    if data.draw(st.booleans(), label="report"):
        argv = [
            "report",
            "--prometheus",
            prom.url,
            "--result",
            str(path),
            "--html",
            str(folder / "r.html"),
        ]
    else:
        argv = ["check", "--prometheus", prom.url, "--run-id", "run-1", "--config", str(config)]
        argv += ["--wait-timeout", "1", "--baseline-file", str(path)]
    outcome = run_cli(argv, capsys)
    _note("result", outcome, outcome.violations(secrets=[SECRET], bound=30))


# -- command lines -------------------------------------------------------------------------------

_OPTIONS = {
    "check": ["--prometheus", "--run-id", "--config", "--thresholds", "--baseline-run",
              "--baseline-file", "--baseline-history", "--var", "--strict", "--job",
              "--wait-timeout", "--grafana-url", "--format", "--push-results", "--json"],
    "lint": ["--var", "--format"],
    "report": ["--prometheus", "--run-id", "--job", "--result", "--lookback", "--wait-timeout"],
    "runs": ["--prometheus", "--job", "--lookback", "--limit", "--format"],
}  # fmt: skip
_FLAGS = {"--strict"}


@_settings("argv")
@given(
    command=st.sampled_from(sorted(_OPTIONS)),
    picks=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=7),
    data=st.data(),
)
def test_fuzz_command_line(
    command: str,
    picks: list[tuple[int, int]],
    data: st.DataObject,
    prom: FakePrometheus,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("argv")
    config = folder / "gate.yaml"
    config.write_text(SMALL, encoding="utf-8")
    values = [
        prom.url,
        prom.url.replace("http://", f"http://ci:{SECRET}@"),
        "run-1",
        "latest",
        str(config),
        str(folder),
        str(folder / "missing.yaml"),
        "/dev/null",
        *HOSTILE,
    ]
    # check waits up to 300 s by default for a run the fake knows but never ends: bounded first,
    # a later --wait-timeout of the case overrides it.
    argv = [command, *(["--wait-timeout", "1"] if command in ("check", "report") else [])]
    if data.draw(st.booleans(), label="a sound start"):  # reach past argparse's own checks
        argv += {
            "check": ["--prometheus", prom.url, "--run-id", "run-1", "--config", str(config)],
            "report": ["--prometheus", prom.url, "--run-id", "run-1"],
            "runs": ["--prometheus", prom.url],
            "lint": [],
        }[command]
    if command == "lint":
        argv.append(data.draw(st.sampled_from([str(config), *values]), label="file"))
    for option_index, value_index in picks:
        option = _OPTIONS[command][option_index % len(_OPTIONS[command])]
        argv.append(option)
        if option not in _FLAGS:
            value = values[value_index % len(values)]
            if option in ("--json",):  # an output: inside the test's folder only
                value = str(folder / "out.json")
            argv.append(value)
    if command == "report":
        argv += ["--html", str(folder / "r.html")]
    outcome = run_cli(argv, capsys)
    # argparse's own usage errors are one usage line; the contract's error line is promgate's.
    problems = [
        p
        for p in outcome.violations(secrets=[SECRET], bound=30)
        if not p.startswith("0 error lines")
    ]
    _note("argv", outcome, problems)


def test_fuzz_soak_report() -> None:
    """The soak's figures, printed (``-s``). Every strategy must reach past the first error:
    some configs, thresholds files and result files get judged (exit 0 or 1)."""
    for strategy in ("config", "thresholds"):
        judged = CODES[f"{strategy} exit 0"] + CODES[f"{strategy} exit 1"]
        assert judged >= COUNTS[strategy] // 20, repr(sorted(CODES.items()))
    if SOAK:
        total = sum(COUNTS.values())
        print(f"\nfuzz soak: {total} runs {dict(COUNTS)}; {len(VIOLATIONS)} violations")
        print(f"  exit codes: {dict(sorted(CODES.items()))}")
        for violation in VIOLATIONS:
            print(f"  {violation}")

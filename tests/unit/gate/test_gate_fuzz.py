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
from pathlib import Path

import pytest
from gate_fakeprom import FakePrometheus, vector
from gate_hostileprom import hostile_server
from hostile_contract import Outcome, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
SOAK = os.environ.get("PROMGATE_FUZZ_SOAK") == "1"
SECRET = "S3CRET-fuzz-pw"
# The soak runs hundreds of cases per test function: far longer than the suite's per-test limit.
pytestmark = pytest.mark.timeout(3600 if SOAK else 300)
#: cases per strategy: (make test, soak)
BUDGET = {"config": (90, 900), "thresholds": (60, 400), "result": (50, 400), "argv": (80, 500)}
#: cases run and contract violations found, per strategy (printed by the soak)
COUNTS: Counter[str] = Counter()
VIOLATIONS: list[str] = []
#: runs per strategy and exit code: the fuzzer reaches past the first error, or it finds little
CODES: Counter[str] = Counter()

HOSTILE = [
    "",
    " ",
    "~",
    "\x00",
    "\x1b[2J\x1b]0;t\x07",
    "a\rall checks PASS",
    "::error::pwned",
    "##[error]v1",
    "1e400",
    "-1e400",
    "9" * 401,
    ".inf",
    "-.inf",
    ".nan",
    "-1",
    "0",
    "1e-400",
    "${UNSET_FUZZ_VAR}",
    "${UNSET_FUZZ_VAR:-5}",
    "$$",
    "$run_id",
    "&a [*a]",
    "*nowhere",
    "!!python/object/apply:os.system ['true']",
    "!!binary aGk=",
    "[",
    "{",
    "'",
    '"',
    "\\",
    "ftp://x:21",
    "http://h:port",
    "http://[::1",
    "\U0001f600",
    "\u202eevil",
    "\\ud800 lone",  # YAML's and JSON's escape of a lone surrogate
    "a" * 3000,
    "5m])) or vector(1) #",
    "(" * 200 + "1" + ")" * 200,
    "+".join(["1"] * 400),
    "> 2s",
    "< 5",
    "> +10%",
    "> 1e400",
    "> " + "9" * 401,
    "p95",
    "latency_regression",
    "sum",
    "each",
    "[1, 2]",
    "{a: 1}",
    "null",
    "true",
    "- x",
    "? x",
]
UNITS = ["", "s", "ms", "%", "rps", "gb", "x"]
KEYS = ["name", "query", "preset", "critical", "warning", "reduce", "unit", "no_data",
        "abort", "confidence", "lookback", "wait_timeout", "timeout", "retries", "headers",
        "url", "job", "vars", "baseline", "history", "for", "after"]  # fmt: skip

SMALL = f"""prometheus:
  retries: 1
  retry_wait: 0.01
  timeout: 2
  basic_auth:
    username: ci
    password: {SECRET}
job: locust
lookback: 7d
checks:
  - name: p95
    preset: p95
    warning: "> 500ms"
    critical: "> 2s"
  - name: custom
    query: max(last_over_time(x{{job="$job", run_id="$run_id"}}[$window]))
    unit: seconds
    reduce: max
    critical: "> 5s"
"""


def _seeds() -> list[str]:
    example = (ROOT / "examples" / "gate.yaml").read_text(encoding="utf-8")
    head = "prometheus:\n  retries: 1\n  retry_wait: 0.01\n  timeout: 2\n"
    head += f"  basic_auth: {{username: ci, password: {SECRET}}}\n"
    body = example.split("job: locust", 1)[1]  # its own prometheus block names an env URL
    return [SMALL, head + "job: locust" + body]


SEEDS = _seeds()


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

_number = st.one_of(st.floats(), st.integers(min_value=-(10**450), max_value=10**450))
_mutation = st.tuples(
    st.sampled_from(["value", "quoted", "quoted", "insert", "delete", "duplicate", "key"]),
    st.floats(0, 1),
    st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
        _number.map(str),
        st.tuples(st.sampled_from([">", "<", "> +", "> -"]), _number, st.sampled_from(UNITS)).map(
            lambda t: f"{t[0]} {t[1]}{t[2]}"
        ),
    ),
    st.sampled_from(KEYS),
)


def _mutate(text: str, mutations: list[tuple[str, float, str, str]]) -> str:
    lines = text.split("\n")
    for op, where, hostile, key in mutations:
        i = min(int(where * len(lines)), len(lines) - 1)
        line = lines[i]
        indent = line[: len(line) - len(line.lstrip())]
        if op == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + hostile
        elif op == "quoted" and ":" in line:  # a valid YAML string: the value reaches the gate
            lines[i] = line.split(":", 1)[0] + ": " + json.dumps(hostile)
        elif op == "insert":
            lines.insert(i, f"{indent}{key}: {hostile}")
        elif op == "delete" and len(lines) > 2:
            del lines[i : i + 1 + int(where * 3)]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "key" and ":" in line:
            lines[i] = f"{indent}{key}:{line.split(':', 1)[1]}"
    return "\n".join(lines)


@_settings("config")
@given(
    seed=st.sampled_from(range(len(SEEDS))), mutations=st.lists(_mutation, min_size=1, max_size=3)
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
    config.write_text(_mutate(SEEDS[seed], mutations), encoding="utf-8")
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

_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_known = ["response_time_p95", "response_time_p99", "error_rate", "requests_per_second",
          "cpu_usage", "memory_usage"]  # fmt: skip
_metric = st.one_of(st.sampled_from(_known), st.sampled_from(_known), st.sampled_from(HOSTILE))
_bound = st.one_of(st.floats(0, 1e4), st.floats(0, 1e4), st.floats(0, 1e4), _number, _json_scalar)
_unit = st.one_of(st.sampled_from(["ms", "seconds", "percent", "rps"]), _json_scalar)
#: a thresholds file that is right but for its figures: judged, so the outputs get exercised
_valid_thresholds = st.dictionaries(
    st.sampled_from(_known),
    st.fixed_dictionaries(
        {"critical": _number},
        optional={"warning": st.floats(0, 1e4), "unit": st.sampled_from(["ms", "seconds"])},
    ),
    min_size=1,
    max_size=4,
)
_spec = st.one_of(
    st.fixed_dictionaries({"warning": _bound}, optional={"critical": _bound, "unit": _unit}),
    st.fixed_dictionaries({"critical": _bound}, optional={"warning": _bound, "unit": _unit}),
    st.fixed_dictionaries({"critical": _bound}),
    _json,
)


@_settings("thresholds")
@given(
    doc=st.one_of(
        _valid_thresholds, st.dictionaries(_metric, _spec, min_size=1, max_size=3), _json
    ),
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


def _paths(doc: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            found += _paths(v, (*prefix, i))
    return found


def _replace(doc: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _replace(doc[head], rest, new)}  # type: ignore[index]
    assert isinstance(doc, list) and isinstance(head, int)
    return [*doc[:head], _replace(doc[head], rest, new), *doc[head + 1 :]]


@_settings("result")
@given(
    picks=st.lists(st.tuples(st.integers(0, 10_000), _json), min_size=1, max_size=3), data=st.data()
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
        paths = _paths(doc)
        doc = _replace(doc, paths[index % len(paths)], new)
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
    argv = [command]
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

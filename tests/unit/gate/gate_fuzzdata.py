"""What the gate's fuzzer (``test_gate_fuzz``) draws from: hostile values, config seeds and
mutations, thresholds-file and JSON strategies, and paths into a result document."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
#: in the seeds' password: no output may show it
SECRET = "S3CRET-fuzz-pw"

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


_number = st.one_of(st.floats(), st.integers(min_value=-(10**450), max_value=10**450))
mutation = st.tuples(
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


def mutate(text: str, mutations: list[tuple[str, float, str, str]]) -> str:
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


_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
)
json_value = st.recursive(
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
    json_value,
)


def paths(doc: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            found += paths(v, (*prefix, i))
    return found


def replace(doc: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: replace(doc[head], rest, new)}  # type: ignore[index]
    assert isinstance(doc, list) and isinstance(head, int)
    return [*doc[:head], replace(doc[head], rest, new), *doc[head + 1 :]]


#: a thresholds file: mostly right but for its figures, sometimes hostile, sometimes any JSON
thresholds_doc = st.one_of(
    _valid_thresholds, st.dictionaries(_metric, _spec, min_size=1, max_size=3), json_value
)

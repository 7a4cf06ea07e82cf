from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from promgate import PRESETS, ConfigError, load_config, parse_config, queries
from promgate.cli import run

GOOD = """\
prometheus:
  url: ${PROM_URL:-http://localhost:9090}
  timeout: ${PROM_TIMEOUT:-7}
  basic_auth: {username: ci, password: "${PROM_PW}"}
  headers: {X-Scope-OrgID: team-a}
job: locust
checks:
  - name: p95
    preset: p95
    warning: "> 500ms"
    critical: "> 2s"
  - name: errors
    preset: error_rate
    unit: percent
    critical: ["> 5%", "> +50%"]
    no_data: warn
  - name: custom
    query: sum(max_over_time(locust_requests_total{job="$job", run_id="${run_id}"}[$window]))
    unit: count
    critical: "< 10"
    reduce: sum
"""


def test_good_config_loads_with_interpolation() -> None:
    cfg = parse_config(GOOD, "gate.yaml", env={"PROM_PW": "s3cr$t", "PROM_TIMEOUT": "3"})
    assert cfg.prometheus.url == "http://localhost:9090"
    assert cfg.prometheus.timeout == 3.0
    assert (cfg.prometheus.username, cfg.prometheus.password) == ("ci", "s3cr$t")
    assert cfg.prometheus.headers == {"X-Scope-OrgID": "team-a"}
    p95, errors, custom = cfg.checks
    assert p95.query == queries.locust_quantile(0.95)  # presets are promgate.queries, not copies
    assert (p95.unit.name, p95.query_unit.name) == ("seconds", "seconds")
    assert (errors.unit.name, errors.query_unit.name) == ("percent", "ratio")
    assert errors.query == PRESETS["error_rate"].query == queries.error_ratio()
    assert errors.critical[0].amount == 5.0 and errors.relative
    assert errors.no_data == "warn" and p95.no_data == "fail"
    assert "${run_id}" in custom.query  # query templates are not env-interpolated
    assert custom.reduce == "sum" and custom.line == 17


def test_missing_env_var_names_file_line_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD, "gate.yaml", env={})
    assert str(info.value).startswith("gate.yaml:4: prometheus.basic_auth.password: ")
    assert "PROM_PW" in str(info.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "checks:\n  - name: a\n    preset: nope\n    critical: '> 1'\n",
            "x.yaml:3: checks.a.preset",
        ),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '> 5%'\n",
            "x.yaml:4: checks.a.critical",
        ),
        ("checks:\n  - name: a\n    preset: p95\n", "x.yaml:2: checks.a"),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '>1'\n    colour: red\n",
            "x.yaml:5: checks.a.colour",
        ),
        (
            "checks:\n  - name: a\n    query: up\n    preset: p95\n    critical: '>1'\n",
            "x.yaml:2: checks.a",
        ),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '>1'\n    reduce: last\n",
            "x.yaml:5: checks.a.reduce",
        ),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '>1'\n    unit: furlongs\n",
            "x.yaml:5: checks.a.unit",
        ),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '>1'\n    no_data: maybe\n",
            "x.yaml:5: checks.a.no_data",
        ),
        ("checks: [\n", "x.yaml:2: invalid YAML"),
        ("prometheus:\n  timeout: soon\nchecks: []\n", "x.yaml:2: prometheus.timeout"),
        ("prometheus:\n  retries: 0\nchecks: []\n", "x.yaml:2: prometheus.retries"),
        ("checks: []\n", "x.yaml:1: checks"),
        (
            "wait_timeout: .nan\nchecks:\n  - name: a\n    preset: p95\n    critical: '>1'\n",
            "x.yaml:1: wait_timeout: expected seconds, got nan",
        ),
        (
            "wait_timeout: -1\nchecks:\n  - name: a\n    preset: p95\n    critical: '>1'\n",
            "x.yaml:1: wait_timeout: must be >= 0",
        ),
        (
            "checks:\n  - name: a\n    preset: !!python/object:os.system p95\n",
            "x.yaml:3: checks.a.preset: invalid value",
        ),
        ("nope: 1\n", "x.yaml:1: nope"),
        ("- a\n", "x.yaml:1: expected a mapping"),
        (
            "checks:\n  - name: a\n    preset: p95\n    critical: '>1'\n"
            "  - name: a\n    preset: p99\n    critical: '>1'\n",
            "x.yaml:5: checks.a: duplicate check name",
        ),
    ],
)
def test_errors_name_file_line_and_key(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.yaml", env={})
    message = str(info.value)
    assert message.startswith(where), message
    assert "\n" not in message


def test_empty_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty config"):
        parse_config("", "x.yaml")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_unquoted_env_values_are_typed() -> None:
    text = (
        "prometheus:\n  insecure_skip_verify: ${SKIP}\n  retries: ${N}\nchecks:\n"
        "  - name: a\n    preset: p95\n    critical: '>1'\n"
    )
    cfg = parse_config(text, "x.yaml", env={"SKIP": "true", "N": "2"})
    assert cfg.prometheus.insecure_skip_verify is True and cfg.prometheus.retries == 2


def test_lint_reports_bad_promql_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        "checks:\n  - name: ok\n    preset: p95\n    critical: '>1'\n"
        "  - name: broken\n    query: sum(rate(x[5m])\n    critical: '>1'\n"
    )
    assert run(["lint", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{path}:5: checks.broken.query: bad PromQL"), err
    assert len(err.splitlines()) == 1


def test_lint_ok_and_unknown_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("checks:\n  - name: a\n    query: x{env=\"$env\"}\n    critical: '>1'\n")
    assert run(["lint", str(path)]) == 2
    assert "unknown variable $env" in capsys.readouterr().err
    assert run(["lint", str(path), "--var", "env=prod"]) == 0


def test_every_preset_lints() -> None:
    from promgate.config.query_lint import PLACEHOLDERS, parse_promql
    from promgate.prometheus.templating import render

    for preset in PRESETS.values():
        parse_promql(render(preset.query, PLACEHOLDERS))


_yaml_ish = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=12),
        st.sampled_from(["p95", "> 2s", "each", "${X}", "$run_id", "[", "{", "&a", "*a"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "checks",
                    "name",
                    "preset",
                    "query",
                    "critical",
                    "warning",
                    "unit",
                    "reduce",
                    "prometheus",
                    "url",
                    "no_data",
                    "x",
                ]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.text(max_size=200), _yaml_ish.map(repr)))
def test_fuzz_lint_never_tracebacks(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "replace"))
    assert run(["lint", str(path)]) in (0, 2)


@settings(max_examples=150, deadline=None)
@given(_yaml_ish)
def test_fuzz_structured_config_only_config_errors(doc: object) -> None:
    import yaml

    text = yaml.safe_dump(doc)
    try:
        parse_config(text, "f.yaml", env={"X": "1"})
    except ConfigError as exc:
        assert "\n" not in exc.message


def test_docs_presets_table_is_current() -> None:
    from presets_doc import presets_markdown

    doc = (Path(__file__).resolve().parents[4] / "docs" / "gate.md").read_text()
    block = doc.split("<!-- presets:begin")[1].split("-->\n", 1)[1]
    block = block.split("<!-- presets:end -->")[0]
    assert block == presets_markdown(), "regenerate the presets table in docs/gate.md"


def test_error_rate_presets_show_percent_and_read_bare_numbers_in_percent() -> None:
    from promgate.config.thresholds import parse_thresholds

    cfg = parse_config(
        "checks:\n"
        "  - {name: e, preset: error_rate, critical: '> 2'}\n"
        "  - {name: r, preset: error_rate, unit: ratio, critical: '> 0.02'}\n"
        "  - {name: x, preset: endpoint_error_rate, critical: '> 2%'}\n"
    )
    units = [(c.unit.name, c.query_unit.name) for c in cfg.checks]
    assert units == [("percent", "ratio"), ("ratio", "ratio"), ("percent", "ratio")]
    assert [c.critical[0].amount for c in cfg.checks] == [2.0, 0.02, 2.0]
    # The guide's file without a unit: its check_regression.py compares percent figures.
    (check,) = parse_thresholds('{"error_rate": {"critical": 5}}').checks
    assert (check.unit.name, check.critical[0].amount) == ("percent", 5.0)


def test_defaults_are_one_table_the_config_help_and_docs_agree_with() -> None:
    from promgate import defaults
    from promgate.cli.commands import build_parser

    config = parse_config("checks:\n  - name: a\n    query: up\n    critical: '> 1'\n")
    assert config.lookback == defaults.LOOKBACK
    sub = next(a for a in build_parser()._actions if a.choices)
    choices = sub.choices
    assert choices is not None
    for command in ("report", "runs"):
        lookback = next(a for a in choices[command]._actions if "--lookback" in a.option_strings)
        assert lookback.default == defaults.LOOKBACK
        assert f"(default: {defaults.LOOKBACK})" in (lookback.help or "")
    wait = next(a for a in choices["check"]._actions if "--wait-timeout" in a.option_strings)
    assert f"else {defaults.WAIT_TIMEOUT:g})" in (wait.help or "")
    docs = Path(__file__).resolve().parents[4] / "docs"
    gate_md = (docs / "gate.md").read_text(encoding="utf-8")
    assert f"lookback: {defaults.LOOKBACK} " in gate_md
    assert f"wait_timeout: {defaults.WAIT_TIMEOUT:g}\n" in gate_md
    assert f"else {defaults.WAIT_TIMEOUT:g})" in gate_md
    assert f"(default `{defaults.LOOKBACK}`" in (docs / "report.md").read_text(encoding="utf-8")

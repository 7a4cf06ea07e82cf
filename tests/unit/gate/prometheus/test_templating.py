from __future__ import annotations

import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from promgate import ConfigError
from promgate.prometheus.templating import escape_string, render, variables_in

NASTY = [
    'a"b',
    "a\\b",
    'x", __name__=~".+',
    "line\nbreak",
    "tab\there",
    "ünïcødé 😀",
    "",
    '\\"',
    "} or vector(1) #",
    "\x00\x07\x7f",
    "'single'",
    "$job",
]


def _matchers(expr: str) -> dict[str, str]:
    parsed = promql_parser.parse(expr)
    return {m.name: m.value for m in parsed.matchers.matchers}


@pytest.mark.parametrize("run_id", NASTY)
def test_run_id_cannot_escape_its_label_value(run_id: str) -> None:
    template = 'locust_requests_total{job="$job", run_id="$run_id"}'
    expr = render(template, {"job": "locust", "run_id": run_id})
    matchers = _matchers(expr)
    assert (matchers["job"], matchers["run_id"]) == ("locust", run_id)
    assert set(matchers) <= {"job", "run_id", "__name__"}


@pytest.mark.parametrize("run_id", NASTY)
def test_single_quoted_strings_are_escaped_too(run_id: str) -> None:
    expr = render("x{run_id='$run_id'}", {"run_id": run_id})
    assert _matchers(expr)["run_id"] == run_id


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_any_run_id_round_trips(run_id: str) -> None:
    expr = render('x{run_id="${run_id}"}', {"run_id": run_id})
    assert _matchers(expr)["run_id"] == run_id


def test_bare_values_must_be_tokens() -> None:
    assert render("x[$window]", {"window": "75s"}) == "x[75s]"
    assert render("x @ $run_end", {"run_end": "1700000060.5"}) == "x @ 1700000060.5"
    with pytest.raises(ConfigError, match="outside a string"):
        render("x[$window]", {"window": "5m]) or vector(1"})
    with pytest.raises(ConfigError, match="outside a string"):
        render("x > $limit", {"limit": "1 or up"})


def test_unknown_variable_and_grafana_variables() -> None:
    with pytest.raises(ConfigError, match=r"unknown variable \$nope"):
        render('x{a="$nope"}', {"run_id": "r"})
    assert render("rate(x[$__rate_interval])", {}) == "rate(x[$__rate_interval])"


def test_comments_and_escapes_in_template_are_kept() -> None:
    template = 'x{a="q\\"$run_id"} # $not_a_var\n'
    assert render(template, {"run_id": "r"}) == 'x{a="q\\"r"} # $not_a_var\n'
    assert variables_in("$a ${b} $$") == {"a", "b"}


def test_backtick_strings() -> None:
    assert render("x{a=`$run_id`}", {"run_id": 'a"b\\'}) == 'x{a=`a"b\\`}'
    with pytest.raises(ConfigError, match="backtick"):
        render("x{a=`$run_id`}", {"run_id": "a`b"})
    assert escape_string("a\nb") == "a\\nb"
    with pytest.raises(ConfigError, match="unterminated"):
        render('x{a="$run_id', {"run_id": "r"})

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from promgate import ConfigError, parse_condition
from promgate.config.units import UNITS, parse_quantity
from promgate.core.judging.format import format_value

S, MS, PCT, RATIO, RPS = (UNITS[u] for u in ("seconds", "ms", "percent", "ratio", "rps"))


@pytest.mark.parametrize(
    ("text", "unit", "op", "amount", "relative"),
    [
        ("> 2s", S, ">", 2.0, ""),
        ("> 2s", MS, ">", 2000.0, ""),
        (">500ms", S, ">", 0.5, ""),
        ("< 50", RPS, "<", 50.0, ""),
        ("> 5%", PCT, ">", 5.0, ""),
        ("> 5%", RATIO, ">", 0.05, ""),
        (">= 0.99", RATIO, ">=", 0.99, ""),
        ("<= 1e3", MS, "<=", 1000.0, ""),
        ("> +20%", S, ">", 20.0, "percent"),
        ("< -10%", RPS, "<", -10.0, "percent"),
        ("> +50ms", S, ">", 0.05, "delta"),
        ("> +2", PCT, ">", 2.0, "delta"),
        ("!= 0", UNITS["count"], "!=", 0.0, ""),
    ],
)
def test_parse(text: str, unit: object, op: str, amount: float, relative: str) -> None:
    cond = parse_condition(text, unit)  # type: ignore[arg-type]
    assert (cond.op, cond.relative) == (op, relative)
    assert math.isclose(cond.amount, amount)


def test_bare_number_is_an_upper_bound() -> None:
    cond = parse_condition(5, S)
    assert cond.triggered(5.1) and not cond.triggered(5.0)


def test_triggered_absolute_and_relative() -> None:
    assert parse_condition("> 2s", S).triggered(2.5) is True
    assert parse_condition("> 2s", S).triggered(2.0) is False
    rel = parse_condition("> +20%", S)
    assert rel.triggered(1.21, baseline=1.0) is True
    assert rel.triggered(1.19, baseline=1.0) is False
    assert rel.triggered(1.0, baseline=None) is None  # cannot decide without a baseline
    assert rel.triggered(1.0, baseline=math.nan) is None
    delta = parse_condition("> +50ms", S)
    assert delta.threshold(0.1) == pytest.approx(0.15)
    assert parse_condition("< -10%", RPS).threshold(100.0) == pytest.approx(90.0)


def test_nan_never_triggers_or_passes() -> None:
    assert parse_condition("> 2s", S).triggered(math.nan) is None
    assert parse_condition("< 2s", S).triggered(math.inf) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        ">",
        "2s",
        "> abc",
        "> 5%%",
        "> 2 parsecs",
        "> 5%",
        "=> 2",
        "> nan",
        "> inf",
        "> +",
        "> +x%",
        "> 1e999",
    ],
)
def test_bad_conditions_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_condition(text, S)
    assert "\n" not in str(info.value)


def test_wrong_types() -> None:
    for bad in (True, None, [1], {"a": 1}):
        with pytest.raises(ConfigError):
            parse_condition(bad, S)


def test_units_convert_and_format() -> None:
    assert parse_quantity("1.5s", MS) == 1500.0
    assert parse_quantity("250", MS) == 250.0
    assert parse_quantity("1KiB", UNITS["bytes"]) == 1024.0
    with pytest.raises(ConfigError, match=r"dimension|time"):
        parse_quantity("5%", S)
    assert format_value(None, S) == "no data"
    assert format_value(1.234, S) == "1.234s"
    assert format_value(0.0125, S) == "12.5ms"
    assert format_value(4.5, PCT) == "4.50%"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=30), st.sampled_from(sorted(UNITS)))
def test_fuzz_parser_only_raises_config_errors(text: str, unit: str) -> None:
    try:
        cond = parse_condition(text, UNITS[unit])
    except ConfigError as exc:
        assert "\n" not in exc.message
        return
    assert math.isfinite(cond.amount)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([">", "<", ">=", "<=", "==", "!="]),
    st.sampled_from(["", "+", "-"]),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from(["", "s", "ms", "%", "us"]),
)
def test_fuzz_well_formed_conditions_parse(op: str, sign: str, x: float, suffix: str) -> None:
    text = f"{op} {sign}{x!r}{suffix}"
    unit = PCT if suffix == "%" and not sign else S
    cond = parse_condition(text, unit)
    assert cond.op == op
    assert cond.needs_baseline == bool(sign)

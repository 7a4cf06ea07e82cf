"""Why a query returned nothing (``core.judging.nodata``): the queries planned for its selectors,
and what each combination of answers is explained as. Pure: the answers are given, no Prometheus."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from promgate.config.query_lint import parse_promql
from promgate.core.judging.nodata import Diagnosis, Key, Matcher, explain, plan, selectors
from promgate.prometheus.types import RunWindow, Sample

START = 1_700_000_000.0
RUN = RunWindow("r-1", "locust", START, START + 60, START + 61, 1.0, START + 62, 74)
DIAG = Diagnosis(RUN, "7d", 300.0)
QUERY = 'sum(locust_requests_total{job="locust", run_id="r-1", name="/Students"})'


def count(n: float) -> list[Sample]:
    return [Sample({}, n)]


def values(label: str, *found: str) -> list[Sample]:
    return [Sample({label: v}, 1.0) for v in found]


def answers(**given: Sequence[Sample]) -> dict[Key, Sequence[Sample]]:
    """Answers for the first selector by kind (``values_name`` for the label ``name``)."""
    out: dict[Key, Sequence[Sample]] = {(-1, "push_failures", ""): []}
    for kind, samples in given.items():
        if kind.startswith("values_"):
            out[(0, "values", kind.removeprefix("values_"))] = samples
        else:
            out[(0, kind, "")] = samples
    return out


def test_selectors_are_read_from_the_query_with_their_matchers() -> None:
    expr = 'rate(a{job="j", n=~"/s.*"}[5m]) / on() {__name__="b", x!="y"} + a{job="j", n=~"/s.*"}'
    first, second = selectors(expr)
    assert first.name == "a" and first.scope == (Matcher("job", "=", "j"),)
    assert first.others == (Matcher("n", "=~", "/s.*"),)
    assert second.name == "b" and second.matchers == (Matcher("x", "!=", "y"),)


def test_every_planned_query_is_valid_promql_and_keyed_by_its_selector() -> None:
    jobs = plan(QUERY, DIAG)
    kinds = {key[1] for key in jobs if key[0] == 0}
    assert kinds == {
        "window",
        "lookback",
        "last_seen",
        "scope",
        "names",
        "jobs",
        "metric",
        "values",
    }
    assert (0, "values", "name") in jobs and (-1, "push_failures", "") in jobs
    for expr in jobs.values():
        parse_promql(expr)
    # The run's own labels and a metric name narrow every query: none scans all series.
    assert all("run_id" in q or "locust_requests_total" in q for q in jobs.values())


def test_a_label_value_that_nearly_matches_is_named() -> None:
    got = explain(
        QUERY,
        answers(
            window=[],
            lookback=[],
            scope=count(900),
            metric=count(12),
            values_name=values("name", "/courses", "/students", "/students/{id}"),
        ),
        DIAG,
    )
    assert got == 'no series with name="/Students" (did you mean "/students"?)'


def test_without_a_near_value_the_values_are_listed() -> None:
    found = values("name", *(f"/route{i}" for i in range(8)))
    got = explain(
        QUERY,
        answers(window=[], lookback=[], scope=count(9), metric=count(9), values_name=found),
        DIAG,
    )
    assert got.startswith('no series with name="/Students" (values: "/route0", "/route1"')
    assert got.endswith(" ...)")


def test_numeric_label_values_are_listed_by_value() -> None:
    query = 'sum(locust_response_time_seconds_bucket{job="locust", run_id="r-1", le="0.3"})'
    found = values("le", "10", "+Inf", "0.25", "2", "0.5")
    got = explain(
        query,
        answers(window=[], lookback=[], scope=count(9), metric=count(9), values_le=found),
        DIAG,
    )
    assert got == 'no series with le="0.3" (values: "0.25", "0.5", "2", "10", "+Inf")'


def test_the_metric_absent_for_the_run_with_its_near_name() -> None:
    query = 'locust_request_total{job="locust", run_id="r-1"}'
    names = values("__name__", "locust_requests_total", "locust_users")
    got = explain(
        query, answers(window=[], lookback=[], scope=count(9), metric=[], names=names), DIAG
    )
    assert got == (
        "metric locust_request_total is absent for this run (did you mean locust_requests_total?)"
    )


def test_an_unknown_run_or_a_run_in_another_job() -> None:
    query = 'locust_requests_total{job="locst", run_id="r-1"}'
    other = answers(window=[], lookback=[], scope=[], jobs=values("job", "locust"))
    assert explain(query, other, DIAG).endswith('is unknown (the run is in job "locust")')
    nowhere = answers(window=[], lookback=[], scope=[], jobs=[])
    assert explain(query, nowhere, DIAG).startswith("run or job unknown: no series with")


def test_data_only_outside_the_window_and_a_scrape_older_than_the_wait() -> None:
    last = START - 2 * 3600 - 5 * 60
    got = explain(QUERY, answers(window=[], lookback=count(3), last_seen=count(last)), DIAG)
    assert "has data only outside the run's window (74s)" in got
    assert "its newest sample is 2h 5m before the run's start" in got
    assert "its last scrape is 2h 6m old, older than the wait (300s): is it still scraped?" in got
    # Within the wait: no word about the scrape.
    recent = answers(window=[], lookback=count(3), last_seen=count(START - 100))
    assert "older than the wait" not in explain(QUERY, recent, Diagnosis(RUN, "7d", 600.0))


def test_each_matcher_found_but_never_together() -> None:
    query = 'a{job="locust", run_id="r-1", method="POST", name="/x"}'
    got = explain(
        query,
        answers(
            window=[],
            lookback=[],
            scope=count(5),
            metric=count(5),
            values_method=values("method", "GET", "POST"),
            values_name=values("name", "/x"),
        ),
        DIAG,
    )
    assert got == f"no series has every matcher of {query} at once"


def test_a_query_whose_series_all_have_data_is_dropped_by_the_expression() -> None:
    got = explain('a{job="locust"} > 1e12', answers(window=count(4)), DIAG)
    assert got.startswith("every series the query selects has data in the window")


def test_failed_pushes_are_added_whatever_the_cause() -> None:
    given = answers(window=count(4))
    given[(-1, "push_failures", "")] = count(3)
    assert explain('a{job="locust"} > 1', given, DIAG).endswith(
        "the exporter counted 3 failed pushes for this run (locust_exporter_push_failures_total)"
    )


@pytest.mark.parametrize("missing", ["window", "lookback"])
def test_a_diagnosis_query_that_failed_makes_no_claim(missing: str) -> None:
    given: Mapping[Key, Sequence[Sample]] = {
        k: v for k, v in answers(window=[], lookback=count(1)).items() if k[1] != missing
    }
    assert explain(QUERY, given, DIAG) == ""


def test_values_from_prometheus_are_escaped_and_short() -> None:
    hostile = '/st"udents\\' + "x" * 500
    got = explain(
        QUERY,
        answers(
            window=[],
            lookback=[],
            scope=count(1),
            metric=count(1),
            values_name=values("name", hostile),
        ),
        DIAG,
    )
    assert len(got) < 300 and '\\"' in got

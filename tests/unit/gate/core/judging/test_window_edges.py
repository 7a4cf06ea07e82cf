"""A check's ``window:`` resolved on a run (``core/judging/window_edges.py``): the ``$win_*``
values of each kind, the steady moment asked of a fake Prometheus once it is known, and the
reason a window the run lacks gives."""

from __future__ import annotations

from gate_fakeprom import END, START, FakePrometheus, value, vector
from promgate import CheckSpec, PrometheusClient, RunWindow, parse_config
from promgate.core.judging.window_edges import WindowResolver

EVAL = END + 5.0
RUN = RunWindow("run-1", "locust", START, END, END + 2.0, 1.0, EVAL, 70)


def spec(window: str) -> CheckSpec:
    text = f'checks:\n  - name: p95\n    preset: p95\n    window: {window}\n    critical: "> 1s"\n'
    return parse_config(text, "t.yaml", env={}).checks[0]


def resolver(prom: FakePrometheus) -> WindowResolver:
    return WindowResolver(PrometheusClient(prom.url, retries=1, retry_wait=0.0))


def test_the_whole_run_needs_no_query(fake_prom: FakePrometheus) -> None:
    found = resolver(fake_prom).variables(spec("whole"), RUN)
    assert found == {
        "win_start": f"{START:.0f}",
        "win_end": f"{EVAL:.0f}",
        "win_seconds": "60",
        "win_range": "65000ms",  # from the window's start to the evaluation time
    }
    assert fake_prom.queries == []


def test_steady_starts_at_the_exporters_moment_asked_once(fake_prom: FakePrometheus) -> None:
    fake_prom.on("locust_run_steady_timestamp_seconds", value(START + 12.5))
    windows = resolver(fake_prom)
    check = spec("steady")
    found = windows.variables(check, RUN)
    assert found is not None
    assert found["win_start"] == f"{START + 12.5:.1f}" and found["win_seconds"] == "47.5"
    assert windows.label(check, RUN) == "steady 0:12-1:00 (48s)"
    assert fake_prom.hits == 1  # known now: not asked again


def test_a_run_without_a_steady_moment_is_asked_again_and_says_why(
    fake_prom: FakePrometheus,
) -> None:
    fake_prom.on("locust_run_steady_timestamp_seconds", vector())
    windows = resolver(fake_prom)
    check = spec("steady")
    assert windows.variables(check, RUN) is None
    assert windows.problem(check, RUN) == (
        "window steady: the run has no steady moment (its users never all ran)"
    )
    # the query is still rendered, over an empty window at the run's end
    end = f"{EVAL:.0f}"
    assert windows.render_variables(check, RUN) == {
        "win_start": end,
        "win_end": end,
        "win_seconds": "0.001",
        "win_range": "1ms",
    }
    assert fake_prom.hits == 2  # a live run may reach its steady moment later


def test_skip_and_last_cut_the_run_and_a_window_longer_than_the_run_has_no_seconds(
    fake_prom: FakePrometheus,
) -> None:
    windows = resolver(fake_prom)
    skip = windows.variables(spec("{skip: 15s}"), RUN)
    last = windows.variables(spec("{last: 20s}"), RUN)
    assert skip is not None and skip["win_start"] == f"{START + 15:.0f}"
    assert skip["win_seconds"] == "45"
    assert last is not None and last["win_start"] == f"{END - 20:.0f}"
    assert last["win_seconds"] == "20"
    too_long = spec("{skip: 2m}")
    assert windows.variables(too_long, RUN) is None
    assert windows.label(too_long, RUN) == "window skip 2m: the run lasted only 60s"
    # last D beyond the run's length is the whole run, not an empty window
    everything = windows.variables(spec("{last: 5m}"), RUN)
    assert everything is not None and everything["win_start"] == f"{START:.0f}"
    assert fake_prom.queries == []

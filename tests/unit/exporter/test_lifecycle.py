"""The façade's parts on their own: the Grafana link, run ids per test, the wait for workers,
Locust's shutdown once."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gevent
import pytest
from locust import User, constant, task
from locust.env import Environment
from locust_prometheus import PrometheusExporter
from locust_prometheus.links import DASHBOARD_UID, dashboard_link
from locust_prometheus.options import ExporterConfig, config_from_options
from locust_prometheus.run_ids import RunIds
from locust_prometheus.shutdown import ShutdownOnce
from locust_prometheus.workers import WorkerReports


class U(User):
    wait_time = constant(1)

    @task
    def t(self) -> None:  # pragma: no cover
        pass


@pytest.mark.parametrize("run_id", ["20260102T030405Z-ab12cd", "a b/c&d=é#1", ""])
def test_dashboard_link_opens_the_run_in_its_time_range(run_id: str) -> None:
    live = dashboard_link("http://grafana:3000/", run_id, 1767323045.25)
    parts = urlsplit(live)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "grafana:3000",
        f"/d/{DASHBOARD_UID}",
    )
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query == {"var-run_id": [run_id], "from": ["1767323045250"], "to": ["now"]}
    assert " " not in live and "#" not in parts.query.replace("%23", "")
    done = dashboard_link("http://grafana:3000", run_id, 100.0, 160.5)
    assert parse_qs(urlsplit(done).query)["to"] == ["160500"]


def test_grafana_url_option_takes_host_port_and_rejects_other_schemes() -> None:
    opts = type("O", (), {"prometheus_grafana_url": "grafana:3000/"})()
    assert config_from_options(opts, env={}).grafana_url == "http://grafana:3000"
    bad = type("O", (), {"prometheus_grafana_url": "ftp://grafana"})()
    with pytest.raises(ValueError, match="--prometheus-grafana-url"):
        config_from_options(bad, env={})


def test_test_start_logs_the_dashboard_link(caplog: pytest.LogCaptureFixture) -> None:
    env = Environment(user_classes=[U])
    env.create_local_runner()
    exp = PrometheusExporter(ExporterConfig(run_id="r 1", grafana_url="http://g:3000"))
    exp.register(env)
    before = time.time()
    with caplog.at_level(logging.INFO, logger="locust_prometheus"):
        env.events.test_start.fire(environment=env)
        env.events.test_start.fire(environment=env)  # a second test: its own run id
    links = [
        r.getMessage().split("dashboard ", 1)[1]
        for r in caplog.records
        if "dashboard" in r.getMessage()
    ]
    assert len(links) == 2
    for link, run_id in zip(links, ["r 1", "r 1-2"], strict=True):
        query = parse_qs(urlsplit(link).query)
        assert query["var-run_id"] == [run_id] and query["to"] == ["now"]
        assert before * 1000 - 1 <= int(query["from"][0]) <= time.time() * 1000 + 1


def test_no_link_without_grafana_url(caplog: pytest.LogCaptureFixture) -> None:
    env = Environment(user_classes=[U])
    env.create_local_runner()
    PrometheusExporter(ExporterConfig(run_id="r")).register(env)
    with caplog.at_level(logging.INFO, logger="locust_prometheus"):
        env.events.test_start.fire(environment=env)
    assert not [r for r in caplog.records if "dashboard" in r.getMessage()]


def test_run_ids_per_test_and_the_file_follows(tmp_path: Path) -> None:
    path = tmp_path / "run_id.txt"
    config = ExporterConfig(run_id="base", run_id_file=str(path))
    runs = RunIds(config.run_id)
    assert runs.next_test(config) is None  # the first test keeps the id given
    second = runs.next_test(config)
    third = runs.next_test(config)
    assert second is not None and third is not None
    assert (second.run_id, third.run_id) == ("base-2", "base-3")
    assert path.read_text() == "base-3\n"


def test_run_id_file_that_cannot_be_rewritten_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = ExporterConfig(run_id="b", run_id_file=str(tmp_path / "absent" / "id.txt"))
    runs = RunIds("b")
    runs.next_test(config)
    with caplog.at_level(logging.WARNING):
        assert runs.next_test(config).run_id == "b-2"  # type: ignore[union-attr]
    assert "cannot write --prometheus-run-id-file" in caplog.text


def test_worker_wait_ends_when_every_worker_reported_after_stop() -> None:
    reports = WorkerReports(wait=5.0)
    done: list[float] = []
    stopped = time.time()
    reports.reported("w1")  # a report from before the stop does not count...
    reports._reports["w1"] = stopped - 1
    reports.then(stopped, {"w1", "w2"}, lambda: done.append(time.monotonic()))
    gevent.sleep(0.2)
    assert not done
    reports.reported("w1")
    reports.reported("w2")
    started = time.monotonic()
    while not done and time.monotonic() - started < 5.0:
        gevent.sleep(0.01)
    assert done and done[0] - started < 2.5  # at the last report, not at the 5 s bound
    assert reports.cancel() is False  # it already ran: nothing was pending


def test_worker_wait_is_bounded_and_cancel_stops_it() -> None:
    reports = WorkerReports(wait=0.2)
    done: list[bool] = []
    began = time.monotonic()
    reports.then(time.time(), {"gone"}, lambda: done.append(True))
    while not done and time.monotonic() - began < 5.0:
        gevent.sleep(0.01)
    assert done == [True]  # a worker that never reports delays the push by `wait` only
    reports.then(time.time(), {"gone"}, lambda: done.append(True))
    assert reports.cancel() is True
    gevent.sleep(0.3)
    assert done == [True]


def test_connected_workers_count_even_before_their_first_report() -> None:
    class Node:
        def __init__(self, id: str) -> None:
            self.id = id

    runner: Any = type("R", (), {"clients": type("C", (), {"all": [Node("a"), Node("b")]})()})()
    reports = WorkerReports()
    reports.reported("c")
    assert reports.workers(runner) == {"a", "b", "c"}
    reports.new_test()
    assert reports.workers(None) == set()


@pytest.mark.parametrize(("json_file", "kept"), [(None, False), ("out", True)])
def test_quitting_copy_only_when_locusts_json_output_will_zero_the_stats(
    json_file: str | None, kept: bool
) -> None:
    env = Environment(user_classes=[U])
    env.create_local_runner()
    env.parsed_options = type("O", (), {"json": False, "json_file": json_file})()  # type: ignore[assignment]
    exp = PrometheusExporter(ExporterConfig(run_id="r"))
    exp.register(env)
    env.events.quitting.fire(environment=env)
    assert (exp.renderer._quitting_snapshot is not None) is kept


class _Clients(dict):  # type: ignore[type-arg]
    @property
    def all(self) -> list[Any]:
        return list(self.values())


def test_a_masters_quit_waits_for_its_workers_last_reports_first() -> None:
    """The end of -t: Locust's MasterRunner.quit gives the workers' last reports 0.5 s only. The
    exporter's quit tells the workers first and waits until each has left (its quit message
    follows its last report), then runs Locust's own quit."""
    env = Environment(user_classes=[U])
    events: list[str] = []

    class Node:
        def __init__(self, id: str) -> None:
            self.id = id

    clients = _Clients(w1=Node("w1"), w2=Node("w2"))

    class Server:
        def send_to_client(self, message: Any) -> None:
            events.append(f"{message.type} {message.node_id}")
            # the worker reports and leaves a little later, as over the network
            gevent.spawn_later(0.3, clients.pop, message.node_id)

    class Master:
        state = "running"
        server = Server()

        def __init__(self) -> None:
            self.clients = clients

        def stop(self, send_stop_to_client: bool = True) -> None:
            events.append(f"stop {send_stop_to_client}")
            self.state = "stopped"

        def quit(self) -> None:
            events.append(f"locust quit, workers left: {sorted(clients)}")

    env.runner = Master()  # type: ignore[assignment]
    PrometheusExporter(ExporterConfig(run_id="r")).register(env)
    env.runner.quit()  # type: ignore[union-attr]
    assert sorted(events[:3]) == ["quit w1", "quit w2", "stop False"] and events[0] == "stop False"
    # Locust's own quit ran only once both workers had left (so had sent their last reports)
    assert events[3:] == ["locust quit, workers left: []"]


def test_a_local_runners_quit_is_locusts_own() -> None:
    env = Environment(user_classes=[U])
    env.create_local_runner()
    quit_before = env.runner.quit  # type: ignore[union-attr]
    PrometheusExporter(ExporterConfig(run_id="r")).register(env)
    assert env.runner.quit == quit_before  # type: ignore[union-attr]


def test_quitting_copy_is_taken_again_at_test_stop_with_the_end_time() -> None:
    """After SIGTERM a local runner stops its users (their last requests count) only after
    quitting: the copy pushed once Locust's JSON output zeroed the statistics is test_stop's."""
    env = Environment(user_classes=[U])
    env.create_local_runner()
    env.parsed_options = type("O", (), {"json": False, "json_file": "out"})()  # type: ignore[assignment]
    exp = PrometheusExporter(ExporterConfig(run_id="r"))
    exp.register(env)
    env.runner.stats.log_request("GET", "/", 5, 1)  # type: ignore[union-attr]
    env.events.quitting.fire(environment=env)
    assert exp.renderer._quitting_snapshot is not None
    assert exp.renderer._quitting_snapshot.end_time is None  # test_stop has not fired yet
    env.runner.stats.log_request("GET", "/", 5, 1)  # type: ignore[union-attr]
    env.events.test_stop.fire(environment=env)
    kept = exp.renderer._quitting_snapshot
    assert kept.total.num_requests == 2
    assert kept.end_time == exp.end_time is not None


def test_a_second_locust_shutdown_waits_for_the_first_and_the_quit_path_runs_once() -> None:
    """After SIGTERM Locust runs shutdown() in the signal's greenlet and, as soon as that
    yields, again in its main greenlet. The second stops at quitting until the first is done
    (whose sys.exit ends the process), a greenlet of its own for good."""
    sent: list[str] = []

    def handler(url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
        return lambda: sent.append(method)

    env = Environment(user_classes=[U])
    env.create_local_runner()
    config = ExporterConfig(pushgateway="http://gw", run_id="r", linger=0.3)
    exp = PrometheusExporter(config, handler=handler)
    exp.register(env)
    order: list[str] = []

    def shutdown(name: str) -> None:
        env.events.quitting.fire(environment=env, reverse=True)
        order.append(f"{name} after quitting")
        env.events.quit.fire(exit_code=0)
        order.append(f"{name} after quit")

    first = gevent.spawn(shutdown, "first")
    gevent.sleep(0.05)  # the first is in its linger now
    second = gevent.spawn(shutdown, "second")
    first.join(timeout=5)
    gevent.sleep(0.2)
    assert first.successful() and not second.dead
    second.kill()
    assert order == ["first after quitting", "first after quit"]
    assert sent == ["PUT", "DELETE"]  # one final push, one delete
    assert exp.shutdown.entered == 2


def test_a_second_shutdown_waits_boundedly(caplog: pytest.LogCaptureFixture) -> None:
    once = ShutdownOnce()
    assert once.enter(bound=5) is True
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="locust_prometheus"):
        assert once.enter(bound=0.2) is False
    assert 0.2 <= time.monotonic() - started < 2
    assert "did not finish within 0.2s" in caplog.text
    once.finished()
    assert once.enter(bound=5) is False and once.done


def test_ctrl_c_in_the_push_loop_reaches_the_main_greenlet_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGINT raises KeyboardInterrupt in whichever greenlet runs, often the push loop reading
    an answer: Locust's main greenlet must get it (to shut down), with no greenlet 'failed'."""

    def handler(url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
        def send() -> None:
            raise KeyboardInterrupt

        return send

    printed: list[Any] = []
    monkeypatch.setattr(gevent.get_hub(), "print_exception", lambda *a: printed.append(a))
    env = Environment(user_classes=[U])
    env.create_local_runner()
    exp = PrometheusExporter(ExporterConfig(pushgateway="http://gw", run_id="r"), handler=handler)
    exp.environment = env
    exp.channel.start_loop()
    with pytest.raises(KeyboardInterrupt):
        gevent.sleep(5)  # the main greenlet, as in Locust's main_greenlet.join()
    exp.channel.stop_loop()
    assert printed == []

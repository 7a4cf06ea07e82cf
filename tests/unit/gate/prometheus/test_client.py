"""``PrometheusClient`` against a real HTTP server on 127.0.0.1: what it sends, what it makes of
each kind of answer, which failures it retries, and that no credential reaches a message."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from gate_fakeprom import JsonHandler, Reply, error, serving, vector
from promgate.errors import PrometheusUnavailable, QueryError, QuerySyntaxError, UsageError
from promgate.prometheus.client import PrometheusClient, build_session, normalize_url
from promgate.prometheus.settings import PrometheusSettings


@dataclass
class Recorder:
    """The server's side: the answers to give, in turn (the last one repeats), and the requests."""

    url: str = ""
    answers: list[Reply | tuple[int, bytes]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    params: list[dict[str, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def next_answer(self) -> Reply | tuple[int, bytes]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture()
def server() -> Iterator[Recorder]:
    rec = Recorder()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            rec.paths.append(parsed.path)
            rec.params.append({k: v[0] for k, v in parse_qs(parsed.query).items()})
            rec.headers.append(dict(self.headers.items()))
            status, body = rec.next_answer()
            if isinstance(body, bytes):
                self.send_body(status, body, "text/html")
            else:
                self.send_json(status, body)

    with serving(Handler) as url:
        rec.url = url
        yield rec


def client(url: str, **kw: Any) -> PrometheusClient:
    return PrometheusClient(url, retries=kw.pop("retries", 3), retry_wait=0.0, **kw)


def matrix(*values: float) -> Reply:
    points = [[1000.0 + i, str(v)] for i, v in enumerate(values)]
    data = {"resultType": "matrix", "result": [{"metric": {"name": "/a"}, "values": points}]}
    return 200, {"status": "success", "data": data}


def test_urls_are_normalized_or_refused() -> None:
    assert normalize_url("localhost:9090") == "http://localhost:9090"
    assert normalize_url(" HTTPS://prom.example:443/ ") == "https://prom.example:443"
    for bad in ("ftp://prom:21", "http://", "://prom"):
        with pytest.raises(UsageError, match="bad Prometheus URL"):
            normalize_url(bad)
    shown = PrometheusClient("http://user:hunter22@127.0.0.1:9").shown_url
    assert "hunter22" not in shown and shown == "http://***@127.0.0.1:9"


def test_an_instant_query_sends_its_time_and_keeps_nan(server: Recorder) -> None:
    server.answers = [vector(({"name": "/a"}, "0.25"), ({"name": "/b"}, "NaN"))]
    samples = client(server.url).query('up{job="x"}', at=1234.5)
    assert server.paths == ["/api/v1/query"]
    assert server.params == [{"query": 'up{job="x"}', "time": "1234.500"}]
    by_name = {s.labels["name"]: s.value for s in samples}
    assert by_name["/a"] == 0.25 and math.isnan(by_name["/b"])


def test_a_range_query_asks_for_its_span_and_step(server: Recorder) -> None:
    server.answers = [matrix(1.0, 2.0, 3.0)]
    (series,) = client(server.url).query_range("rate(x[1m])", 1000.0, 1002.0, 1.0)
    assert server.paths == ["/api/v1/query_range"]
    assert server.params[0] == {
        "query": "rate(x[1m])",
        "start": "1000.000",
        "end": "1002.000",
        "step": "1",
    }
    assert series.labels == {"name": "/a"} and [v for _, v in series.points] == [1.0, 2.0, 3.0]


def test_a_range_vector_where_a_check_needs_an_instant_one_is_a_query_error(
    server: Recorder,
) -> None:
    server.answers = [matrix(1.0)]
    with pytest.raises(QueryError, match="instant vector or scalar"):
        client(server.url).query("x[5m]")
    assert len(server.paths) == 1  # not worth retrying


def test_a_rejected_query_is_a_syntax_error_asked_once(server: Recorder) -> None:
    server.answers = [error(400, "bad_data", "parse error at char 3")]
    with pytest.raises(QuerySyntaxError, match="parse error at char 3"):
        client(server.url).query("sum(")
    assert len(server.paths) == 1


def test_a_failing_server_is_retried_a_bounded_number_of_times(server: Recorder) -> None:
    server.answers = [error(503, "unavailable", "busy")]
    with pytest.raises(PrometheusUnavailable, match="after 3 attempts"):
        client(server.url, retries=3).query("up")
    assert len(server.paths) == 3


def test_a_server_that_recovers_answers(server: Recorder) -> None:
    server.answers = [error(503, "unavailable", "busy"), error(429, "", "slow down"), vector()]
    assert client(server.url, retries=3).query("up") == []
    assert len(server.paths) == 3


def test_a_page_that_is_not_the_api_says_so(server: Recorder) -> None:
    server.answers = [(200, b"<html>Grafana</html>")]
    with pytest.raises(PrometheusUnavailable, match="not a Prometheus API"):
        client(server.url).query("up")
    assert len(server.paths) == 1


def test_refused_access_never_prints_the_token(server: Recorder) -> None:
    token = "s3cret-bearer-token"
    server.answers = [error(401, "unauthorized", f"bad token {token}")]
    settings = PrometheusSettings(bearer_token=token, retries=1, headers={"X-Scope-OrgID": "t1"})
    prom = PrometheusClient.from_settings(server.url, settings)
    with pytest.raises(PrometheusUnavailable, match="refused access") as err:
        prom.query("up")
    assert token not in str(err.value) and "***" in str(err.value)
    assert server.headers[0]["Authorization"] == f"Bearer {token}"
    assert server.headers[0]["X-Scope-OrgID"] == "t1"
    assert server.headers[0]["User-Agent"] == "promgate"


def test_prometheus_warnings_are_kept_once_each(server: Recorder) -> None:
    reply: Callable[[], Reply] = lambda: (  # noqa: E731
        200,
        {
            "status": "success",
            "warnings": ["partial response: store down"],
            "data": {"resultType": "vector", "result": []},
        },
    )
    server.answers = [reply()]
    prom = client(server.url)
    prom.query("up")
    prom.query("up")
    assert len(prom.warnings) == 1 and "partial response: store down" in prom.warnings[0]


def test_a_session_carries_basic_auth_beyond_ascii_and_refuses_a_missing_token_file(
    tmp_path: Any,
) -> None:
    session = build_session(PrometheusSettings(username="jürgen", password="pässword"))
    assert session.auth == ("jürgen".encode(), "pässword".encode())  # UTF-8, as Prometheus reads
    with pytest.raises(UsageError, match="cannot read bearer_token_file"):
        build_session(PrometheusSettings(bearer_token_file=str(tmp_path / "missing")))

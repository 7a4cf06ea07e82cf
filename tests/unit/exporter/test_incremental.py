"""Push after push, the exporter re-encodes only endpoints whose numbers changed; the payload
must be the very text a fresh encoder writes, and the samples prometheus_client's."""

from __future__ import annotations

from typing import Any

from exporter_support import stats_env
from locust.env import Environment
from locust_prometheus import PrometheusExporter
from locust_prometheus.chunks import ChunkCache
from locust_prometheus.exposition import Health, encode, families
from locust_prometheus.model import CardinalityGuard, Distributions, build_model
from locust_prometheus.options import ExporterConfig
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

# Percent signs must stay literal in the cached %-templates; the rest as in test_exposition.
NAMES = ["/a%20b", "%s", "%%d", 'q"\\\n', "ünï ☃", "", "/x/{id}", "/quiet"]


def _env() -> Environment:
    return stats_env(NAMES, (1, 7, 55, 99.6, 240, 1234), live_window=True)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


class _Pushes:
    """The exporter's renderer state (guard, distributions, chunks) carried from push to push."""

    def __init__(self, env: Environment) -> None:
        self.exp = PrometheusExporter(ExporterConfig(run_id="r", labels={"team": "qa"}))
        self.exp.environment = env
        self.dist = Distributions()
        self.chunks = ChunkCache()

    def push(self, health: Health) -> tuple[str, str, str]:
        """(incremental payload, fresh payload, prometheus_client's) of one snapshot."""
        snap = self.exp.snapshot()  # the renderer's: it reuses copies of unchanged endpoints
        info = self.exp.renderer.info
        lean = encode(
            build_model(snap, self.exp.renderer.guard, self.dist), info, health, self.chunks
        )
        fresh = encode(build_model(snap, CardinalityGuard(1000)), info, health)
        model = build_model(snap, CardinalityGuard(1000))

        class C(Collector):
            def collect(self) -> Any:
                return families(model, info, health)

        return lean.decode(), fresh.decode(), generate_latest(C()).decode()


def test_incremental_pushes_equal_a_fresh_encoder_and_prometheus_client() -> None:
    env = _env()
    stats = env.runner.stats  # type: ignore[union-attr]
    pushes = _Pushes(env)
    steps = [
        lambda: None,  # the first push: everything formatted
        lambda: None,  # nothing changed: everything reused
        lambda: [stats.log_request("GET", n, 300 + i, 7) for i, n in enumerate(NAMES[:3])],
        lambda: stats.log_request("POST", "/new%endpoint", 12, 5),  # a new endpoint
        lambda: stats.log_error("GET", "/quiet", "ConnectionError('refused')"),  # failures only
        lambda: stats.log_request("GET", "/x/{id}", None, 0),  # a request without a time
        stats.reset_all,  # Locust's --reset-stats: new, empty response-time dicts
        lambda: [stats.log_request("GET", n, 7, 1) for n in NAMES],  # counts as before a reset
    ]
    for i, step in enumerate(steps):
        step()
        health = Health(pushes=i, failures=0, last_duration=0.125 * i, last_bytes=1000 * i)
        lean, fresh, reference = pushes.push(health)
        assert lean == fresh, f"push {i}: incremental text differs from a fresh encoding"
        assert _samples(lean) == _samples(reference), f"push {i}"
    # the incremental path was taken, not only the first push's formatting
    assert pushes.chunks.reused > pushes.chunks.formatted / 2
    got = _samples(lean)
    # after the reset: one request per name, the new endpoint's count gone with the reset
    assert got[("locust_requests_total", (("method", "GET"), ("name", "/quiet")))] == 1
    assert got[("locust_requests_total", (("method", "POST"), ("name", "/new%endpoint")))] == 0


def test_renderer_keeps_its_caches_between_pushes() -> None:
    env = _env()
    exp = PrometheusExporter(ExporterConfig(run_id="r"))
    exp.environment = env
    before = exp.snapshot()
    first = exp.render()
    formatted = exp.renderer.chunks.formatted
    second = exp.render()
    assert exp.renderer.chunks.formatted == formatted  # nothing changed: all text reused
    after = exp.snapshot()  # and Locust's response times were not copied again
    assert all(
        a.response_times is b.response_times
        for a, b in zip(before.entries, after.entries, strict=True)
    )
    env.runner.stats.log_request("GET", "/quiet", 5, 1)  # type: ignore[union-attr]
    changed = {
        e.name
        for e, b in zip(exp.snapshot().entries, after.entries, strict=True)
        if e.response_times is not b.response_times
    }
    assert changed == {"/quiet"}
    assert _samples(first.decode()) == _samples(second.decode())

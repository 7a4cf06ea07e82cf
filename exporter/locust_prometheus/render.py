"""From Locust's statistics to a payload: snapshot in the gevent loop, encoding off it."""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import gevent

from .chunks import ChunkCache
from .exposition import Health, Unformatted, encode, families, unformatted
from .model import CardinalityGuard, Distributions, build_model
from .snapshot import Copies, RunSnapshot, take_snapshot

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

__all__ = ["GZIP_LEVEL", "Renderer"]

#: zlib level of gzipped payloads (push and /metrics). At 1,000 endpoints level 1 costs less
#: than half the CPU of level 5 for a payload ~20 % larger (265 KB against 222 KB of 4.8 MB).
GZIP_LEVEL = 1


class Renderer:
    """Renders one run's metrics; holds the cardinality guard, so kept endpoints stay stable."""

    def __init__(self, max_endpoints: int) -> None:
        self.guard = CardinalityGuard(max_endpoints)
        self.environment: Any = None
        #: the labels of locust_run_info
        self.info: Mapping[str, str] = {}
        self._quitting_snapshot: RunSnapshot | None = None
        #: endpoints' text from earlier pushes, reused when their numbers did not change
        self.chunks = ChunkCache()
        #: endpoints' buckets and percentiles from earlier pushes, likewise
        self.distributions = Distributions()
        #: Locust's response times copied at earlier snapshots, reused while unchanged
        self.copies: Copies = {}
        #: when the snapshot of the last ``render`` was taken (remote write's sample timestamp)
        self.taken_at = 0.0

    def snapshot(self, *, final: bool = False, end_time: float | None = None) -> RunSnapshot:
        """Locust's statistics now; call from the gevent loop (it does not yield)."""
        return take_snapshot(self.environment, final=final, end_time=end_time, copies=self.copies)

    def keep_quitting_snapshot(self, end_time: float | None) -> None:
        """Locust's --json/--json-file zero every endpoint at shutdown (serialize_stats uses
        get_stripped_report); a copy taken at the quitting event still has them."""
        self._quitting_snapshot = self.snapshot(final=True, end_time=end_time)

    def refresh_quitting_snapshot(self, end_time: float | None) -> None:
        """Take a copy kept at quitting again (at test_stop): after SIGTERM or Ctrl-C a local
        runner stops its users only after quitting, and their last requests count."""
        if self._quitting_snapshot is not None:
            self.keep_quitting_snapshot(end_time)

    def encode(self, snapshot: RunSnapshot, health: Health) -> bytes:
        """Payload for ``snapshot``; CPU-bound, so run it off the loop (see ``render``)."""
        model = build_model(snapshot, self.guard, self.distributions)
        return encode(model, self.info, health, self.chunks)

    def render(
        self, health: Health, *, final: bool, end_time: float | None, compress: bool
    ) -> bytes:
        """Snapshot in the loop, encode in a native thread, so the loop keeps serving users."""
        snap = self._snapshot_to_send(final, end_time)
        work: Callable[[], bytes] = lambda: self.encode_maybe_gzip(snap, health, compress)  # noqa: E731
        return gevent.get_hub().threadpool.apply(work)  # type: ignore[no-any-return]

    def render_unformatted(
        self, health: Health, *, final: bool, end_time: float | None
    ) -> Unformatted:
        """``render``'s samples for remote write, the endpoints' as values, not text."""
        snap = self._snapshot_to_send(final, end_time)
        work: Callable[[], Unformatted] = lambda: unformatted(  # noqa: E731
            build_model(snap, self.guard, self.distributions), self.info, health
        )
        return gevent.get_hub().threadpool.apply(work)  # type: ignore[no-any-return]

    def _snapshot_to_send(self, final: bool, end_time: float | None) -> RunSnapshot:
        snap = self.snapshot(final=final, end_time=end_time)
        if final and self._quitting_snapshot is not None and _stripped(snap):
            snap = self._quitting_snapshot
            if snap.end_time is None and end_time is not None:
                snap = dataclasses.replace(snap, end_time=end_time)  # kept before test_stop
        self.taken_at = snap.taken_at
        return snap

    def encode_maybe_gzip(self, snap: RunSnapshot, health: Health, compress: bool) -> bytes:
        data = self.encode(snap, health)
        # zlib releases the GIL while it works, so compression also stays off the loop.
        return gzip.compress(data, compresslevel=GZIP_LEVEL) if compress else data

    def collector(
        self, health: Callable[[], Health], end_time: Callable[[], float | None]
    ) -> Collector:
        """A prometheus_client collector of the same metrics (for a registry of your own)."""
        from prometheus_client.registry import Collector

        renderer = self

        class _Collector(Collector):
            def collect(self) -> Iterable[Any]:
                ended = end_time()
                snap = renderer.snapshot(final=ended is not None, end_time=ended)
                return families(build_model(snap, renderer.guard), renderer.info, health())

        return _Collector()


def _stripped(snap: RunSnapshot) -> bool:
    return snap.total.num_requests > sum(e.num_requests for e in snap.entries)

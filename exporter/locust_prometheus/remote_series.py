"""From the exporter's samples to remote-write series: only what changed since the last send.

The Pushgateway path and the remote-write path share one renderer (``render.Renderer``): the same
families, names and labels come out of ``exposition`` for both. The endpoints' samples, ~44 a
endpoint and nearly all of a payload, come as values (``exposition.Unformatted``): an endpoint
whose values equal the last batch's has no changed series and is skipped at once, and in the
others only the families, then the positions, whose values differ are sent. Their text is never
written: each position's series is ``exposition.endpoint_series``' (what the text templates are
made from too), its labels serialized the first time it is sent. The other families (errors,
run-wide) come as text: each line is one series, and a line that is byte for byte in the
previous payload is a series whose value did not change; its labels are parsed (and
serialized) once, the first time it is sent.
"""

from __future__ import annotations

import functools
import re
import struct
from itertools import compress
from operator import ne

from .exposition import EndpointSeries, EndpointValues, Unformatted
from .remote_write_proto import STALE_NAN, frame_labels, sample_tail, series_head

__all__ = ["FULL_SEND_MS", "Batch", "SeriesDelta", "parse_series_key"]

#: A send of every series at least this often (ms), changed or not: Prometheus ends a series
#: whose last sample is older than 5 minutes (its lookback), and range panels such as
#: ``rate(...[1m])`` need a sample in every minute. 60 s keeps both with a margin.
FULL_SEND_MS = 60_000

#: Series sent in every batch, changed or not: the gate measures the send interval from the
#: samples of the run's timestamps, as it measures a scrape interval.
ALWAYS_SENT = (b"locust_run_start_timestamp_seconds", b"locust_run_end_timestamp_seconds")
_PUSH_TIME = b"push_time_seconds"
_HASH = ord("#")

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"n": "\n", "\\": "\\", '"': '"'}

#: (a serialized WriteRequest, its number of series)
Batch = tuple[bytes, int]
_DOUBLE = struct.Struct("<d").pack


@functools.lru_cache(maxsize=4)
def _sample_tail(stamp: int) -> bytes:
    return sample_tail(stamp)


def parse_series_key(key: str) -> list[tuple[str, str]]:
    """``name{a="x",b="y"}`` (the text format's series part) as label pairs with ``__name__``;
    the inverse of exposition's escaping."""
    name, brace, rest = key.partition("{")
    pairs = [("__name__", name)]
    if brace:
        for label, value in _LABEL.findall(rest):
            pairs.append((label, _UNESCAPE.sub(lambda m: _UNESCAPED.get(m[1], m[0]), value)))
    return pairs


class SeriesDelta:
    """The series of one run: what to send for each new payload, and the end markers."""

    def __init__(self, job: str, run_id: str) -> None:
        # The Pushgateway's grouping key, which Prometheus keeps (honor_labels) on every series.
        self._group = (("job", job), ("run_id", run_id))
        #: the serialized labels of every series sent in this run (an ordered set)
        self._sent: dict[bytes, None] = {}
        #: series text -> serialized labels, for the families that come as text
        self._labels: dict[bytes, bytes] = {}
        #: the previous payload's lines of the families that come as text
        self._previous: list[bytes] = []
        #: the previous payload's endpoints: label text -> values
        self._values: dict[str, EndpointValues] = {}
        #: label text -> each family's heads (None until sent), for _series and _sample_size
        self._endpoints: dict[str, list[tuple[bytes, ...] | None]] = {}
        self._series: tuple[tuple[EndpointSeries, ...], ...] = ()
        self._last_full = -FULL_SEND_MS
        #: timestamp (ms) of the last batch; each batch is later than the one before
        self.last_stamp = 0
        self.full_next = True
        #: series text -> its bytes up to the sample's value, for samples of _sample_size bytes
        self._heads: dict[bytes, bytes] = {}
        self._sample_size = 0

    def stamp(self, seconds: float) -> int:
        """The batch's timestamp in ms: the master's snapshot time, kept strictly increasing
        (a snapshot copied at quitting can be older than the last live one, and a receiver
        rejects a sample older than the series' last as out of order)."""
        stamp = max(int(seconds * 1000), self.last_stamp + 1)
        self.last_stamp = stamp
        return stamp

    def batch(self, payload: bytes | Unformatted, seconds: float, *, full: bool = False) -> Batch:
        """The series of ``payload`` (the text format, or ``exposition.unformatted``'s) that
        changed since the last batch, or all of them when ``full``, a full send is due, or an
        earlier batch was lost: the serialized ``WriteRequest`` and its number of series."""
        stamp = self.stamp(seconds)
        full = full or self.full_next or stamp - self._last_full >= FULL_SEND_MS
        if full:
            self._last_full = stamp
            self.full_next = False
        if isinstance(payload, bytes):
            payload = Unformatted(series=self._series, endpoints=[], other=payload)
        out = bytearray()
        head, tail = self._heads_for(stamp), _sample_tail(stamp)
        count = self._endpoint_series(payload, full, out, tail)
        count += self._text_series(payload.other, full, out, head, tail)
        # The Pushgateway's own per-group timestamp, which the gate and the rules read.
        out += head.get(_PUSH_TIME) or self._head(_PUSH_TIME)
        out += _DOUBLE(stamp / 1000.0)
        out += tail
        return bytes(out), count + 1

    def _endpoint_series(
        self, payload: Unformatted, full: bool, out: bytearray, tail: bytes
    ) -> int:
        if payload.series != self._series:  # other percentiles: other series at each position
            self._series, self._values, self._endpoints = payload.series, {}, {}
        previous = self._values
        self._values = {labels: values for labels, _, values in payload.endpoints}
        endpoints, pack, count = self._endpoints, _DOUBLE, 0
        for labels, pairs, values in payload.endpoints:
            old = previous.get(labels)
            if old == values and not full:
                continue
            heads = endpoints.get(labels)
            if heads is None:
                heads = endpoints[labels] = [None] * len(values)
            whole = full or old is None or len(old) != len(values)
            for f, vals in enumerate(values):
                if not vals:
                    continue
                was = () if whole else old[f]  # type: ignore[index]
                if vals == was:
                    continue
                hs = heads[f] or self._family(heads, f, pairs)
                if len(was) != len(vals):  # new, or a family that appears (the live window's)
                    for h, v in zip(hs, vals, strict=True):
                        out += h
                        out += pack(float(v))  # type: ignore[arg-type]
                        out += tail
                    count += len(vals)
                    continue
                # Only the positions whose value changed, found in C.
                for i in compress(range(len(vals)), map(ne, vals, was)):
                    out += hs[i]
                    out += pack(float(vals[i]))  # type: ignore[arg-type]
                    out += tail
                    count += 1
        return count

    def _family(
        self, heads: list[tuple[bytes, ...] | None], f: int, pairs: tuple[tuple[str, str], ...]
    ) -> tuple[bytes, ...]:
        """The heads of an endpoint's family ``f``, made when it is first sent (``stale`` ends
        only series that were sent)."""
        group, size, sent = self._group, self._sample_size, self._sent
        made = []
        for name, extra in self._series[f]:
            labels = frame_labels(sorted([("__name__", name), *pairs, *extra, *group]))
            sent[labels] = None
            made.append(series_head(labels, size))
        heads[f] = result = tuple(made)
        return result

    def _text_series(
        self, payload: bytes, full: bool, out: bytearray, head: dict[bytes, bytes], tail: bytes
    ) -> int:
        lines = payload.split(b"\n")
        previous = self._previous
        self._previous = lines
        if len(previous) != len(lines):
            # Another layout (an error or a worker came or went): the same line anywhere in the
            # previous payload is an unchanged series. Costlier (every line hashed), so only then.
            seen = set(previous)
            previous = [line if line in seen else b"" for line in lines]
        count = 0
        # Line by line against the previous payload: the same layout puts a series on the same
        # line, and equal bytes compare by length and memcmp, with no hashing of every line.
        for line, old in zip(lines, previous, strict=True):
            if (line == old and not full and not line.startswith(ALWAYS_SENT)) or (
                not line or line[0] == _HASH
            ):
                continue
            key, _, value = line.rpartition(b" ")
            out += head.get(key) or self._head(key)
            out += _DOUBLE(float(value))
            out += tail
            count += 1
        return count

    def _heads_for(self, stamp: int) -> dict[bytes, bytes]:
        size = len(_sample_tail(stamp)) + 9
        if size != self._sample_size:  # a timestamp of another varint length: not before 2109
            self._heads.clear()
            self._endpoints.clear()
            self._sample_size = size
        return self._heads

    def _head(self, key: bytes) -> bytes:
        """A series' bytes up to its sample's value: framing, labels (parsed and serialized
        once per series), the sample's tag. See ``remote_write_proto.series_head``."""
        labels = self._labels.get(key)
        if labels is None:
            pairs = sorted([*parse_series_key(key.decode("utf-8")), *self._group])
            labels = self._labels[key] = frame_labels(pairs)
        self._sent[labels] = None
        head = self._heads[key] = series_head(labels, self._sample_size)
        return head

    def stale(self) -> Batch:
        """A staleness marker for every series of the run, just after its last sample: the
        series end there, as a scraped target's do when it disappears."""
        stamp = self.last_stamp + 1
        self.last_stamp = stamp
        self._heads_for(stamp)
        tail, size = _sample_tail(stamp), self._sample_size
        out = bytearray()
        marker = _DOUBLE(STALE_NAN)
        for labels in self._sent:
            out += series_head(labels, size)
            out += marker
            out += tail
        return bytes(out), len(self._sent)

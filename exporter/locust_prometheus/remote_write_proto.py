"""Prometheus Remote-Write 1.0's ``WriteRequest``, declared for the protobuf runtime.

The message is declared here as a descriptor (no ``protoc`` step, no generated file to keep in
step with the runtime): protobuf's C implementation (upb) encodes it. The payload on the wire is
the serialized message compressed with snappy's block format (cramjam). See docs/exporter.md for
why these two packages.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "STALE_NAN",
    "compress",
    "encode_write_request",
    "frame_labels",
    "is_stale_nan",
    "labels_bytes",
    "messages",
    "sample_tail",
    "series_head",
]

#: Prometheus's staleness marker: a NaN with this exact bit pattern ends a series.
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
_STALE_BITS = 0x7FF0000000000002


def is_stale_nan(value: float) -> bool:
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == _STALE_BITS


@functools.cache
def messages() -> tuple[Any, Any]:
    """The ``WriteRequest`` and ``TimeSeries`` classes. Declared on first use: protobuf's
    import costs ~50 ms, which a Locust process pushing to a Pushgateway need not pay."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(
        name="locust_prometheus/remote.proto", package="prometheus", syntax="proto3"
    )
    t = descriptor_pb2.FieldDescriptorProto
    rep, opt = t.LABEL_REPEATED, t.LABEL_OPTIONAL

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        m = f.message_type.add(name=name)
        for fname, number, label, ftype, type_name in fields:
            field = m.field.add(name=fname, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name

    message("Label", ("name", 1, opt, t.TYPE_STRING, ""), ("value", 2, opt, t.TYPE_STRING, ""))
    message("Sample", ("value", 1, opt, t.TYPE_DOUBLE, ""), ("timestamp", 2, opt, t.TYPE_INT64, ""))
    message(
        "TimeSeries",
        ("labels", 1, rep, t.TYPE_MESSAGE, ".prometheus.Label"),
        ("samples", 2, rep, t.TYPE_MESSAGE, ".prometheus.Sample"),
    )
    message("WriteRequest", ("timeseries", 1, rep, t.TYPE_MESSAGE, ".prometheus.TimeSeries"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
        for name in ("WriteRequest", "TimeSeries")
    )


def labels_bytes(labels: Sequence[tuple[str, str]]) -> bytes:
    """The serialized labels of one series, by protobuf: the reference for ``frame_labels``
    (the exporter's, ~10x cheaper) and for ``encode_write_request``'s callers, who cache it
    (a series' labels never change, and merging bytes costs far less than building Label
    messages on every send)."""
    ts = messages()[1]()
    for name, value in labels:
        ts.labels.add(name=name, value=value)
    return bytes(ts.SerializeToString())


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# The exporter's hot path writes the WriteRequest's framing itself, around labels serialized
# once per series: one repeated field of one fixed message shape, 4-5x cheaper than building
# protobuf messages every send (docs/exporter.md, "Why protobuf and cramjam"); unit tests parse
# the result with protobuf and compare it with encode_write_request's, and the labels' bytes
# with protobuf's own.
#
#   WriteRequest.timeseries (1, bytes) -> TimeSeries: labels (1, repeated Label: name (1),
#   value (2), strings), samples (2, bytes) -> Sample: value (1, double, always written),
#   timestamp (2, varint).


def frame_labels(labels: Sequence[tuple[str, str]]) -> bytes:
    """``labels_bytes(labels)``, framed here: the same bytes (a unit test compares them) for
    ~3x less CPU, as each pair's bytes are cached (a run's series share most of theirs)."""
    return b"".join([_label(name, value) for name, value in labels])


@functools.lru_cache(maxsize=16384)
def _label(name: str, value: str) -> bytes:
    # TimeSeries.labels (1, bytes) -> Label: name (1, string), value (2, string); proto3 leaves
    # out an empty string, so this does too.
    message = _string(1, name) + _string(2, value)
    return b"\x0a" + _varint(len(message)) + message


def _string(field: int, text: str) -> bytes:
    data = text.encode("utf-8")
    return (bytes([field << 3 | 2]) + _varint(len(data)) + data) if data else b""


def series_head(labels: bytes, sample_size: int) -> bytes:
    """One series' bytes in a WriteRequest up to its sample's 8 value bytes, for a sample of
    ``sample_size`` bytes (``len(sample_tail(ts)) + 9``)."""
    sample = _length(sample_size)
    return (
        b"\x0a"
        + _length(len(labels) + 1 + len(sample) + sample_size)
        + labels
        + b"\x12"
        + sample
        + b"\x09"
    )


@functools.lru_cache(maxsize=4096)
def _length(n: int) -> bytes:
    # A series' length: a few hundred values recur across a run's ~44 series per endpoint.
    return _varint(n)


def sample_tail(stamp: int) -> bytes:
    """A sample's bytes after its value: the timestamp field (ms)."""
    return b"\x10" + _varint(stamp)


def compress(raw: bytes) -> bytes:
    """Snappy's block format, as remote write wants it (cramjam)."""
    import cramjam

    return bytes(cramjam.snappy.compress_raw(raw))


def encode_write_request(series: Iterable[tuple[bytes, Sequence[tuple[float, int]]]]) -> bytes:
    """The snappy-compressed ``WriteRequest`` (the remote-write HTTP body) of ``series``:
    (``labels_bytes`` of the series, its samples as (value, timestamp in ms))."""
    import cramjam

    request = messages()[0]()
    add = request.timeseries.add
    for labels, samples in series:
        ts = add()
        ts.MergeFromString(labels)
        for value, stamp in samples:
            ts.samples.add(value=value, timestamp=stamp)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))

"""Remote write's encoding candidates side by side: protobuf (upb) vs pure-protobuf for the
WriteRequest, cramjam vs python-snappy for snappy. Results and the choice: docs/exporter.md.

    .venv/bin/pip install pure-protobuf python-snappy   # the candidates the exporter does not use
    .venv/bin/python bench/bench_remote_write_encoding.py [--series 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import cramjam
from locust_prometheus.remote_series import SeriesDelta
from locust_prometheus.remote_write_proto import encode_write_request, labels_bytes, messages

STAMP = 1_765_000_000_000


def series_labels(n: int) -> list[list[tuple[str, str]]]:
    """Labels like the exporter's: about 50 series (buckets and all) per endpoint."""
    return [
        sorted([("__name__", "locust_request_duration_seconds_bucket"), ("job", "locust"),
                ("run_id", "r-1"), ("method", "GET"), ("name", f"/endpoint/{i // 50}"),
                ("le", str(i % 50))])
        for i in range(n)
    ]  # fmt: skip


def naive(labels: list[list[tuple[str, str]]]) -> bytes:
    request = messages()[0]()
    for i, pairs in enumerate(labels):
        ts = request.timeseries.add()
        for name, value in pairs:
            ts.labels.add(name=name, value=value)
        ts.samples.add(value=float(i), timestamp=STAMP)
    return bytes(request.SerializeToString())


try:  # a candidate only: pure-protobuf reads these annotations at class creation
    from pure_protobuf.annotations import Field, double
    from pure_protobuf.message import BaseMessage

    @dataclass
    class PLabel(BaseMessage):
        name: Annotated[str, Field(1)] = ""
        value: Annotated[str, Field(2)] = ""

    @dataclass
    class PSample(BaseMessage):
        value: Annotated[double, Field(1)] = 0.0
        timestamp: Annotated[int, Field(2)] = 0

    @dataclass
    class PTimeSeries(BaseMessage):
        labels: Annotated[list[PLabel], Field(1)] = field(default_factory=list)
        samples: Annotated[list[PSample], Field(2)] = field(default_factory=list)

    @dataclass
    class PWriteRequest(BaseMessage):
        timeseries: Annotated[list[PTimeSeries], Field(1)] = field(default_factory=list)

    HAVE_PURE = True
except ImportError:
    HAVE_PURE = False


def pure_protobuf(labels: list[list[tuple[str, str]]]) -> bytes | None:
    if not HAVE_PURE:
        return None
    request = PWriteRequest(
        timeseries=[
            PTimeSeries(labels=[PLabel(n, v) for n, v in pairs], samples=[PSample(float(i), STAMP)])
            for i, pairs in enumerate(labels)
        ]
    )
    return bytes(request)


def timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    labels = series_labels(args.series)
    # The exporter's path: the text payload's lines, labels cached, the request framed around.
    text = "".join(
        "{}{{{}}} {}\n".format(
            dict(p)["__name__"], ",".join(f'{k}="{v}"' for k, v in p if k != "__name__"), i
        )
        for i, p in enumerate(labels)
    ).encode()
    framed = SeriesDelta("locust", "r-1")
    framed.batch(text, STAMP / 1000)  # the first send serializes every series' labels
    ms, cached = timed(lambda: [labels_bytes(p) for p in labels])
    print(f"labels serialized once per series: {ms:.0f} ms (first send only)")
    for rep in range(args.repeat):
        batch = [(b, [(float(i), STAMP)]) for i, b in enumerate(cached)]
        t_cached, _ = timed(lambda: encode_write_request(batch))  # noqa: B023
        t_naive, raw = timed(lambda: naive(labels))
        t_framed, _ = timed(lambda: framed.batch(text, STAMP / 1000 + 60 * (rep + 1), full=True))  # noqa: B023
        t_cramjam, c1 = timed(lambda: bytes(cramjam.snappy.compress_raw(raw)))  # noqa: B023
        line = (
            f"exporter (framed, from the text) {t_framed:.0f} ms | "
            f"protobuf cached labels + snappy {t_cached:.0f} ms | protobuf naive {t_naive:.0f} ms"
            f" | {len(raw)} bytes | cramjam {t_cramjam:.1f} ms -> {len(c1)}"
        )
        try:
            import snappy  # python-snappy

            t_snappy, c2 = timed(lambda: snappy.compress(raw))  # noqa: B023
            line += f" | python-snappy {t_snappy:.1f} ms -> {len(c2)} (same: {c1 == c2})"
        except ImportError:
            line += " | python-snappy not installed"
        print(line)
    t_pure, pure = timed(lambda: pure_protobuf(labels))
    print("pure-protobuf:", "not installed" if pure is None else f"{t_pure:.0f} ms")


if __name__ == "__main__":
    main()

"""The Prometheus HTTP API's answers, validated before anything reads them.

An answer of the wrong shape (a sample without ``value``, a timestamp ``"abc"``, ``warnings: 5``,
``values`` as an object) is ``PrometheusUnavailable`` naming what is wrong: exit 3, like any other
server that is not answering as Prometheus does, never a ``KeyError`` deep in the gate (exit 4).
Text from the server (error, warnings, label values) is kept as sent; every output escapes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PrometheusUnavailable
from ..textsafe import MAX_ERROR_TEXT, clip
from .types import Sample, Series

__all__ = ["ApiAnswer", "matrix_series", "parse_answer", "vector_samples"]

_SURROGATE = re.compile("[\ud800-\udfff]")
#: warnings kept from one answer (a server could send millions)
MAX_WARNINGS = 20


@dataclass(frozen=True)
class ApiAnswer:
    """The envelope: ``{"status", "data" | "errorType" + "error", "warnings"}``."""

    ok: bool
    data: Mapping[str, Any]
    error_type: str
    error: str
    warnings: tuple[str, ...]


def _bad(what: str) -> PrometheusUnavailable:
    return PrometheusUnavailable(
        f"malformed Prometheus answer: {what} (is the URL Prometheus's API?)", option="prometheus"
    )


def parse_answer(body: object) -> ApiAnswer | None:
    """The envelope of ``body`` (parsed JSON); None when it is not a Prometheus API answer at
    all (no ``status``), so the caller can say so with the HTTP status."""
    if not isinstance(body, dict) or "status" not in body:
        return None
    raw = body.get("warnings")
    if raw is None:
        warnings: tuple[str, ...] = ()
    elif isinstance(raw, str):  # one warning sent bare: one warning, not one per character
        warnings = (clip(raw),)
    elif isinstance(raw, list):
        warnings = tuple(clip(str(w)) for w in raw[:MAX_WARNINGS])
    else:
        raise _bad(f"warnings is a {type(raw).__name__}, not a list")
    data = body.get("data")
    ok = body["status"] == "success" and isinstance(data, dict)
    return ApiAnswer(
        ok=ok,
        data=data if isinstance(data, dict) else {},
        error_type=clip(str(body.get("errorType") or ""), 100),
        error=clip(str(body.get("error") or ""), MAX_ERROR_TEXT),
        warnings=warnings,
    )


def vector_samples(data: Mapping[str, Any]) -> list[Sample] | None:
    """An instant query's samples (a scalar as one unlabelled sample); None for another type."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return [Sample({}, _point(result, "scalar")[1])]
    if kind != "vector":
        return None
    out = []
    for where, item in _items(result, "vector", "sample"):
        if "value" not in item:
            raise _bad(f"{where} has no value")
        out.append(Sample(_labels(item.get("metric", {}), where), _point(item["value"], where)[1]))
    return out


def matrix_series(data: Mapping[str, Any]) -> list[Series] | None:
    """A range query's series; None when the answer is not a matrix."""
    if data.get("resultType") != "matrix":
        return None
    out = []
    for where, item in _items(data.get("result"), "matrix", "series"):
        values = item.get("values", [])
        if not isinstance(values, list):
            raise _bad(f"{where}: values is not a list")
        points = [_point(v, f"{where} point {j}") for j, v in enumerate(values)]
        out.append(Series(_labels(item.get("metric", {}), where), points))
    return out


def _items(result: object, kind: str, noun: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects of a ``kind`` result, each with its name for errors (``sample 3``); the
    answer is malformed where the result is not a list or an item not an object."""
    if not isinstance(result, list):
        raise _bad(f"{kind} result is not a list")
    for i, item in enumerate(result):
        where = f"{noun} {i}"
        if not isinstance(item, dict):
            raise _bad(f"{where} is not an object")
        yield where, item


def _labels(metric: object, where: str) -> dict[str, str]:
    if not isinstance(metric, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
    ):
        raise _bad(f"{where}: metric is not an object of label strings")
    if any(_SURROGATE.search(k + v) for k, v in metric.items()):  # no UTF-8 output holds one
        raise _bad(f"{where}: a label holds a lone surrogate (\\ud800-\\udfff)")
    return dict(metric)


def _point(pair: object, where: str) -> tuple[float, float]:
    """``[timestamp, "value"]``: a finite timestamp and a value (NaN and ±Inf are values)."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise _bad(f"{where}: value is not a [timestamp, value] pair")
    stamp, text = pair
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        raise _bad(f"{where}: timestamp {clip(str(stamp), 40)!r} is not a number")
    try:
        when = float(stamp)
    except OverflowError:
        raise _bad(f"{where}: timestamp out of range") from None
    if not math.isfinite(when):
        raise _bad(f"{where}: timestamp {when} is not finite")
    if not isinstance(text, str):
        raise _bad(f"{where}: value is a {type(text).__name__}, not a string")
    try:
        value = float(text)
    except ValueError:
        raise _bad(f"{where}: value {clip(text, 40)!r} is not a number") from None
    return when, value

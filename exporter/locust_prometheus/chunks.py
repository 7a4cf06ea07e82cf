"""Each endpoint's lines of one metric family, formatted once per change of its values.

A push at 1,000 endpoints writes ~60,000 lines; most of their text is the series name and the
label set, which never change. Each (family, endpoint) gets a ``%s`` template of its lines once;
a push formats only its numbers, and an endpoint whose numbers did not change since the last push
reuses its text. The text is a function of the template and the values alone, so reuse is exact.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ChunkCache", "Lines"]

#: ``lines(labels)``: the family's lines for one endpoint's label text, one ``%s`` per value.
Lines = Callable[[str], str]


class ChunkCache:
    """Templates and last texts per (family, endpoint labels), for one renderer. A push and a
    /metrics scrape may encode at once in two threads: each entry is replaced whole, by a
    (values, text) pair that belongs together, so either thread's entry is right.

    Values are formatted with ``%s``: ``str`` of an int and the shortest ``repr`` of a float,
    as the Prometheus text format and prometheus_client write them. Each position of a family's
    values keeps its type from push to push (counts are ints, seconds floats), so equal values
    always mean equal text.
    """

    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], str] = {}
        self._last: dict[tuple[str, str], tuple[tuple[object, ...], str]] = {}
        self.formatted = 0
        self.reused = 0

    def text(self, family: str, labels: str, values: tuple[object, ...], lines: Lines) -> str:
        key = (family, labels)
        last = self._last.get(key)
        if last is not None and last[0] == values:
            self.reused += 1
            return last[1]
        template = self._templates.get(key)
        if template is None:
            # A literal % in a label value (an endpoint "/a%20b") must not be a placeholder.
            template = self._templates[key] = lines(labels.replace("%", "%%"))
        text = template % values
        self._last[key] = (values, text)
        self.formatted += 1
        return text

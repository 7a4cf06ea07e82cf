"""Each endpoint's lines, formatted once per change of its numbers.

A push at 1,000 endpoints writes ~60,000 lines; most of their text is the series name and the
label set, which never change. Each endpoint gets ``%s`` templates of its lines (one per metric
family) once; a push formats only the families whose numbers changed, and an endpoint whose
numbers did not change since the last push reuses all its text. The text is a function of the
template and the values alone, so reuse is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

__all__ = ["ChunkCache", "Templates"]

#: ``templates(labels)``: one template per family for an endpoint's label text, one ``%s`` per
#: value.
Templates = Callable[[str], tuple[str, ...]]


class ChunkCache:
    """Templates and last texts per endpoint, for one renderer.

    Values are formatted with ``%s``: ``str`` of an int and the shortest ``repr`` of a float,
    as the Prometheus text format and prometheus_client write them. Each position of a family's
    values keeps its type from push to push (counts are ints, seconds floats), so equal values
    always mean equal text. A push and a /metrics scrape may encode at once in two threads: each
    entry is replaced whole, by values and texts that belong together, so either is right.
    """

    def __init__(self) -> None:
        self._layout: Hashable = None
        self._templates: dict[str, tuple[str, ...]] = {}
        self._last: dict[str, tuple[tuple[tuple[object, ...], ...], tuple[str, ...]]] = {}
        #: endpoints (partly) formatted and wholly reused, for tests and benchmarks
        self.formatted = 0
        self.reused = 0

    def layout(self, layout: Hashable) -> None:
        """What the templates depend on besides the labels (e.g. the percentiles reported)."""
        if layout != self._layout:
            self._layout, self._templates, self._last = layout, {}, {}

    def texts(
        self, labels: str, values: tuple[tuple[object, ...], ...], templates: Templates
    ) -> tuple[str, ...]:
        """Each family's lines of one endpoint; ``()`` values: no lines for that family."""
        last = self._last.get(labels)
        if last is not None and last[0] == values:
            self.reused += 1
            return last[1]
        forms = self._templates.get(labels)
        if forms is None:
            # A literal % in a label value (an endpoint "/a%20b") must not be a placeholder.
            forms = self._templates[labels] = templates(labels.replace("%", "%%"))
        if last is None:
            texts = tuple([form % v if v else "" for form, v in zip(forms, values, strict=True)])
        else:
            old_values, old_texts = last
            texts = tuple(
                [
                    old if v == old_v else (form % v if v else "")
                    for form, v, old_v, old in zip(
                        forms, values, old_values, old_texts, strict=True
                    )
                ]
            )
        self.formatted += 1
        self._last[labels] = (values, texts)
        return texts

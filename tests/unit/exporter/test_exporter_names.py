"""The exporter's public names, as httpx tests its own: ``locust_prometheus.__all__`` is every
public member of the package and nothing else, each importable and named in docs/exporter.md."""

from __future__ import annotations
import __future__

import re
import types
from pathlib import Path

import locust_prometheus

ROOT = Path(__file__).resolve().parents[3]


def test_all_is_every_public_member() -> None:
    public = sorted(
        name
        for name, value in vars(locust_prometheus).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    )
    assert sorted(set(locust_prometheus.__all__) - {"__version__"}) == public


def test_every_exported_name_imports_and_is_documented() -> None:
    page = (ROOT / "docs" / "exporter.md").read_text(encoding="utf-8")
    start = page.index("The public names (`locust_prometheus.__all__`")
    paragraph = page[start : page.index("\n\n", start)]
    assert set(re.findall(r"`(\w+)`", paragraph)) >= set(locust_prometheus.__all__)
    for name in locust_prometheus.__all__:
        assert getattr(locust_prometheus, name) is not None, name

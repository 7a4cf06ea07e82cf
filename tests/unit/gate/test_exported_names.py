"""The public names, as httpx tests its own: ``promgate.__all__`` is every public member of the
package and nothing else, each importable and in docs/gate.md's table of public names; each part
of ``promgate.queries`` declares its names once, in its own ``__all__``, and the package exports
exactly their union."""

from __future__ import annotations
import __future__

import importlib
import pkgutil
import re
import types
from pathlib import Path

import promgate
from promgate import queries

ROOT = Path(__file__).resolve().parents[3]


def public_members(module: types.ModuleType) -> list[str]:
    """Names a user sees on ``module``: not private, not a submodule, not a ``__future__`` flag."""
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    )


def documented(page: str, marker: str) -> set[str]:
    """Every backticked name in the table that follows ``marker`` on ``page``."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    table = text[text.index(marker) :].split("\n\n")[1]
    return {n for row in table.splitlines()[2:] for n in re.findall(r"`(\w+)`", row.split("|")[1])}


def test_all_is_every_public_member() -> None:
    assert sorted(set(promgate.__all__) - {"__version__"}) == public_members(promgate)
    assert len(promgate.__all__) == len(set(promgate.__all__))


def test_every_exported_name_imports_and_is_documented() -> None:
    for name in promgate.__all__:
        assert getattr(promgate, name) is not None, name
    assert documented("gate.md", "The public names (`promgate.__all__`") == set(promgate.__all__)


def test_each_queries_part_declares_its_names_and_the_package_exports_their_union() -> None:
    parts = [
        importlib.import_module(f"promgate.queries.{info.name}")
        for info in pkgutil.iter_modules(queries.__path__)
    ]
    assert len(parts) >= 8
    seen: dict[str, str] = {}
    for part in parts:
        names = part.__all__
        for name in names:
            assert name not in seen, f"{name} in both {seen[name]} and {part.__name__}"
            seen[name] = part.__name__
            assert getattr(queries, name) is getattr(part, name), name
        # a function defined in the part and not private is one of its names
        defined = {
            n
            for n, v in vars(part).items()
            if isinstance(v, types.FunctionType) and v.__module__ == part.__name__
        }
        assert sorted(n for n in defined if not n.startswith("_")) == sorted(
            n for n in names if n in defined
        ), part.__name__
    assert sorted(queries.__all__) == sorted(seen)
    assert public_members(queries) == sorted(seen)  # nothing public beyond the parts' names

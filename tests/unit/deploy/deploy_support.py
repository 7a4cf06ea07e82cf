"""Helpers for the deploy tests: load a generator script by path, check its output is committed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def load_script(path: Path) -> Any:
    """Import a script run as ``python path/to/script.py`` (not a package module) by its path."""
    spec = importlib.util.spec_from_file_location(f"promgate_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_committed(rendered: dict[str, str], directory: Path, fix: str) -> None:
    """Every generated file in ``directory`` is exactly the generator's output."""
    for name, text in rendered.items():
        assert (directory / name).read_text() == text, f"{name} is stale: {fix}"

"""The command line of the project's generator scripts (dashboards, rules): rewrite the generated
files, or with ``--check`` report the stale ones. Dev-only, so it lives outside the wheel."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["generator_main"]


def generator_main(
    doc: str,
    render: Callable[[], dict[str, str]],
    directory: Path,
    fix: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The command line of a generator script (``grafana/generate.py``,
    ``deploy/prometheus/generate_rules.py``): write ``render()``'s files (name -> text) into
    ``directory`` where they differ, or with ``--check`` write nothing and exit 1 naming the
    stale ones, with ``fix`` as the hint."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = directory / name
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; {fix}", file=sys.stderr)
        return 1
    return 0

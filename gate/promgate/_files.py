"""Writing files: reports atomically, so a CI step never picks up half a report; and the
project's generated files (dashboards, rules), rewritten or checked for staleness."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ._exceptions import UsageError

__all__ = ["generator_main", "write_report"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_report(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) via a temporary file and a rename.

    The file gets the mode a plain ``open()`` would give it (0666 less the umask), not
    ``mkstemp``'s 0600, so CI servers that publish artifacts can read it.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(
            f"cannot write {target}: {exc.strerror or exc} (is the folder writable?)"
        ) from None


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

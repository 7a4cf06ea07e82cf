"""Writing reports atomically, so a CI step never picks up half a report (the renderers in
``report/`` only make texts)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..core.model.result import GateResult
from ..errors import UsageError
from ..report.html.write import html_files

__all__ = ["write_html", "write_report"]


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
            # A lone surrogate (a "\ud800" in a result file from elsewhere) cannot be UTF-8:
            # written as the escape it was, it reads back as itself in JSON and shows in HTML.
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
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


def write_html(path: str | Path, result: GateResult, *, judged: bool = True) -> Path:
    """``--html FILE``: the report of ``result`` and its stylesheet beside it (written first);
    returns the stylesheet's path."""
    files = html_files(path, result, judged=judged)
    for target, text in files:
        write_report(target, text)
    return files[0][0]

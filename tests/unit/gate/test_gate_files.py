"""Report files are written whole, readable by CI servers, and bad paths give one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from promgate._exceptions import UsageError
from promgate._files import write_report


def test_report_is_written_whole_with_plain_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    write_report(target, "<p>ünïcode</p>")
    assert target.read_text(encoding="utf-8") == "<p>ünïcode</p>"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temp file left


def test_unwritable_path_is_one_line_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError) as info:
        write_report(blocker / "report.html", "x")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"cannot write {blocker / 'report.html'}:")

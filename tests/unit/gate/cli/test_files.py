"""Report files are written whole, readable by CI servers, and bad paths give one line; the
generator scripts rewrite only what differs and ``--check`` writes nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from genfiles import generator_main
from promgate.cli.files import write_report
from promgate.errors import UsageError


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


def test_generator_writes_what_differs_and_check_only_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "same.txt").write_text("same\n")
    (tmp_path / "old.txt").write_text("old\n")
    files = {"same.txt": "same\n", "old.txt": "new\n", "missing.txt": "x\n"}

    assert generator_main("Doc.", lambda: files, tmp_path, "run make", ["--check"]) == 1
    assert "stale: old.txt, missing.txt; run make" in capsys.readouterr().err
    assert (tmp_path / "old.txt").read_text() == "old\n"
    assert not (tmp_path / "missing.txt").exists()

    assert generator_main("Doc.", lambda: files, tmp_path, "run make", []) == 0
    assert capsys.readouterr().out.count("wrote ") == 2
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == files
    assert generator_main("Doc.", lambda: files, tmp_path, "run make", ["--check"]) == 0

"""The report as a person sees it: rendered by headless Chromium to a PNG that is not blank."""

from __future__ import annotations

from pathlib import Path

import pytest
from promgate.report.html.page import render_html
from report_support import CHROMIUM, png_rows, png_stats, sample_report, screenshot

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

#: The FAIL banner's background (CSS --fail) and the pass one (--pass).
FAIL_RED = bytes((0xB7, 0x1C, 0x1C))
PASS_GREEN = bytes((0x1E, 0x7B, 0x34))


def _render(tmp_path: Path, verdict: str) -> Path:
    html = tmp_path / "report.html"
    html.write_text(render_html(sample_report(verdict)), encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(html, png, tmp_path / "profile")
    return png


def _count(png: Path, colour: bytes, rows: int) -> int:
    return sum(
        1 for row in png_rows(png, rows) for i in range(0, len(row), 3) if row[i : i + 3] == colour
    )


def test_screenshot_shows_a_styled_report(tmp_path: Path) -> None:
    png = _render(tmp_path, "fail")
    colours, ink = png_stats(png)
    # Text, charts in several colours and the banner: a blank or unstyled page has few colours.
    assert colours > 300, f"only {colours} distinct colours: the page looks blank"
    assert 0.08 < ink < 0.8, f"{ink:.0%} of pixels are not white"
    # The verdict banner is drawn near the top in the fail colour (CSS applied, big block).
    assert _count(png, FAIL_RED, 300) > 20_000


def test_pass_banner_is_green(tmp_path: Path) -> None:
    png = _render(tmp_path, "pass")
    assert _count(png, PASS_GREEN, 300) > 20_000
    assert _count(png, FAIL_RED, 300) < 500  # only small badges, never the banner

"""The HTML report under Jenkins's default Content-Security-Policy, and as a single file.

Jenkins serves archived HTML with ``sandbox; default-src 'none'; img-src 'self'; style-src
'self';``: inline ``<style>`` and ``style=""`` are refused, a stylesheet from the same server is
allowed. The report carries both: an inline stylesheet (works when the HTML is copied alone) and a
``<link>`` to the same stylesheet written beside it (works under the policy). Headless Chromium
renders the report's folder served over HTTP on 127.0.0.1 with and without that header, and the
HTML copied alone; the screenshots must show the same banner colour and the same charts.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from promgate.cli.files import write_report
from promgate.report.html.charts import PALETTE
from promgate.report.html.style import CSS
from promgate.report.html.write import page_files, stylesheet_path
from report_support import CHROMIUM, png_rows, sample_report, screenshot

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';"
#: The FAIL banner's background (CSS --fail).
FAIL_RED = bytes((0xB7, 0x1C, 0x1C))
#: The first chart line's colour (every chart has at least one line).
LINE_BLUE = bytes(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))


class _Handler(http.server.SimpleHTTPRequestHandler):
    csp: str | None = None

    def end_headers(self) -> None:
        if self.csp:
            self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def serve() -> Iterator[functools.partial[str]]:
    """``serve(folder, csp)`` -> base URL of ``folder`` served on 127.0.0.1 (with ``csp``)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path, csp: str | None) -> str:
        handler = type("Handler", (_Handler,), {"csp": csp})
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield functools.partial(start)
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


class _Shot:
    """A screenshot decoded once (the decoder is pure Python and slow on 1280 x 2000 pixels)."""

    def __init__(self, png: Path) -> None:
        self.rows = list(png_rows(png))

    def count(self, colour: bytes, rows: int | None = None) -> int:
        return sum(
            1 for row in self.rows[:rows] for i in range(0, len(row), 3) if row[i : i + 3] == colour
        )

    def colours(self) -> int:
        return len({row[i : i + 3] for row in self.rows for i in range(0, len(row), 9)})


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """The report's folder as ``promgate check --html report.html`` leaves it."""
    folder = tmp_path / "site"
    for path, text in page_files(folder / "report.html", sample_report("fail")):
        write_report(path, text)
    return folder


def test_the_stylesheet_is_written_beside_the_report_and_linked(site: Path) -> None:
    css = stylesheet_path(site / "report.html")
    assert css == site / "report.css" and css.read_text(encoding="utf-8") == CSS
    html = (site / "report.html").read_text(encoding="utf-8")
    assert '<link rel="stylesheet" href="report.css">' in html
    assert f"<style>{CSS}</style>" in html  # the single-file fallback, the same rules
    # The policy also refuses style attributes and scripts: the report has neither.
    assert " style=" not in html and "<script" not in html


def test_report_renders_the_same_under_jenkins_csp_and_alone(
    site: Path, tmp_path: Path, serve: functools.partial[str]
) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(site / "report.html", alone / "report.html")  # copied without its stylesheet
    shots = {
        "jenkins_csp": serve(site, JENKINS_CSP) + "/report.html",
        "no_csp": serve(site, None) + "/report.html",
        "html_alone": serve(alone, None) + "/report.html",
    }
    pngs = {
        name: _Shot(screenshot(url, tmp_path / f"{name}.png", tmp_path / f"profile-{name}"))
        for name, url in shots.items()
    }
    banner = {name: png.count(FAIL_RED, 300) for name, png in pngs.items()}
    lines = {name: png.count(LINE_BLUE) for name, png in pngs.items()}
    for name, png in pngs.items():
        colours = png.colours()
        assert colours > 300, f"{name}: only {colours} distinct colours: the page looks unstyled"
        assert banner[name] > 20_000, f"{name}: no red FAIL banner ({banner[name]} px)"
        assert lines[name] > 1_000, f"{name}: no chart lines ({lines[name]} px)"
    # The same page in every case: banner and chart lines cover the same area.
    reference = banner["no_csp"], lines["no_csp"]
    for name in pngs:
        assert banner[name] == pytest.approx(reference[0], rel=0.02), (name, banner)
        assert lines[name] == pytest.approx(reference[1], rel=0.05), (name, lines)


def test_the_policy_is_enforced_without_the_stylesheet(
    site: Path, tmp_path: Path, serve: functools.partial[str]
) -> None:
    """Control: the same HTML under the policy without ``report.css`` beside it loses its styles
    (the inline stylesheet is refused), so the test above passes because of the linked file."""
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(site / "report.html", bare / "report.html")
    png = _Shot(
        screenshot(
            serve(bare, JENKINS_CSP) + "/report.html", tmp_path / "bare.png", tmp_path / "profile"
        )
    )
    assert png.count(FAIL_RED, 300) < 2_000  # no banner, at most a few coloured glyphs
    assert png.count(LINE_BLUE) > 1_000  # the charts still draw: presentation attributes

"""Helpers for the report tests: a hand-built report, headless Chromium screenshots, PNG pixels.

PNG rows are decoded with the standard library (zlib + the five PNG filters), so the check
that a screenshot is not blank needs no imaging package.
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

from promgate.report.html.charts import Chart, Line, Threshold
from promgate.report.html.page import CheckRow, EndpointRow, ErrorRow, ReportData, Summary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

START = 1_764_000_000.0
END = START + 300.0


def _wave(base: float, amp: float, period: float, step: float = 5.0) -> list[tuple[float, float]]:
    pts = []
    t = START
    while t <= END:
        pts.append((t, base + amp * math.sin((t - START) / period)))
        t += step
    return pts


def sample_report(verdict: str = "fail") -> ReportData:
    """A report with every section filled and hostile label values."""
    ramp = [(START + i * 5, min(50.0, i * 2.0)) for i in range(61)]
    gap = [(t, math.nan if 150 < t - START < 170 else v) for t, v in _wave(0.08, 0.02, 30)]
    return ReportData(
        run_id='ci-1234 <"release">',
        job="locust",
        start=START,
        end=END,
        verdict=verdict,
        baseline_run_id="ci-1200",
        summary=Summary(
            requests=123456,
            failures=2345,
            error_ratio=2345 / 123456,
            rps=411.52,
            avg=0.0712,
            p50=0.052,
            p95=0.184,
            p99=0.41,
            peak_users=50,
        ),
        checks=[
            CheckRow(
                "p95",
                "warning",
                0.184,
                "seconds",
                "> 150 ms",
                "> 500 ms",
                0.15,
                22.7,
                query='max(last_over_time(x{run_id="r"}[5m]))',
            ),
            CheckRow(
                "error_rate",
                "fail",
                1.9,
                "percent",
                "> 1 %",
                "> 1.5 %",
                0.4,
                375.0,
                detail="error_rate 1.90 % > 1.5 %",
            ),
            CheckRow("rps", "pass", 411.5, "rps", "< 300/s", "< 200/s", 400.0, 2.9),
            CheckRow(
                "host_cpu",
                "no_data",
                None,
                "percent",
                "> 80 %",
                "> 90 %",
                detail="no node_exporter series",
            ),
        ],
        charts=[
            Chart("Users", "count", [Line("users", ramp)]),
            Chart(
                "Requests per second",
                "rps",
                [Line("RPS", _wave(400, 60, 40))],
                [Threshold("critical", 200, "critical")],
            ),
            Chart("Failures per second", "rps", [Line("failures/s", _wave(8, 6, 20))]),
            Chart(
                "Error rate",
                "percent",
                [Line("error rate", _wave(1.9, 0.8, 20))],
                [
                    Threshold("warning error_rate", 1, "warning"),
                    Threshold("critical error_rate", 1.5, "critical"),
                ],
            ),
            Chart(
                "Response time",
                "seconds",
                [
                    Line("p50", _wave(0.05, 0.01, 30)),
                    Line("p95", gap),
                    Line("p99", _wave(0.4, 0.1, 25)),
                ],
                [
                    Threshold("warning p95", 0.15, "warning"),
                    Threshold("critical p95", 0.5, "critical"),
                ],
                wide=True,
            ),
        ],
        endpoints=[
            EndpointRow("GET", "/students/{id}", 80000, 1200, 0.015, 0.06, 0.05, 0.17, 0.39, 266.7),
            EndpointRow(
                "POST",
                "/courses?<script>alert('x')</script>",
                40000,
                1145,
                0.0286,
                0.09,
                0.07,
                0.22,
                0.45,
                133.3,
            ),
            EndpointRow(
                "GET", 'naïve "quoted" ✓ ünïcödé', 3456, 0, 0.0, 0.02, 0.02, 0.04, 0.05, 11.5
            ),
        ],
        errors=[
            ErrorRow("GET", "/students/{id}", "HTTPError('500 Server Error: <b>boom</b>')", 1200),
            ErrorRow(
                "POST", "/courses?<script>alert('x')</script>", "ConnectionResetError(N)", 1145
            ),
        ],
        notes=["host metrics: no node_exporter series for this run"],
    )


def screenshot(page: Path | str, png: Path, profile: Path, size: str = "1280,2000") -> Path:
    """Render ``page`` (a file, or a URL) in headless Chromium to ``png`` (throwaway profile)."""
    assert CHROMIUM, "chromium is not installed"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={size}",
        f"--screenshot={png}",
        page if isinstance(page, str) else page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert png.exists() and png.stat().st_size > 0, f"chromium wrote no screenshot: {proc.stderr}"
    return png


def png_rows(path: Path, max_rows: int | None = None) -> Iterator[bytes]:
    """Yield the decoded rows of an 8-bit, non-interlaced PNG as RGB bytes (alpha dropped)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6), "unsupported PNG format"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    for y in range(min(height, max_rows or height)):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        prev = line
        yield bytes(line) if bpp == 3 else bytes(line[i] for i in range(stride) if i % 4 != 3)


def png_stats(path: Path, max_rows: int | None = None, every: int = 3) -> tuple[int, float]:
    """(distinct colours, fraction of non-white pixels) over every ``every``-th pixel."""
    colours: set[bytes] = set()
    total = non_white = 0
    for row in png_rows(path, max_rows):
        for i in range(0, len(row) - 2, 3 * every):
            px = row[i : i + 3]
            colours.add(px)
            total += 1
            if px != b"\xff\xff\xff":
                non_white += 1
    return len(colours), non_white / max(total, 1)

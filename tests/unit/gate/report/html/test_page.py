"""The HTML report as text: key lines CI greps, escaping, self-containment, every section."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest
from promgate.report.html.page import (
    EndpointRow,
    ErrorRow,
    ReportData,
    Summary,
    render_html,
    summary_key_lines,
)
from report_support import sample_report

# The seed workflow's regexes (actions/github-script), verbatim.
P95_RE = re.compile(r"95th percentile: (\d+\.?\d*)s")
ERR_RE = re.compile(r"Error rate: (\d+\.?\d*)%")


def test_key_lines_match_the_seed_workflow_regexes() -> None:
    html = render_html(sample_report())
    assert P95_RE.search(html).group(1) == "0.184"  # type: ignore[union-attr]
    assert ERR_RE.search(html).group(1) == f"{2345 / 123456 * 100:.2f}"  # type: ignore[union-attr]
    # Exactly once each, so "the first match" is the run's figure.
    assert len(P95_RE.findall(html)) == 1
    assert len(ERR_RE.findall(html)) == 1


def test_missing_figures_are_not_made_up_as_zero() -> None:
    html = render_html(ReportData(run_id="r", summary=Summary(p95=None, error_ratio=math.nan)))
    assert P95_RE.search(html) is None
    assert ERR_RE.search(html) is None
    assert "95th percentile: no data" in html
    assert summary_key_lines(Summary(p95=0.0, error_ratio=0.0)) == (
        "95th percentile: 0.000s",
        "Error rate: 0.00%",
    )


def test_every_label_value_is_escaped() -> None:
    html = render_html(sample_report())
    assert "<script" not in html
    assert "<b>boom</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;boom&lt;/b&gt;" in html
    assert "ci-1234 &lt;&quot;release&quot;&gt;" in html
    assert "naïve &quot;quoted&quot; ✓ ünïcödé" in html  # unicode kept as is (utf-8 document)


def test_self_contained_no_scripts_or_external_assets() -> None:
    html = render_html(sample_report())
    assert '<meta charset="utf-8">' in html
    for forbidden in ("<script", "<link", "src=", "@import", "url(", "<iframe"):
        assert forbidden not in html.lower()
    # The only URL is the SVG namespace, which is never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}


@pytest.mark.parametrize(
    ("verdict", "text"),
    [("pass", "PASS"), ("warning", "WARNING"), ("fail", "FAIL"), ("unknown", "NOT JUDGED")],
)
def test_verdict_is_text_not_only_colour(verdict: str, text: str) -> None:
    html = render_html(sample_report(verdict))
    assert f'class="verdict v-{verdict}" role="status" aria-label="Verdict: {text}"' in html
    assert f'<p class="vtext">{text}</p>' in html
    assert html.split("<title>")[1].startswith(text)


def test_checks_show_value_thresholds_baseline_and_delta() -> None:
    html = render_html(sample_report())
    row = html[html.index("<strong>error_rate</strong>") :].split("</tr>")[0]
    assert "1.90%" in row and "&gt; 1.5 %" in row and "0.40%" in row and "+375.0%" in row
    assert "✗ FAIL" in html and "? NO DATA" in html and "! WARNING" in html


def test_endpoint_table_rows_sorted_with_aggregated_total() -> None:
    html = render_html(sample_report())
    body = html[html.index('<table class="endpoints">') :].split("</table>")[0]
    names = re.findall(r'<td class="name">(.*?)</td>', body)
    assert names[0] == "/students/{id}"  # most requests first
    assert names[-1] == "Aggregated"
    total = body.split("<tfoot>")[1]
    assert "123,456" in total and "2,345" in total and "1.90%" in total and "411.52 rps" in total


def test_errors_table_and_empty_states() -> None:
    data = sample_report()
    html = render_html(data)
    errors = html[html.index("<h2>Errors</h2>") :]
    assert errors.index("1,200") < errors.index("1,145")  # most frequent first
    clean = replace(data, errors=[], summary=Summary(failures=0))
    assert "No failed requests." in render_html(clean)
    hidden = replace(data, errors=[], summary=Summary(failures=3))
    assert "no error texts were exported" in render_html(hidden)


def test_charts_are_inline_svg_with_thresholds_and_legend() -> None:
    html = render_html(sample_report())
    assert html.count('<svg class="chart"') == 5
    assert 'aria-label="Response time over the run"' in html
    assert "warning p95 150.0ms" in html and "critical p95 500.0ms" in html
    assert "stroke-dasharray" in html


def test_sections_without_data_are_left_out_not_broken() -> None:
    html = render_html(ReportData(run_id="bare"))
    assert "<svg" not in html and "Endpoints" not in html and "Checks" not in html
    assert "NOT JUDGED" in html


def test_endpoint_with_missing_values_renders_na() -> None:
    data = ReportData(
        run_id="r",
        endpoints=[EndpointRow("GET", "/x", requests=5)],
        errors=[ErrorRow("GET", "/x", "", 1)],
    )
    row = render_html(data).split('<td class="name">/x</td>')[1].split("</tr>")[0]
    assert row.count("no data") == 7


def test_fail_percent_is_coloured_by_the_error_rate_levels() -> None:
    """0.30 % failures is not as red as a failing run: levels.ERROR_RATIO (2 %, 5 %) decide."""
    from promgate.levels import ERROR_RATIO

    warning, critical = ERROR_RATIO
    rows = [
        EndpointRow("GET", "/calm", 1000, 3, 0.003),
        EndpointRow("GET", "/warm", 1000, 30, (warning + critical) / 2),
        EndpointRow("GET", "/hot", 1000, 60, critical + 0.01),
    ]
    html = render_html(ReportData(run_id="r", endpoints=rows))

    def fail_cell(name: str) -> str:
        row = html[html.index(f">{name}<") :].split("</tr>")[0]
        return re.findall(r"<td( class=\"[^\"]*\")?>[^<]*%</td>", row)[0]

    assert fail_cell("/calm") == ' class="n"'
    assert fail_cell("/warm") == ' class="n warn"'
    assert fail_cell("/hot") == ' class="n bad"'

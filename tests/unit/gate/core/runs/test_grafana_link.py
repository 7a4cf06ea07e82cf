"""``--grafana-url``: the run's dashboard linked from every report (terminal, Markdown, HTML, JSON).
The stranger test (tests/integration/test_ci_templates.py) runs it through the GitHub Action."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from promgate.core.model.result import GateResult
from promgate.core.runs.grafana_link import DASHBOARD_UID, dashboard_url
from promgate.errors import UsageError
from promgate.prometheus.types import RunWindow
from promgate.report.html.page import ReportData, render_html
from promgate.report.markdown import render_markdown
from promgate.report.text import render_table

ROOT = Path(__file__).resolve().parents[5]
RUN = RunWindow("ci 42/a&b", "locust", 1_700_000_000.25, 1_700_000_090.5, 1_700_000_091.0, 1.0,
                1_700_000_091.0, 92)  # fmt: skip


def test_link_names_the_run_dashboard_and_the_run_time_range() -> None:
    url = dashboard_url("https://grafana.example.com/g/", RUN)
    parts = urlsplit(url)
    assert parts.netloc == "grafana.example.com"
    assert parts.path == f"/g/d/{DASHBOARD_UID}"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "var-run_id": [RUN.run_id],
        "from": [str(int(RUN.start * 1000))],
        "to": [str(int(RUN.end * 1000))],
    }
    assert "&b" not in parts.query  # the run id is encoded, not a second parameter


def test_the_uid_is_the_run_dashboards() -> None:
    dashboard = json.loads((ROOT / "grafana" / "dashboards" / "locust-run.json").read_text())
    assert dashboard["uid"] == DASHBOARD_UID
    assert "run_id" in {v["name"] for v in dashboard["templating"]["list"]}


@pytest.mark.parametrize("bad", ["grafana:3000", "ftp://grafana", "http://"])
def test_a_url_without_scheme_or_host_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="Grafana URL"):
        dashboard_url(bad, RUN)


def test_every_report_carries_the_link() -> None:
    url = dashboard_url("http://127.0.0.1:3000", RUN)
    result = GateResult("0.1.0", 0.0, "http://prometheus:9090", RUN, [], {}, dashboard_url=url)
    assert f"dashboard: {url}" in render_table(result)
    assert f"[Grafana dashboard](<{url}>)" in render_markdown(result)
    doc = result.to_dict()
    assert doc["dashboard_url"] == url
    assert GateResult.from_dict(json.loads(json.dumps(doc))).dashboard_url == url
    html = render_html(ReportData(run_id=RUN.run_id, dashboard_url=url))
    assert f'href="{url.replace("&", "&amp;")}"' in html
    without = GateResult("0.1.0", 0.0, "http://prometheus:9090", RUN, [], {})
    assert "dashboard" not in render_table(without) and "Grafana" not in render_markdown(without)


def test_a_bad_grafana_url_fails_before_the_run_is_judged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from promgate.cli import run

    monkeypatch.setenv("PROMGATE_GRAFANA_URL", "grafana:3000")
    # Prometheus is unreachable (exit 3) but is never asked: the URL is refused first.
    argv = ["check", "--config", str(ROOT / "examples" / "gate.yaml"), "--run-id", "r"]
    code = run([*argv, "--prometheus", "http://127.0.0.1:1", "--wait-timeout", "0"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "bad Grafana URL 'grafana:3000'" in err and "PROMGATE_GRAFANA_URL" in err

"""Pull mode behind basic auth and TLS (issue 19, item 11): a real Locust run serves /metrics over
HTTPS on loopback; without the password it answers 401, with it the run's metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from localstack import free_port
from pki import make_pki
from support import SYNTHETIC_LOCUSTFILE, new_run_id, start_locust, wait_until

pytestmark = pytest.mark.integration


def test_metrics_over_https_with_basic_auth(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    auth = tmp_path / "metrics-auth"
    auth.write_text("scraper:pull-s3cret\n")
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(SYNTHETIC_LOCUSTFILE)
    port = free_port()
    (tmp_path / "run").mkdir()
    extra = ["--prometheus-listen", f"127.0.0.1:{port}", "--prometheus-listen-auth-file", str(auth)]
    extra += ["--prometheus-listen-cert-file", str(pki.server_cert)]
    extra += ["--prometheus-listen-key-file", str(pki.server_key), "--prometheus-linger", "1"]
    run = start_locust(
        "http://127.0.0.1:9",
        pushgateway=None,
        locustfile=locustfile,
        users=2,
        spawn_rate=2,
        run_time="6s",
        run_id=new_run_id("pull-auth"),
        extra=extra,
        workdir=tmp_path / "run",
    )
    url = f"https://127.0.0.1:{port}/metrics"
    try:

        def answer(**kw: object) -> requests.Response | None:
            try:
                return requests.get(url, verify=str(pki.ca), timeout=5, **kw)  # type: ignore[arg-type]
            except requests.ConnectionError:
                return None

        # A 401 response is falsy (Response.ok): wait on "answered" instead.
        (refused,) = wait_until(lambda: (r := answer()) is not None and (r,), 60, "/metrics up")  # type: ignore[misc]
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        wrong = answer(auth=("scraper", "nope"))
        assert wrong is not None and wrong.status_code == 401
        good = wait_until(
            lambda: (r := answer(auth=("scraper", "pull-s3cret"))) and "/synthetic" in r.text and r,
            timeout=30,
            what="the run's metrics",
        )
        assert isinstance(good, requests.Response) and good.status_code == 200
        assert "locust_requests_total" in good.text
        with pytest.raises(requests.ConnectionError):  # plain HTTP is not served
            requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).raise_for_status()
    finally:
        run.wait()

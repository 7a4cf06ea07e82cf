"""The exporter's auth and TLS options against a real Pushgateway (``--web.config.file``), and
Pushgateways that accept connections but never answer.

Certificates come from the openssl CLI; the basic-auth bcrypt hash from the ``bcrypt`` module or,
failing that, the ``crypt`` module's Blowfish (Python < 3.13 on glibc). Without them the tests that
need them skip with the reason. All Locust runs start together in one module fixture and share
one wait (2 users, 3 s each); each test then reads its own run.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from exporter_security_support import (
    PASSWORD,
    USER,
    WRONG_PASSWORD,
    Gateway,
    HangServer,
    assert_clean_failure,
    bcrypt_hash,
    session,
    start_gateway,
    start_hang_server,
    warnings_in,
)
from pki import Pki, make_pki
from support import SYNTHETIC_LOCUSTFILE, DemoApi, LocustRun, new_run_id, start_locust

pytestmark = pytest.mark.integration

RUN_TIME_S = 3
PUSH_TIMEOUT_S = 1.0
#: The TLS runs test messages, not timing: a TLS handshake on the busy shared machine can take
#: over a second, and a 1 s attempt deadline would then fire before the certificate error.
TLS_PUSH_TIMEOUT_S = 5.0


# -- the Locust runs, all at once ------------------------------------------------------------------


@dataclass
class Runs:
    pki: Pki | None = None
    tls: Gateway | None = None
    mtls: Gateway | None = None
    hang: dict[str, HangServer] = field(default_factory=dict)
    runs: dict[str, LocustRun] = field(default_factory=dict)
    #: wall-clock time each Locust process was seen to exit
    exited: dict[str, float] = field(default_factory=dict)
    skipped: str = ""
    truth: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def get(self, name: str) -> LocustRun:
        if name not in self.runs:
            pytest.skip(self.skipped or f"run {name} was not started")
        return self.runs[name]


def _wait_all(runs: dict[str, LocustRun], timeout: float) -> dict[str, float]:
    """Poll every run until it exits, noting when; a run still going at the deadline is killed
    by ``LocustRun.wait`` (and then fails its test's bounds)."""
    exited: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(exited) < len(runs) and time.monotonic() < deadline:
        for name, run in runs.items():
            if name not in exited and run.master.poll() is not None:
                exited[name] = time.time()
        time.sleep(0.05)
    for run in runs.values():
        run.wait(1)
    return exited


@pytest.fixture(scope="module")
def runs(demo_api: DemoApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("security")
    locustfile = root / "synthetic.py"
    locustfile.write_text(SYNTHETIC_LOCUSTFILE)
    out = Runs()

    def start(name: str, host: str, pushgateway: str, extra: list[str], **kw: Any) -> None:
        workdir = root / name
        workdir.mkdir()
        timeout = PUSH_TIMEOUT_S if name in ("silent", "trickle") else TLS_PUSH_TIMEOUT_S
        out.runs[name] = start_locust(
            host, pushgateway=pushgateway, users=2, spawn_rate=2, run_time=f"{RUN_TIME_S}s",
            run_id=new_run_id(name), extra=["--prometheus-push-timeout", str(timeout), *extra],
            workdir=workdir, **kw,
        )  # fmt: skip

    try:
        for mode in ("silent", "trickle"):
            out.hang[mode] = start_hang_server(root / f"hang-{mode}", mode)
            # interval > timeout: a zero budget that fell back to the interval would retry
            start(mode, "http://127.0.0.1:9", f"http://127.0.0.1:{out.hang[mode].port}",
                  ["--prometheus-push-interval", "2"], locustfile=locustfile)  # fmt: skip
        try:
            out.pki = pki = make_pki(root)
            server_tls = (
                f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                f"  key_file: {pki.server_key}\n"
            )
            ca = ["--prometheus-ca-file", str(pki.ca)]
            mtls_config = (
                f"{server_tls}  client_auth_type: RequireAndVerifyClientCert\n"
                f"  client_ca_file: {pki.ca}\n"
            )
            mtls_session = session()
            mtls_session.verify = str(pki.ca)
            mtls_session.cert = (str(pki.client_cert), str(pki.client_key))
            out.mtls = start_gateway(root / "pgw-mtls", mtls_config, mtls_session)
            start("mtls", "http://127.0.0.1:9", out.mtls.url,
                  [*ca, "--prometheus-cert-file", str(pki.client_cert),
                   "--prometheus-key-file", str(pki.client_key), "--prometheus-keep"],
                  locustfile=locustfile)  # fmt: skip

            # Only basic auth needs the hash: without it, the TLS + auth runs alone skip.
            tls_config = f"{server_tls}basic_auth_users:\n  {USER}: '{bcrypt_hash(PASSWORD)}'\n"
            tls_session = session()
            tls_session.verify, tls_session.auth = str(pki.ca), (USER, PASSWORD)
            out.tls = start_gateway(root / "pgw-tls", tls_config, tls_session)
            demo_api.configure(latency_ms=2, jitter_ms=3, error_rate=0.0, routes={})
            demo_api.reset()
            auth = ["--prometheus-basic-auth-user", USER]
            # The one real run over TLS + auth with the demo API as ground truth; the rest need
            # no network but the exporter's, so they cannot disturb the demo API's counts.
            start("tls_auth", demo_api.url, out.tls.url,
                  [*ca, *auth, "--prometheus-basic-auth-password", PASSWORD, "--prometheus-gzip",
                   "--prometheus-keep"])  # fmt: skip
            start("no_ca", "http://127.0.0.1:9", out.tls.url,
                  [*auth, "--prometheus-basic-auth-password", PASSWORD],
                  locustfile=locustfile)  # fmt: skip
            start("wrong_password", "http://127.0.0.1:9", out.tls.url,
                  [*ca, *auth, "--prometheus-basic-auth-password", WRONG_PASSWORD],
                  locustfile=locustfile)  # fmt: skip
        except pytest.skip.Exception as exc:
            out.skipped = str(exc)  # the runs started so far still count
        out.exited = _wait_all(out.runs, 90)
        if "tls_auth" in out.runs:
            out.truth = demo_api.totals()
        yield out
    finally:
        for run in out.runs.values():
            for proc in run.procs:
                if proc.poll() is None:
                    proc.kill()
        for server in out.hang.values():
            server.proc.kill()
            server.proc.wait()
        for gateway in (out.tls, out.mtls):
            if gateway is not None:
                gateway.stop()


# -- TLS and basic auth ----------------------------------------------------------------------------


def test_tls_and_basic_auth_run_totals_arrive(runs: Runs) -> None:
    run = runs.get("tls_auth")
    assert runs.tls is not None
    assert run.returncode == 0, run.output
    assert not warnings_in(run), run.output
    reqs = runs.tls.samples("locust_requests_total", run.run_id)
    assert runs.truth and {k: int(v) for k, v in reqs.items()} == {
        k: r for k, (r, _) in runs.truth.items()
    }
    # The final push's values, not an earlier push's: it alone carries the end timestamp.
    ends = list(runs.tls.samples("locust_run_end_timestamp_seconds", run.run_id).values())
    assert len(ends) == 1 and run.started < ends[0] <= runs.exited["tls_auth"]


def test_untrusted_certificate_fails_with_one_warning(runs: Runs) -> None:
    run = runs.get("no_ca")
    assert runs.tls is not None
    assert_clean_failure(run, "CERTIFICATE_VERIFY_FAILED", "--prometheus-ca-file")
    assert not runs.tls.has_group(run.run_id)


def test_wrong_password_fails_with_one_401_warning(runs: Runs) -> None:
    run = runs.get("wrong_password")
    assert runs.tls is not None
    assert_clean_failure(run, "HTTP 401", "--prometheus-basic-auth-password")
    assert WRONG_PASSWORD not in run.output  # credentials never reach the log
    assert not runs.tls.has_group(run.run_id)


def test_insecure_skip_verify_pushes_without_the_ca(runs: Runs) -> None:
    from locust_prometheus.options import ExporterConfig
    from locust_prometheus.pushgateway_http import Pusher, group_url, make_handler

    gateway = runs.tls
    if gateway is None:
        pytest.skip(runs.skipped)
    run_id = new_run_id("insecure")
    body = b'# TYPE locust_requests_total counter\nlocust_requests_total{method="GET",name="/"} 3\n'
    url = group_url(gateway.url, "locust", run_id)
    auth: dict[str, Any] = {"basic_auth_user": USER, "basic_auth_password": PASSWORD}
    verified = ExporterConfig(pushgateway=gateway.url, **auth)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        Pusher(url, handler=make_handler(verified), timeout=5).put(body, budget=5)
    insecure = ExporterConfig(pushgateway=gateway.url, insecure_skip_verify=True, **auth)
    pusher = Pusher(url, handler=make_handler(insecure), timeout=5)
    pusher.put(body, budget=5)
    assert gateway.samples("locust_requests_total", run_id) == {("GET", "/"): 3.0}
    pusher.delete(budget=5)
    assert not gateway.has_group(run_id)


# -- mutual TLS ------------------------------------------------------------------------------------


def test_mtls_run_with_client_certificate_arrives(runs: Runs) -> None:
    run = runs.get("mtls")
    assert runs.mtls is not None
    assert run.returncode == 0, run.output
    assert not warnings_in(run), run.output
    summary = run.summary()
    sent = summary[("GET", "/synthetic")].num_requests
    assert sent > 0
    assert runs.mtls.samples("locust_requests_total", run.run_id) == {("GET", "/synthetic"): sent}


def test_mtls_without_client_certificate_is_refused(runs: Runs) -> None:
    from locust_prometheus.options import ExporterConfig
    from locust_prometheus.pushgateway_http import Pusher, describe, group_url, make_handler

    gateway, pki = runs.mtls, runs.pki
    if gateway is None or pki is None:
        pytest.skip(runs.skipped)
    run_id = new_run_id("nocert")
    handler = make_handler(ExporterConfig(pushgateway=gateway.url, ca_file=str(pki.ca)))
    pusher = Pusher(group_url(gateway.url, "locust", run_id), handler=handler, timeout=5)
    with pytest.raises(OSError) as info:
        pusher.put(b"x 1\n", budget=5)
    # TLS 1.3 verifies the client after the handshake: the client sees the server's alert
    # (named, with the options to check) or, if it was still writing, the connection's end.
    text = describe(info.value)
    assert "--prometheus-cert-file" in text or "EOF occurred" in text, text
    assert not gateway.has_group(run_id)


def _limit_reached_at(run: LocustRun) -> float:
    """When Locust stopped the load, from its own log line (local time, like ``time.time``)."""
    for line in run.output.splitlines():
        if "--run-time limit reached" in line:
            stamp = line[1 : line.index("]")]
            return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise AssertionError(f"no run-time limit line in:\n{run.output}")


@pytest.mark.parametrize("mode", ["silent", "trickle"])
def test_pushgateway_that_never_answers_delays_exit_boundedly(runs: Runs, mode: str) -> None:
    run = runs.get(mode)
    assert mode in runs.exited, f"Locust did not exit within 90 s:\n{run.output}"
    # silent: the socket's read timeout or the attempt deadline, whichever fires first;
    # trickle: only the deadline can end the attempt (each byte restarts the read timeout).
    assert_clean_failure(
        run, "TimeoutError", *(["no complete answer"] if mode == "trickle" else [])
    )
    # Pushes went out and hung: the push loop's, then the final ones.
    assert runs.hang[mode].accepted >= 2
    # After the load stops: the final push (3 attempts of one push timeout, 0.75 s of backoff),
    # the quit push (one attempt after a failure) and no linger; plus Locust's own shutdown,
    # taken from the runs started alongside whose pushes end at once (on the busy shared
    # machine it varies from ~2 s to ~6 s), and 1 s of margin.
    shutdown = runs.exited[mode] - _limit_reached_at(run)
    bound = 4 * PUSH_TIMEOUT_S + 0.75 + _locust_shutdown(runs) + 1.0
    assert shutdown <= bound, (shutdown, bound, run.output)


def _locust_shutdown(runs: Runs) -> float:
    """The longest shutdown of the runs whose Pushgateway answers at once (accepts, or rejects
    a credential or certificate without retries); 4 s if none of them ran."""
    quick = [n for n in ("mtls", "wrong_password", "no_ca") if n in runs.exited]
    return max((runs.exited[n] - _limit_reached_at(runs.runs[n]) for n in quick), default=4.0)

"""The gate's AWS SigV4 signing (Amazon Managed Service for Prometheus): AWS's published example
signatures; real ``promgate check`` / ``runs pin`` runs through an in-process proxy that checks
each signature twice (botocore's recomputation, tests/sigv4_verify.py, and an implementation of
the spec written here from AWS's documentation that reads the query string as the server
decodes it) in front of the fake Prometheus; the region/profile plumbing (option > environment
> config) and the errors, each one line with exit 2 before any query. Fixed fake credentials,
loopback only, no instance metadata.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
import requests
import sigv4_verify as sv
from gate_fakeprom import FakePrometheus, value
from promgate.cli import run
from promgate.cli.args import with_sigv4
from promgate.errors import PrometheusUnavailable
from promgate.prometheus.aws_sigv4 import AwsSigV4Auth
from promgate.prometheus.client import PrometheusClient, build_session
from promgate.prometheus.settings import PrometheusSettings

pytest.importorskip("botocore", reason="SigV4 needs promgate[aws] (botocore)")

from botocore.credentials import Credentials

SECRETS = {sv.ACCESS_KEY: (sv.SECRET_KEY, sv.SESSION_TOKEN)}
CHECKS = """
checks:
  - {name: p95, preset: p95, warning: "> 1s", critical: "> 2s"}
  - {name: errors, preset: error_rate, unit: percent, critical: "> 5%"}
"""
QUICK = "prometheus:\n  retries: 2\n  retry_wait: 0.01\n  timeout: 5\n"
SIGNED = QUICK + f"  sigv4: {{region: {sv.REGION}}}\n  headers: {{X-Scope-OrgID: team-a}}\n"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The chain sees only the fake credentials (nothing of the developer's own)."""
    for name in (*sv.AWS_CHAIN_VARS, "PROMGATE_PROMETHEUS_SIGV4_REGION",
                 "PROMGATE_PROMETHEUS_SIGV4_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    env = sv.fake_credentials_env(str(tmp_path))
    for name, text in env.items():
        monkeypatch.setenv(name, text)
    return env


@pytest.fixture
def proxy(fake_prom: FakePrometheus) -> Iterator[sv.VerifyingServer]:
    """The workspace: a verifying proxy in front of the fake Prometheus; verified remote writes
    are answered 204."""
    fake_prom.on('percentile="0.95"', value(0.3)).on("locust_request_failures_total", value(0.01))
    with sv.verifying_server(SECRETS, api=fake_prom.url) as server:
        yield server


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gate.yaml"
    path.write_text(text + CHECKS, encoding="utf-8")
    return str(path)


def _check(url: str, config: str, *extra: str) -> int:
    argv = ["check", "--prometheus", url, "--run-id", "run-1", "--config", config]
    return run([*argv, "--wait-timeout", "2", *extra])


def _one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("promgate: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- an implementation of the spec, for checking (docs.aws.amazon.com, "Create a signed AWS API
# request"): the server decodes the query string, then encodes each name and value itself.
def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def reference_signature(
    method: str, url: str, headers: dict[str, str], body: bytes, secret: str
) -> str:
    """The signature the request's Authorization header must carry, from its credential scope
    and signed-header list, computed with hashlib/hmac only."""
    auth = headers["authorization"]
    scope = auth.split("Credential=")[1].split(",")[0].split("/", 1)[1]
    day, region, service, _ = scope.split("/")
    names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    parts = urlsplit(url)
    pairs = sorted(
        (_uri_encode(k), _uri_encode(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    stamp = headers["x-amz-date"]
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


#: AWS's SigV4 test suite (aws-sig-v4-test-suite: get-vanilla, post-vanilla,
#: get-vanilla-query-order-key-case): request and published signature
AWS_EXAMPLES = [
    ("GET", "https://example.amazonaws.com/",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("POST", "https://example.amazonaws.com/",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
]  # fmt: skip
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(("method", "url", "signature"), AWS_EXAMPLES)
def test_the_signer_gives_aws_published_signatures(
    method: str, url: str, signature: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.auth

    moment = dt.datetime(2015, 8, 30, 12, 36)  # the examples' X-Amz-Date, UTC
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: moment)
    signer = AwsSigV4Auth(
        "us-east-1", service="service", credentials=Credentials("AKIDEXAMPLE", EXAMPLE_SECRET)
    )
    prepared = signer(requests.Request(method, url).prepare())
    assert prepared.headers["X-Amz-Date"] == "20150830T123600Z"
    assert prepared.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}"
    )
    # The reference implementation agrees with AWS too, so it can judge the signer below.
    seen = {k.lower(): v for k, v in prepared.headers.items()}
    seen["host"] = "example.amazonaws.com"
    assert reference_signature(method, url, seen, b"", EXAMPLE_SECRET) == signature


def test_check_signs_every_query_and_its_verdict_write(
    aws_env: Any, proxy: sv.VerifyingServer, fake_prom: FakePrometheus, tmp_path: Path
) -> None:
    code = _check(proxy.base, _config(tmp_path, SIGNED), "--remote-write-results", proxy.url)
    assert code == 0
    assert [r.problem for r in proxy.refused()] == []
    gets = [r for r in proxy.received if r.method == "GET"]
    posts = [r for r in proxy.received if r.method == "POST"]
    assert len(posts) == 1 and posts[0].path == "/workspaces/ws-test/api/v1/remote_write"
    assert len(gets) == fake_prom.hits >= 5  # every query went through the proxy, signed
    for r in [*gets, *posts]:
        headers = {k.lower(): v for k, v in r.headers.items()}
        url = f"http://{headers['host']}{r.path}"
        expected = reference_signature(r.method, url, headers, r.body, sv.SECRET_KEY)
        assert headers["authorization"].endswith(f"Signature={expected}"), r.path
        signed = set(headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";"))
        assert {"host", "x-amz-date", "x-amz-security-token", "x-scope-orgid"} <= signed
        assert not signed & {"user-agent", "accept-encoding", "connection", "content-length"}
    # The query strings were sent in SigV4's canonical encoding, and Prometheus read the same
    # PromQL out of them (a space, quotes, braces, '=' and '/' included).
    queries = [parse_qs(urlsplit(r.path).query)["query"][0] for r in gets]
    assert sorted(queries) == sorted(fake_prom.queries)
    spaced = next(r.path for r in gets if " " in parse_qs(urlsplit(r.path).query)["query"][0])
    assert "+" not in urlsplit(spaced).query and "%20" in urlsplit(spaced).query
    assert posts[0].headers["Content-Encoding"] == "snappy"


def test_the_verifier_refuses_a_changed_query(aws_env: Any, proxy: sv.VerifyingServer,
                                               tmp_path: Path) -> None:  # fmt: skip
    """The checks above can fail: a query changed on the way does not verify."""
    assert _check(proxy.base, _config(tmp_path, SIGNED)) == 0
    r = next(r for r in proxy.received if r.method == "GET")
    url = f"http://{r.headers['Host']}{r.path}"
    assert sv.verify("GET", url, r.headers, b"", SECRETS) == ""
    changed = url.replace("run-1", "run-2")
    assert changed != url
    assert sv.verify("GET", changed, r.headers, b"", SECRETS) == "signature mismatch"
    headers = {k.lower(): v for k, v in r.headers.items()}
    assert not headers["authorization"].endswith(
        reference_signature("GET", changed, headers, b"", sv.SECRET_KEY)
    )


def test_options_sign_runs_markers_without_a_config(aws_env: Any, proxy: sv.VerifyingServer
                                                     ) -> None:  # fmt: skip
    argv = ["runs", "pin", "r-7", "--remote-write", proxy.url]
    assert run([*argv, "--prometheus-sigv4-region", sv.REGION]) == 0
    (received,) = proxy.received
    assert received.method == "POST" and received.problem == ""


def test_report_signs_its_queries(aws_env: Any, proxy: sv.VerifyingServer, tmp_path: Path
                                  ) -> None:  # fmt: skip
    argv = ["report", "--prometheus", proxy.base, "--run-id", "run-1", "--html"]
    code = run([*argv, str(tmp_path / "r.html"), "--prometheus-sigv4-region", sv.REGION])
    assert code == 0
    assert len(proxy.received) >= 3 and not proxy.refused()


def test_a_profile_chooses_the_credentials(
    aws_env: dict[str, str], proxy: sv.VerifyingServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    Path(aws_env["AWS_CONFIG_FILE"]).write_text(
        "[profile loadtest]\naws_access_key_id = AKIAPROFILE000000001\n"
        "aws_secret_access_key = the-profile-secret\n"
    )
    proxy.secrets = {"AKIAPROFILE000000001": ("the-profile-secret", None)}
    monkeypatch.setenv("PROMGATE_PROMETHEUS_SIGV4_PROFILE", "loadtest")
    assert _check(proxy.base, _config(tmp_path, SIGNED)) == 0
    assert proxy.received and not proxy.refused()


def test_a_refused_signature_is_exit_3_naming_sigv4(
    aws_env: Any, proxy: sv.VerifyingServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.secrets = {sv.ACCESS_KEY: ("not the secret the gate has", sv.SESSION_TOKEN)}
    assert _check(proxy.base, _config(tmp_path, SIGNED)) == 3
    line = _one_error(capsys.readouterr().err)
    assert "HTTP 403" in line and "sigv4" in line, line


def test_a_failed_refresh_is_retried_then_reported_as_unreachable() -> None:
    class Expiring:
        calls = 0

        def get_frozen_credentials(self) -> Any:
            self.calls += 1
            if self.calls > 1:
                raise OSError("no answer from the STS endpoint")
            return Credentials("AKIAX", "secret").get_frozen_credentials()

    credentials = Expiring()
    session = requests.Session()
    session.auth = AwsSigV4Auth(sv.REGION, credentials=credentials)
    client = PrometheusClient("http://127.0.0.1:9", session=session, retries=2, retry_wait=0.01)
    with pytest.raises(PrometheusUnavailable, match="cannot refresh the AWS credentials"):
        client.query("up")
    assert credentials.calls == 3  # once at start, then once per attempt


@pytest.mark.parametrize(
    ("config", "flags", "message"),
    [
        ("", [], "no AWS credentials found in the default AWS credential chain (set AWS_ACCESS"),
        ("", ["--prometheus-sigv4-profile", "nope"],
         "cannot get AWS credentials from profile 'nope': ProfileNotFound"),
        ("  sigv4: {region: US East}\n", [], "prometheus.sigv4.region: bad region 'US East'"),
        ("  sigv4: {regoin: eu-west-1}\n", [], "unknown key 'regoin' (did you mean 'region'?)"),
        ("  sigv4: {profile: ci}\n", [], "prometheus.sigv4.region: missing"),
        ("  sigv4: {region: eu-west-1}\n  basic_auth: {username: u, password: p}\n", [],
         "prometheus.sigv4: AWS SigV4 signing excludes basic_auth"),
        ("  bearer_token: abcd\n", ["--prometheus-sigv4-region", "eu-west-1"],
         "SigV4 signing excludes basic_auth, a bearer token and an Authorization header"),
        ("", ["--prometheus-sigv4-profile", "ci"], "it needs a region"),
        ("", ["--prometheus-sigv4-region", "Frankfurt"], "bad prometheus sigv4 region"),
    ],
)  # fmt: skip
def test_what_cannot_sign_stops_before_any_query_with_exit_2(
    config: str, flags: list[str], message: str, tmp_path: Path, fake_prom: FakePrometheus,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in sv.AWS_CHAIN_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, text in sv.isolated_aws_env(str(tmp_path)).items():
        monkeypatch.setenv(name, text)
    if not config and "--prometheus-sigv4-region" not in flags and "ci" not in flags:
        monkeypatch.setenv("PROMGATE_PROMETHEUS_SIGV4_REGION", sv.REGION)
    assert _check(fake_prom.url, _config(tmp_path, QUICK + config), *flags) == 2
    line = _one_error(capsys.readouterr().err)
    assert message in line, line
    assert fake_prom.hits == 0


def test_without_botocore_one_line_names_the_extra(
    aws_env: Any, fake_prom: FakePrometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for module in ("botocore", "botocore.auth", "botocore.awsrequest", "botocore.session"):
        monkeypatch.setitem(sys.modules, module, None)
    assert _check(fake_prom.url, _config(tmp_path, SIGNED)) == 2
    line = _one_error(capsys.readouterr().err)
    assert "AWS SigV4 signing needs botocore" in line and "pip install 'promgate[aws]'" in line
    assert fake_prom.hits == 0


def test_without_sigv4_botocore_is_not_needed(
    fake_prom: FakePrometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMGATE_PROMETHEUS_SIGV4_REGION", raising=False)
    monkeypatch.setitem(sys.modules, "botocore", None)
    fake_prom.on('percentile="0.95"', value(0.3)).on("locust_request_failures_total", value(0.01))
    assert _check(fake_prom.url, _config(tmp_path, QUICK)) == 0
    assert build_session(PrometheusSettings()).auth is None


def test_the_option_wins_over_the_environment_over_the_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = PrometheusSettings(sigv4_region="us-east-1", sigv4_profile="from-config")
    none = argparse.Namespace(prometheus_sigv4_region=None, prometheus_sigv4_profile=None)
    monkeypatch.delenv("PROMGATE_PROMETHEUS_SIGV4_REGION", raising=False)
    monkeypatch.delenv("PROMGATE_PROMETHEUS_SIGV4_PROFILE", raising=False)
    assert with_sigv4(none, config) is config
    monkeypatch.setenv("PROMGATE_PROMETHEUS_SIGV4_REGION", "eu-central-1")
    got = with_sigv4(none, config)
    assert (got.sigv4_region, got.sigv4_profile) == ("eu-central-1", "from-config")
    flags = argparse.Namespace(prometheus_sigv4_region="ap-south-1", prometheus_sigv4_profile="ci")
    got = with_sigv4(flags, config)
    assert (got.sigv4_region, got.sigv4_profile) == ("ap-south-1", "ci")
    assert with_sigv4(none, PrometheusSettings()).sigv4_region == "eu-central-1"

"""AWS SigV4 signing of remote write: real requests through the exporter's own handler and
sender to an in-process receiver that recomputes each signature with botocore; the standard
credential chain with fixed fake credentials (environment, a profile with a credential process
that hands out short-lived ones); the errors at start. Offline: loopback only, no instance
metadata."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cramjam
import pytest
import sigv4_verify as sv
from locust_prometheus.options import ConfigError, config_from_options
from locust_prometheus.pushgateway_http import _retryable, make_handler
from locust_prometheus.remote_write import RemoteWriter
from locust_prometheus.remote_write_proto import messages

PAYLOAD = (
    b"# HELP locust_requests_total x\n# TYPE locust_requests_total counter\n"
    b'locust_requests_total{method="GET",name="/a"} 41\n'
    b'locust_requests_total{method="POST",name="/b"} 7\n'
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The chain sees only the fake credentials (nothing of the developer's own)."""
    pytest.importorskip("botocore", reason="SigV4 needs promgate[aws] (botocore)")
    for name in sv.AWS_CHAIN_VARS:
        monkeypatch.delenv(name, raising=False)
    env = sv.fake_credentials_env(str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


class Options:
    prometheus_remote_write = ""
    prometheus_sigv4_region = sv.REGION
    prometheus_header = ("X-Scope-OrgID=tenant1",)

    def __init__(self, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            setattr(self, "prometheus_" + name, value)


def sender(url: str, **options: Any) -> RemoteWriter:
    config = config_from_options(Options(remote_write=url, **options), env={})
    return RemoteWriter(
        url, handler=make_handler(config), timeout=5, interval=1, job="locust", run_id="r",
        offload=lambda work: work(),
    )  # fmt: skip


SECRETS = {sv.ACCESS_KEY: (sv.SECRET_KEY, sv.SESSION_TOKEN)}


def test_every_remote_write_request_is_signed_over_its_final_body(aws_env: Any) -> None:
    with sv.verifying_server(SECRETS) as server:
        w = sender(server.url)
        w.put(PAYLOAD, budget=10, at=1000.0)
        w.put(PAYLOAD.replace(b"41", b"45"), budget=10, final=True, at=1001.0)
        w.delete(budget=10)
    assert [r.problem for r in server.received] == ["", "", ""]
    assert w.failures == 0 and w.sent_batches == 3
    first = {k.lower(): v for k, v in server.received[0].headers.items()}
    signed = set(first["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";"))
    # The remote-write headers and the tenant header are covered, as is the token.
    assert {"content-encoding", "content-type", "x-prometheus-remote-write-version", "host",
            "x-amz-date", "x-amz-security-token", "x-scope-orgid"} <= signed  # fmt: skip
    assert first["x-amz-security-token"] == sv.SESSION_TOKEN
    # What was signed is the snappy WriteRequest the receiver can decode.
    request = messages()[0]()
    request.ParseFromString(bytes(cramjam.snappy.decompress_raw(server.received[1].body)))
    values = {tuple(lb.value for lb in ts.labels): ts.samples[0].value for ts in request.timeseries}
    assert values[("locust_requests_total", "locust", "GET", "/a", "r")] == 45


def test_the_verifier_refuses_a_changed_body_header_or_key(aws_env: Any) -> None:
    """The receiver's check can fail: the test above is not vacuous."""
    with sv.verifying_server(SECRETS) as server:
        sender(server.url).put(PAYLOAD, budget=10, final=True, at=1000.0)
    r = server.received[0]
    url = f"http://{r.headers['Host']}{r.path}"
    assert sv.verify("POST", url, r.headers, r.body, SECRETS) == ""
    assert sv.verify("POST", url, r.headers, r.body + b"\0", SECRETS) == "signature mismatch"
    tenant = {**r.headers, "X-Scope-Orgid": "tenant2"}
    assert sv.verify("POST", url, tenant, r.body, SECRETS) == "signature mismatch"
    wrong = {sv.ACCESS_KEY: ("another secret", sv.SESSION_TOKEN)}
    assert sv.verify("POST", url, r.headers, r.body, wrong) == "signature mismatch"
    other_region = sv.verify("POST", url, r.headers, r.body, SECRETS, region="us-east-1")
    assert other_region == f"signed for aps in {sv.REGION}"


def test_a_refused_signature_is_a_rejection_named_with_its_options(
    aws_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = {sv.ACCESS_KEY: ("not the secret the exporter has", sv.SESSION_TOKEN)}
    with sv.verifying_server(wrong) as server:
        w = sender(server.url)
        w.put(PAYLOAD, budget=10, final=True, at=1000.0)
    assert len(server.received) == 1  # a 403 is not retried
    assert w.dropped_batches == 1
    assert "HTTP 403" in caplog.text and "--prometheus-sigv4-region" in caplog.text


@pytest.fixture
def rotating_profile(aws_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                     ) -> Iterator[Path]:  # fmt: skip
    """A profile whose credential_process hands out a new short-lived key on every call (each
    expires within botocore's refresh window): temporary credentials, as from a role."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    counter = tmp_path / "calls"
    script = tmp_path / "credentials.py"
    script.write_text(
        textwrap.dedent(f"""\
        import datetime, json, pathlib
        calls = pathlib.Path({str(counter)!r})
        n = int(calls.read_text()) + 1 if calls.exists() else 1
        calls.write_text(str(n))
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=12)
        print(json.dumps({{"Version": 1, "AccessKeyId": f"AKIAROTATING{{n:08d}}",
                          "SecretAccessKey": f"secret-{{n}}", "SessionToken": f"token-{{n}}",
                          "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}}))
    """)
    )
    config = Path(aws_env["AWS_CONFIG_FILE"])
    config.write_text(f"[profile loadtest]\ncredential_process = {sys.executable} {script}\n")
    yield counter


def test_temporary_credentials_are_refreshed_and_each_request_signed_with_one_set(
    rotating_profile: Path,
) -> None:
    secrets = {f"AKIAROTATING{n:08d}": (f"secret-{n}", f"token-{n}") for n in range(1, 20)}
    with sv.verifying_server(secrets) as server:
        w = sender(server.url, sigv4_profile="loadtest")
        w.put(PAYLOAD, budget=10, at=1000.0)
        w.put(PAYLOAD.replace(b"41", b"42"), budget=10, final=True, at=1001.0)
    assert [r.problem for r in server.received] == ["", ""]
    keys = [r.headers["Authorization"].split("Credential=")[1].split("/")[0]
            for r in server.received]  # fmt: skip
    assert len(set(keys)) == 2, keys  # refreshed between the two sends
    assert int(rotating_profile.read_text()) >= 3  # at start, then per request


def test_a_failed_refresh_is_retried_like_an_outage() -> None:
    from locust_prometheus.sigv4 import SigningFailed

    assert _retryable(SigningFailed("cannot refresh the AWS credentials: timeout"))


def test_no_credentials_an_unknown_profile_or_no_botocore_stop_at_start(
    aws_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://127.0.0.1:9/api/v1/remote_write"
    with pytest.raises(ConfigError, match="no AWS credentials found in the default AWS"):
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        make_handler(config_from_options(Options(remote_write=url), env={}))
    with pytest.raises(ConfigError, match="cannot get AWS credentials from profile 'nope'"):
        make_handler(config_from_options(Options(remote_write=url, sigv4_profile="nope"), env={}))
    for module in ("botocore", "botocore.auth", "botocore.awsrequest", "botocore.session"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match=r"needs botocore.*pip install 'promgate\[aws\]'"):
        make_handler(config_from_options(Options(remote_write=url), env={}))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pushgateway": "http://gw:9091"}, "with --prometheus-pushgateway: SigV4 signs remote"),
        ({"remote_write": "http://rw", "basic_auth_user": "u"}, "excludes basic auth"),
        ({"remote_write": "http://rw", "bearer_token_file": "/t"}, "excludes basic auth"),
        ({"remote_write": "http://rw", "header": ["authorization=x"]}, "Authorization header"),
        ({"remote_write": "http://rw", "sigv4_region": "US East"}, "not an AWS region"),
        ({"remote_write": "http://rw", "sigv4_region": "", "sigv4_profile": "p"}, "needs --prom"),
        ({"listen": ":0"}, "with no sink"),
    ],
)
def test_combinations_sigv4_cannot_take_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_options(Options(**options), env={})


def test_without_sigv4_botocore_is_not_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore", None)
    config = config_from_options(Options(remote_write="http://rw", sigv4_region=""), env={})
    assert config.sigv4_region == ""
    make_handler(config)  # no import of botocore, no credentials looked for

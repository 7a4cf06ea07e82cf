"""The receiving side of AWS SigV4, for the tests: recompute a received request's signature with
botocore from the request as it arrived (its signed headers, its query string, its body), and a
small verifying proxy that forwards only verified requests, as Amazon Managed Service for
Prometheus would take them: remote write to a receiver, and with ``api`` the workspace's query
API (``/workspaces/ws-test/api/v1/...``) to a Prometheus. Fixed fake credentials; no network
beyond loopback.
"""

from __future__ import annotations

import datetime as dt
import hmac
import http.server
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

ACCESS_KEY = "AKIAPROMGATETEST0001"
SECRET_KEY = "promgate/test/secret/key/not+a+real+one"
SESSION_TOKEN = "FwoGZXIvYXdzEPromgateTestSessionToken//+=="
REGION = "eu-west-1"

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def fake_credentials_env(tmp: str) -> dict[str, str]:
    """Environment for the standard chain to find exactly the fake credentials: no config or
    credentials file, no profile, no instance metadata (it would reach out of the machine)."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        **isolated_aws_env(tmp),
    }


def isolated_aws_env(tmp: str) -> dict[str, str]:
    return {
        "AWS_CONFIG_FILE": f"{tmp}/no-aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": f"{tmp}/no-aws-credentials",
        "BOTO_CONFIG": f"{tmp}/no-boto-config",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


#: variables of the chain that a developer's or CI's shell may have set; a test clears them
AWS_CHAIN_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)  # fmt: skip


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, tuple[str, str | None]],
    *,
    service: str = "aps",
    region: str = REGION,
) -> str:
    """Empty if the request's signature is valid for one of ``secrets`` (access key: secret
    key, session token), else why not. ``headers`` as received (any case)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    received = {k.lower(): v for k, v in headers.items()}
    match = _AUTH.match(received.get("authorization", ""))
    if not match:
        return f"no SigV4 Authorization header: {received.get('authorization')!r}"
    key = match["key"]
    if key not in secrets:
        return f"unknown access key {key}"
    secret, token = secrets[key]
    if (match["service"], match["region"]) != (service, region):
        return f"signed for {match['service']} in {match['region']}"
    stamp = received.get("x-amz-date", "")
    if not stamp.startswith(match["date"]):
        return f"X-Amz-Date {stamp!r} is not of the credential's day {match['date']}"
    when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    if abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) > 300:
        return f"X-Amz-Date {stamp} is more than 5 minutes off"
    if received.get("x-amz-security-token") != token:
        return "wrong or missing X-Amz-Security-Token"
    signed = match["signed"].split(";")
    missing = [name for name in signed if name not in received]
    if missing:
        return f"signed headers not received: {missing}"
    request = AWSRequest(
        method=method, url=url, data=body, headers={name: received[name] for name in signed}
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(key, secret, token), service, region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if signer.signed_headers(signer.headers_to_sign(request)) != match["signed"]:
        return "the signed header list does not match the headers"
    if not hmac.compare_digest(expected, match["signature"]):
        return "signature mismatch"
    return ""


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    problem: str


#: the path of the proxy's workspace, as in Amazon's URLs
WORKSPACE = "/workspaces/ws-test"
#: an answer of the proxy: status, body, content type
Answer = tuple[int, bytes, str]


@dataclass
class VerifyingServer:
    """An HTTP server on 127.0.0.1 that checks every request's signature. A verified remote
    write (``url``) is forwarded to ``upstream``; any other verified request under ``base``
    (the workspace URL) to the same path under ``api``, a Prometheus (query string kept);
    the answer relayed. Without a target, a verified request is answered 204. A request that
    does not verify gets 403, as Amazon's endpoint answers."""

    secrets: Mapping[str, tuple[str, str | None]]
    upstream: str = ""
    api: str = ""
    received: list[Received] = field(default_factory=list)
    #: the workspace's remote-write URL, and the workspace's base URL (its query API's)
    url: str = ""
    base: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        problem = verify(
            method, f"http://{headers.get('Host', '')}{path}", headers, body, self.secrets
        )
        with self._lock:
            self.received.append(Received(method, path, headers, body, problem))
        if problem:
            return 403, problem.encode(), "text/plain"
        rest = path.removeprefix(WORKSPACE)
        if rest == "/api/v1/remote_write" or rest == path:
            target = self.upstream
        else:
            target = self.api and self.api + rest
        if not target:
            return 204, b"", "text/plain"
        forward = urllib.request.Request(target, data=body or None, method=method)
        for name in ("Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version"):
            if name in headers:
                forward.add_header(name, headers[name])
        try:
            with urllib.request.urlopen(forward, timeout=10) as answer:
                return int(answer.status), answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("Content-Type", "")

    def verified(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if not r.problem]

    def refused(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.problem]


@contextmanager
def verifying_server(
    secrets: Mapping[str, tuple[str, str | None]], upstream: str = "", api: str = ""
) -> Iterator[VerifyingServer]:
    server = VerifyingServer(secrets, upstream, api.rstrip("/"))
    handle: Callable[[str, str, dict[str, str], bytes], Answer] = server.handle

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, text, kind = handle(method, self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_POST(self) -> None:
            self.answer("POST")

        def do_GET(self) -> None:
            self.answer("GET")

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}{WORKSPACE}"
    server.url = f"{server.base}/api/v1/remote_write"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()

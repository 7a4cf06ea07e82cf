"""AWS Signature Version 4 on every request the gate sends (Amazon Managed Service for
Prometheus, service ``aps``): queries, verdicts and run markers by remote write.

A ``requests`` auth (``session.auth``), so it is a parameter of the session like basic auth:
``requests`` calls it while preparing each request, after the query string and body are final,
and calls it again for each retry, so every attempt is signed at its own send time.

botocore (the extra ``promgate[aws]``) is imported only when signing is asked for. It gives the
standard credential chain (environment, shared files and profiles, SSO, web identity as in IRSA,
container and instance roles) with temporary credentials refreshed before they expire, and the
signature itself. The credentials are resolved once, when the signer is made (before any
query): a missing extra or an empty chain is a usage error (exit 2).

The query string is sent in SigV4's canonical encoding (every byte but ``A-Za-z0-9-_.~``
percent-encoded, a space as ``%20``): ``requests`` encodes a space as ``+``, which botocore would
sign as it stands while AWS reads it as a space and signs ``%20``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

from ..errors import UsageError

__all__ = ["SERVICE", "AwsSigV4Auth", "SigningFailed", "check_region"]

#: the signing name of Amazon Managed Service for Prometheus
SERVICE = "aps"
#: the header carrying a temporary credential's token: a credential, like Authorization
TOKEN_HEADER = "X-Amz-Security-Token"

# Headers a proxy or the HTTP stack may add, drop or rewrite on the way: signing them would
# make a request that arrives intact fail to verify. (botocore leaves out a few of them too.)
_UNSIGNED = frozenset(
    {"accept", "accept-encoding", "connection", "content-length", "expect", "keep-alive",
     "te", "trailer", "transfer-encoding", "upgrade", "user-agent"}
)  # fmt: skip
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$")
_NO_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or "
    "--prometheus-sigv4-profile), or run with an instance, task or IRSA role"
)


class SigningFailed(requests.ConnectionError):
    """The credentials could not be had for one request (a refresh failed: the STS or metadata
    endpoint unreachable): a connection error, retried and reported like an outage (exit 3)."""


def check_region(region: str, what: str = "prometheus sigv4 region") -> str:
    """``region`` when it reads as an AWS region (``eu-west-1``), else a ``UsageError``."""
    if not _REGION.match(region):
        raise UsageError(
            f"bad {what} {region!r}: not an AWS region (e.g. us-east-1, the workspace's region)"
        )
    return region


class AwsSigV4Auth(AuthBase):
    """Signs each request for ``region`` with the standard AWS chain's credentials (of
    ``profile`` if given). ``credentials``: a botocore credentials object instead of the chain
    (tests). Raises ``UsageError`` when it cannot sign at all."""

    def __init__(
        self,
        region: str,
        profile: str = "",
        *,
        service: str = SERVICE,
        credentials: Any = None,
    ) -> None:
        try:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.session import Session
        except ImportError as exc:
            raise UsageError(
                f"AWS SigV4 signing needs botocore, which is not installed: {exc} "
                "(pip install 'promgate[aws]')"
            ) from None
        self.region = region
        self.service = service
        self._auth = SigV4Auth
        self._request = AWSRequest
        where = f"profile {profile!r}" if profile else "the default AWS credential chain"
        try:
            if credentials is None:
                credentials = Session(profile=profile or None).get_credentials()
            # Resolved here, at start: an empty chain or an unknown profile is a usage error,
            # found before any query, not a failure of every request.
            frozen = credentials.get_frozen_credentials() if credentials else None
        except Exception as exc:
            raise UsageError(
                f"cannot get AWS credentials from {where}: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())} ({_NO_CREDENTIALS_HINT})"
            ) from None
        if frozen is None or not frozen.access_key or not frozen.secret_key:
            raise UsageError(f"no AWS credentials found in {where} ({_NO_CREDENTIALS_HINT})")
        self._credentials = credentials
        #: where botocore found them ("env", "shared-credentials-file", "iam-role", ...)
        self.method = str(getattr(credentials, "method", "") or "given")

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        try:
            # Frozen per request: a refresh between reading the key and the token would mix
            # two credential sets in one signature.
            credentials = self._credentials.get_frozen_credentials()
        except Exception as exc:
            raise SigningFailed(f"cannot refresh the AWS credentials: {exc}") from None
        r.url = canonical_query_url(str(r.url))
        body = r.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and not isinstance(body, bytes):
            raise TypeError(f"cannot sign a streamed body ({type(body).__name__})")
        for name in ("Authorization", "X-Amz-Date", TOKEN_HEADER):
            r.headers.pop(name, None)  # a redirected request carries the last signature
        signed = {k: v for k, v in r.headers.items() if k.lower() not in _UNSIGNED}
        method, data = r.method or "GET", body or b""
        request = self._request(method=method, url=r.url, data=data, headers=signed)
        self._auth(credentials, self.service, self.region).add_auth(request)
        for name in ("Authorization", "X-Amz-Date", TOKEN_HEADER):
            if name in request.headers:
                r.headers[name] = str(request.headers[name])
        return r


def canonical_query_url(url: str) -> str:
    """``url`` with its query string in SigV4's canonical encoding (the same parameters)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote, safe="-_.~")))

"""AWS Signature Version 4 for remote write (Amazon Managed Service for Prometheus), by botocore.

Amazon Managed Service for Prometheus takes remote write only when it is SigV4-signed (service
``aps``). botocore, AWS's own Python core, does both halves: the standard credential chain
(environment variables, the shared config and credentials files with their profiles, SSO, web
identity as in IRSA, ECS and EC2 instance roles) with credentials that refresh themselves before
they expire, and the signature. It is an extra (``promgate[aws]``), imported only when signing is
asked for.

Credentials are resolved once at start, so a missing extra or no credentials stops Locust before
any load with exit code 2; each request is then signed with the credentials of that moment (a
temporary set is refreshed by botocore when it nears its expiry).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .options import ConfigError

__all__ = ["SERVICE", "SigV4Signer", "SigningFailed"]

logger = logging.getLogger(__name__)

#: The signing name of Amazon Managed Service for Prometheus.
SERVICE = "aps"
_NO_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or "
    "--prometheus-sigv4-profile), or run with an instance, task or IRSA role"
)


class SigningFailed(OSError):
    """Credentials could not be had for one request (a refresh failed: the STS or metadata
    endpoint unreachable). An OSError, so the send is retried like a connection error."""


class SigV4Signer:
    """Signs requests for ``region`` with the credentials of the standard AWS chain (of
    ``profile`` if given). Raises ConfigError at construction when it cannot sign."""

    def __init__(self, region: str, profile: str = "", *, service: str = SERVICE) -> None:
        try:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.session import Session
        except ImportError as exc:
            raise ConfigError(
                f"--prometheus-sigv4-region needs botocore, which is not installed: {exc} "
                "(pip install 'promgate[aws]')"
            ) from exc
        self.region = region
        self.service = service
        self._auth = SigV4Auth
        self._request = AWSRequest
        where = f"profile {profile!r}" if profile else "the default AWS credential chain"
        try:
            self._credentials: Any = Session(profile=profile or None).get_credentials()
            # The first resolution happens here, at start: a chain that yields nothing, or a
            # profile that does not exist, is a configuration error, not a failure per send.
            frozen = self._credentials.get_frozen_credentials() if self._credentials else None
        except Exception as exc:
            raise ConfigError(
                f"cannot get AWS credentials from {where}: {type(exc).__name__}: {exc} "
                f"({_NO_CREDENTIALS_HINT})"
            ) from exc
        if frozen is None or not frozen.access_key or not frozen.secret_key:
            raise ConfigError(f"no AWS credentials found in {where} ({_NO_CREDENTIALS_HINT})")
        #: where botocore found them ("env", "shared-credentials-file", "iam-role", ...)
        self.method = str(getattr(self._credentials, "method", "") or "unknown")
        logger.info(
            "locust_prometheus: remote write signed with AWS SigV4 (service %s, region %s, "
            "credentials from %s)",
            service,
            region,
            self.method,
        )

    def sign(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> list[tuple[str, str]]:
        """``headers`` plus the signature's (``Authorization``, ``X-Amz-Date``, and
        ``X-Amz-Security-Token`` for temporary credentials), over ``body`` as it is sent:
        call it last, once every other header is set."""
        try:
            # Frozen per request: a refresh between reading the key and the token would mix
            # two credential sets in one signature.
            credentials = self._credentials.get_frozen_credentials()
        except Exception as exc:
            raise SigningFailed(f"cannot refresh the AWS credentials: {exc}") from exc
        request = self._request(method=method, url=url, data=body, headers=dict(headers))
        self._auth(credentials, self.service, self.region).add_auth(request)
        return [(str(k), str(v)) for k, v in request.headers.items()]

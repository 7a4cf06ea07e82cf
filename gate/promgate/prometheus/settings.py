"""How to reach Prometheus: URL, auth (basic, bearer or AWS SigV4), TLS, extra headers, timeout
and retries.

The config's ``prometheus:`` section is parsed into this; the client builds its HTTP session from
it. A plain value object, so the config loader does not pull in the HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["PrometheusSettings"]


@dataclass(frozen=True)
class PrometheusSettings:
    url: str | None = None
    timeout: float = 30.0
    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    #: attempts per query (1 = no retry) and the first backoff in seconds (doubling, max 4 s)
    retries: int = 4
    retry_wait: float = 0.25
    #: seconds an engine takes to show what it received (VictoriaMetrics's -search.latencyOffset,
    #: 30 s by default; a hosted store's ingestion pipeline): the gate waits that much longer
    ingestion_delay: float = 0.0
    #: sign every request with AWS SigV4 for this region (Amazon Managed Service for
    #: Prometheus), with the credentials of the standard AWS chain, of ``sigv4_profile`` if set
    sigv4_region: str | None = None
    sigv4_profile: str | None = None

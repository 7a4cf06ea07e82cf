"""What may go into an HTTP request to Prometheus: a base URL, header names and values.

Checked where the config is read, so ``promgate lint`` rejects what ``requests`` or ``http.client``
would refuse later in ``promgate check`` (a port that is not a number, a header value with a
newline or an emoji, a scheme other than http(s)). Plain functions: no request is made.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

from ..errors import UsageError
from ..textsafe import redact_url

__all__ = ["check_base_url", "check_header", "check_secret_text"]

# RFC 9110 token characters of a field name.
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def check_base_url(url: str, what: str = "Prometheus URL") -> str:
    """``url`` when it is an absolute http(s) URL with a host and a numeric port, else a
    ``UsageError`` (exit 2) that shows the URL without its credentials."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"bad {what}: {shown!r}: {exc} (expected http://host:port)") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError(f"bad {what}: {shown!r}: scheme must be http or https")
    if not parts.hostname:
        raise UsageError(f"bad {what}: {shown!r}: no host (expected http://host:port)")
    if len(parts.hostname) > 253 or any(len(label) > 63 for label in parts.hostname.split(".")):
        raise UsageError(f"bad {what}: {shown[:80]!r}: host name too long")
    if port == 0:
        raise UsageError(f"bad {what}: {shown!r}: port 0")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        raise UsageError(f"bad {what}: {shown!r}: spaces or control characters")
    try:  # what requests itself will make of it (IDNA, label lengths, urllib3's parser)
        requests.PreparedRequest().prepare_url(url, None)
    except (requests.RequestException, ValueError) as exc:
        raise UsageError(f"bad {what}: {shown!r}: {exc}") from None
    return url


def check_secret_text(value: str, what: str) -> str:
    """A header value, bearer token or password: Latin-1 printable text (what HTTP headers
    carry); the message never shows the value itself."""
    for ch in value:
        if ord(ch) > 0xFF or not ch.isprintable():
            code = f"U+{ord(ch):04X}"
            raise UsageError(
                f"bad {what}: character {code} cannot be sent in an HTTP header "
                "(Latin-1 printable text only)"
            )
    return value


def check_header(name: str, value: str) -> None:
    """An extra header of the ``prometheus:`` block (``headers:``)."""
    if not _TOKEN.match(name):
        raise UsageError(f"bad header name {name!r} (letters, digits and -_.!#$%&'*+^`|~ only)")
    check_secret_text(value, f"value of header {name!r}")

"""Credentials kept out of the exporter's logs: ``http://user:secret@host`` is logged as
``http://***@host``, in a URL or anywhere in an exception's text."""

from __future__ import annotations

import re

__all__ = ["redact_urls"]

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*:/{1,2})[^/\s@]*@")


def redact_urls(text: str) -> str:
    """``text`` with every URL's ``user:password@`` replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", text)

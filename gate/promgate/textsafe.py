"""Text from outside (Prometheus answers, config, result files, URLs) made safe to show.

One sanitizer for every output: a terminal, a CI log, a GitHub Actions workflow-command line, an
error message. Control characters are shown as escapes (``\\x1b``, ``\\r``), so a carriage return
cannot overwrite a line, an escape sequence cannot reach the terminal and a label value cannot
start a new line; a line cannot begin a GitHub workflow command (``::error::``, ``##[``); long text
is cut with a note of how much was left out. URLs lose their ``user:password@`` before they are
shown or stored.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "MAX_ERROR_TEXT",
    "clip",
    "line_safe",
    "redact_url",
    "redact_urls",
    "show",
    "xml_safe",
]

#: the longest text of a server (error text, warning) shown in a message
MAX_ERROR_TEXT = 500

# C0 and C1 controls, DEL, the bidirectional overrides that reorder what a terminal shows, and
# lone surrogates (a JSON or YAML "\ud800"), which no UTF-8 stream can even write.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Workflow commands: ``::cmd::`` at the start of a line (after blanks), ``##[cmd]`` anywhere.
_COMMAND_START = re.compile(r"^(\s*)::")
_V1_COMMAND = "##["
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# ``scheme://user:pw@``, and ``scheme:/user:pw@`` as a file path made of a URL reads.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*:/{1,2})[^/\s@]*@")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def clip(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def show(text: object, limit: int | None = None) -> str:
    """One line of text safe for a terminal or CI log: controls escaped, optionally clipped."""
    out = _CONTROL.sub(_escape, str(text))
    return clip(out, limit) if limit is not None else out


def line_safe(line: str) -> str:
    """A line of output that cannot start a GitHub Actions workflow command: ``::`` at its
    start and ``##[`` anywhere lose their meaning (a backslash before the first colon or
    bracket); controls are escaped as in ``show``."""
    out = show(line).replace(_V1_COMMAND, "##\\[")
    return _COMMAND_START.sub(lambda m: f"{m.group(1)}\\::", out)


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold shown as escapes (ElementTree writes
    them raw, which makes the document not well-formed)."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def redact_url(url: str) -> str:
    """``http://user:secret@host/x`` -> ``http://***@host/x``: no credential in any output."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_urls(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def redact_urls(text: str) -> str:
    """Every ``scheme://user:secret@`` in free text (an exception's message) as ``scheme://***@``."""
    return _URL_USERINFO.sub(r"\1***@", text)

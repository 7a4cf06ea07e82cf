"""One HTTP GET with one deadline for all of it: connect, headers and the whole body.

``requests``' ``timeout`` bounds each socket read, not the request: a server that sends one
byte a second keeps a 30 s timeout from ever firing. Here the request runs on a daemon thread
the caller waits for until the deadline; the thread reads the body in pieces, checks the
deadline after each, and gives up (closing the connection) once it has passed. The body is
bounded in size too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

__all__ = ["MAX_BODY_BYTES", "Fetched", "HeaderSafeSession", "fetch"]

#: the largest answer read (a gate's answers are kilobytes; a range of raw samples megabytes)
MAX_BODY_BYTES = 128 * 1024 * 1024
_PIECE = 256 * 1024


class HeaderSafeSession(requests.Session):
    """A session that treats the config's extra ``headers:`` as credentials (a tenant id, an
    API key): like Authorization, requests drops them on a redirect to another host."""

    def __init__(self, secret_headers: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.secret_headers = {name.lower() for name in secret_headers or {}}

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        moved = self.should_strip_auth(  # type: ignore[no-untyped-call]
            response.request.url, prepared_request.url
        )
        if self.secret_headers and moved:
            for name in list(prepared_request.headers):
                if name.lower() in self.secret_headers:
                    del prepared_request.headers[name]
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes


class BodyTooLarge(requests.RequestException):
    """The answer exceeded ``MAX_BODY_BYTES``."""


def fetch(
    session: requests.Session,
    url: str,
    params: Mapping[str, str],
    timeout: float,
    verify: Any = True,
) -> Fetched:
    """GET ``url``; ``requests.Timeout`` when the whole exchange takes longer than ``timeout``
    seconds, whatever the server's pace; other ``requests`` exceptions as they come."""
    deadline = time.monotonic() + timeout
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = _get(session, url, params, timeout, verify, deadline)
        except BaseException as exc:  # handed to the waiting caller, raised there
            box["error"] = exc
        finally:
            done.set()

    # A daemon thread: one the server keeps dripping into never holds up the process's exit.
    threading.Thread(target=work, name="promgate-http", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise requests.Timeout(f"timed out: no complete answer within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    result: Fetched = box["value"]
    return result


def _get(
    session: requests.Session,
    url: str,
    params: Mapping[str, str],
    timeout: float,
    verify: Any,
    deadline: float,
) -> Fetched:
    try:
        resp = session.get(url, params=params, timeout=timeout, verify=verify, stream=True)
    except urllib3.exceptions.LocationValueError as exc:  # not wrapped by requests
        raise requests.exceptions.InvalidURL(str(exc)) from None
    with resp:
        pieces: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise requests.Timeout(f"timed out: no complete answer within {timeout:g}s")
            # read1 returns what has arrived (at least a byte), so the deadline is looked at
            # however slowly the body comes.
            try:
                piece = resp.raw.read1(_PIECE, decode_content=True)
            except urllib3.exceptions.HTTPError as exc:  # read raw, urllib3's own errors
                raise requests.ConnectionError(f"answer cut short: {exc}") from None
            if not piece:
                break
            size += len(piece)
            if size > MAX_BODY_BYTES:
                raise BodyTooLarge(f"answer larger than {MAX_BODY_BYTES // 2**20} MiB")
            pieces.append(piece)
        return Fetched(resp.status_code, b"".join(pieces))

"""Locust is imported without gevent's monkey-patching (tests/nopatch.py): these tests share a
process with the rest of the suite, which must keep real threads and sockets. The root conftest
imports it too; this import keeps the exporter's tests right when run on their own."""

from __future__ import annotations

import nopatch  # noqa: F401

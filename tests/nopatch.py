"""Import Locust once without gevent's monkey-patching (imported first by the conftests).

Locust monkey-patches the whole process with gevent when first imported. Some tests use Locust's
own code in-process (its stats classes as ground truth, the exporter's unit tests); importing it
here with the patching off keeps every test (the gate's thread pool above all) on real threads and
sockets. The variable is removed at once: Locust processes started by the integration tests patch
as usual.
"""

from __future__ import annotations

import os

_previous = os.environ.get("LOCUST_SKIP_MONKEY_PATCH")
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
try:
    import locust  # noqa: F401
finally:
    if _previous is None:
        del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
    else:
        os.environ["LOCUST_SKIP_MONKEY_PATCH"] = _previous

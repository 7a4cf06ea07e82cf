"""Locust's ``shutdown()`` once per process, though the exporter's listeners yield inside it.

After SIGTERM (how ``promgate run`` stops an aborted run) Locust runs ``shutdown()`` in the
signal's greenlet. That shutdown quits the runner, whose greenlet is the one Locust's main
greenlet joins; so as soon as the shutdown yields (a master's wait for its workers' last
reports, the final push, the linger), the main greenlet returns from its join and runs
``shutdown()`` a second time: a second ``quitting``, "Shutting down" and summary, a second
``quit``. The same happens with Locust's own master, whose ``quitting`` listener sleeps.

``quitting`` is the first event of ``shutdown()``, and the exporter's listener, registered at
``init`` after the locustfile's and the runner's, runs first (Locust fires it in reverse). A
second shutdown is parked there, for good: the first ends with ``sys.exit``, which gevent
raises in the main greenlet wherever it waits. (A signal's greenlet that woke once the first
had finished would shut down again while the process exits; ending it with GreenletExit
instead is reported by gevent in the main greenlet.) Only the main greenlet's wait is bounded,
so a first shutdown that failed half way in a signal's greenlet cannot leave Locust hanging.
"""

from __future__ import annotations

import logging

import gevent
import gevent.event

__all__ = ["ShutdownOnce"]

logger = logging.getLogger(__name__)


class ShutdownOnce:
    """Call ``enter`` first in ``quitting`` and ``finished`` last in ``quit``."""

    def __init__(self) -> None:
        self.entered = 0
        self._finished = gevent.event.Event()

    def enter(self, bound: float) -> bool:
        """True for the first shutdown. A later one while the first is under way never returns
        in a greenlet of its own, and in the main greenlet waits at most ``bound`` seconds;
        then, or once the first has finished, it gets False."""
        self.entered += 1
        if self.entered == 1:
            return True
        if not self._finished.is_set():
            logger.debug("locust_prometheus: a second Locust shutdown waits for the first")
            if gevent.getcurrent() is not gevent.get_hub().parent:
                gevent.event.Event().wait()  # never set: the first shutdown ends the process
            if not self._finished.wait(timeout=bound):
                logger.warning(
                    "locust_prometheus: Locust's first shutdown did not finish within %gs; "
                    "going on with the second",
                    bound,
                )
        return False

    def finished(self) -> None:
        self._finished.set()

    @property
    def done(self) -> bool:
        return bool(self._finished.is_set())

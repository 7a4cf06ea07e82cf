"""promgate's defaults, written once: the config loader, the library's parameters and every
``--help`` read them from here, so a default changes in one place."""

from __future__ import annotations

__all__ = ["LOOKBACK", "WAIT_TIMEOUT"]

#: how far back to look for a run (config ``lookback``, ``--lookback``)
LOOKBACK = "7d"
#: seconds to wait for the run's end timestamp (config ``wait_timeout``, ``--wait-timeout``)
WAIT_TIMEOUT = 300.0

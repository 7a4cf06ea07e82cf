"""Canonical PromQL over the metric contract (docs/metrics.md).

Every expression the gate's presets, the Grafana dashboards and the Prometheus rules use is built
here, so a query is never copied by hand. Expressions are templates: ``$job`` and ``$run_id`` are
filled in by the gate (escaped) or by Grafana (dashboard variables); ``$window`` is a duration
covering the run (the gate's ``$run_duration``, Grafana's ``$__range``).

Whole-run figures read the *last* value of the run's series (``max_over_time`` for counters, which
only grow, ``last_over_time`` for gauges), never ``increase()``, which extrapolates and misses what
happened before the first scrape.

One concern per part, each declaring its public names in its own ``__all__``, all re-exported
here (callers use ``queries.x``): ``_expr`` (selectors and helpers), ``run`` (whole-run figures),
``live`` (live figures), ``grafana`` (dashboard variables and tables), ``rules`` (recording and
alert rules), ``history`` (regression against history), ``window_figures`` (figures over a
check's ``window:``, Apdex), ``diagnose`` (why a query returned nothing).
"""

from __future__ import annotations

from . import _expr, diagnose, grafana, history, live, rules, run, window_figures
from ._expr import *  # noqa: F403
from .diagnose import *  # noqa: F403
from .grafana import *  # noqa: F403
from .history import *  # noqa: F403
from .live import *  # noqa: F403
from .rules import *  # noqa: F403
from .run import *  # noqa: F403
from .window_figures import *  # noqa: F403

#: every part's public names; a name is declared once, in its part's ``__all__``
__all__: list[str] = []
__all__ += _expr.__all__
__all__ += diagnose.__all__
__all__ += grafana.__all__
__all__ += history.__all__
__all__ += live.__all__
__all__ += rules.__all__
__all__ += run.__all__
__all__ += window_figures.__all__

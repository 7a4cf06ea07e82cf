"""Default warning and critical levels that dashboards colour by and alert rules fire at.

They are the values of ``examples/performance_thresholds.json`` (the thresholds file of the Locust
CI/CD guide), so a panel turns orange where the gate would warn. One table: the dashboard and the
rules generators import it, neither repeats a number.
"""

from __future__ import annotations

__all__ = ["ERROR_RATIO", "LOADGEN_CPU_PERCENT", "P95_SECONDS", "P99_SECONDS"]

#: (warning, critical)
P95_SECONDS = (2.0, 5.0)
P99_SECONDS = (3.0, 10.0)
#: a ratio of failed to all requests (2 % and 5 %)
ERROR_RATIO = (0.02, 0.05)
#: Locust itself warns above 90 % CPU: beyond it the load generator, not the system, is measured.
LOADGEN_CPU_PERCENT = (80.0, 90.0)

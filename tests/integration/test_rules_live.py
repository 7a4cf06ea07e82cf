"""The recording and alerting rules, loaded by the local stack, on a real finished run."""

from __future__ import annotations

from typing import Any

import pytest
from promgate import queries

pytestmark = pytest.mark.integration


def test_recording_rules_record_the_run(completed_run: Any) -> None:
    stack = completed_run.stack
    sel = f'run_id="{completed_run.run_id}"'
    for record in queries.recording_rules():
        result = stack.query(f"max_over_time({record}{{{sel}}}[10m])")
        assert result, f"{record} recorded nothing for the run"
    (users,) = stack.query(f"max_over_time({queries.REC_USERS}{{{sel}}}[10m])")
    assert float(users["value"][1]) == 8


def test_finished_run_raises_no_stall_or_push_alert(completed_run: Any) -> None:
    """A finished run kept in the Pushgateway has an end timestamp: never "stalled"."""
    stack = completed_run.stack
    sel = f'run_id="{completed_run.run_id}"'
    for alert in ("LocustRunStalled", "LocustExporterPushFailures"):
        assert stack.query(f'ALERTS{{alertname="{alert}", {sel}}}') == []
    # Even with no grace period at all, the stall expression skips the finished run.
    stalled = stack.query(queries.alert_run_stalled(0))
    assert completed_run.run_id not in {s["metric"]["run_id"] for s in stalled}

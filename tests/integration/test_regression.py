"""Regression against history, end to end: real Locust runs against a server with log-normal
latency and a random per-run factor of ±5 %, their verdicts pushed, a real Prometheus.

Four history runs pass and are pushed (``--push-results``). Then, each judged with
``baseline: {history: 5}`` and pushed too (so passing runs join the history and failing ones
never do): three unchanged runs must not fail; three runs with the busiest endpoint 20 % slower
(as Locust measures it) must fail on that endpoint and on no other; three runs with the 5 %
endpoint 25 % slower must find it, or say "too few requests to judge", never pass it. Every
judged run checks the history the gate found against the test's own bookkeeping.

The acceptance assumes a machine whose own noise is the ±5 % factor. On a busy shared runner the
test measures that first (Locust's figures of the history runs, and of the endpoints a judged run
did not change) and skips, with the figures, where the runner moved them further: there no gate
can tell the runner from the server.
``tests/unit/gate/core/regression/test_latency_regression_sim.py`` runs the same protocol
thirty-fold on simulated runs, without a runner.

    .venv/bin/python -m pytest -s -p no:cacheprovider tests/integration/test_regression.py

prints each run's figures per endpoint (the numbers in docs/gate.md).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import statistics
from pathlib import Path
from typing import Any

import pytest
from localstack import LocalStack
from promgate.cli import run
from promgate.core.stats.distribution import requests_needed
from support import DemoApi, new_run_id, start_locust, wait_until

pytestmark = pytest.mark.integration

LOCUSTFILE = Path(__file__).with_name("regression_locustfile.py")
#: route -> median latency (ms); traffic 70/25/5 % by the locustfile's task weights
MEDIANS = {"/students": 35.0, "/courses": 25.0, "/enrollments": 30.0}
SIGMA = 0.35
BUSIEST, SPARSE = "/students", "/enrollments"
HISTORY = 4
WANTED = 5
#: the largest run-to-run spread of Locust's median the history may show (±5 % per-run factor,
#: sampling and Locust's 1 ms rounding): beyond it the machine, not the server, is measured
MAX_MACHINE_NOISE = 0.12
#: the same for the p95, whose own sampling noise is about twice the median's
MAX_MACHINE_NOISE_P95 = 0.20
#: the largest common shift of the unchanged endpoints in one judged run (±5 % factor against
#: the history's, sampling and Locust's 1 ms rounding stay within about ±9 %) before the run is
#: the runner's, not the server's
MAX_COMMON_SHIFT = 0.12

HISTORY_CONFIG = """
checks:
  - {name: errors, preset: error_rate, critical: "> 1%"}
"""
REGRESSION_CONFIG = f"""
baseline: {{history: {WANTED}}}
checks:
  - {{name: errors, preset: error_rate, critical: "> 1%"}}
  - name: latency
    preset: latency_regression
    critical: "> +10%"
"""


class Runs:
    """Load runs of one job against the demo API, judged and pushed one after another."""

    def __init__(self, stack: LocalStack, api: DemoApi, tmp: Path) -> None:
        self.stack, self.api, self.tmp = stack, api, tmp
        self.job = new_run_id("regress")
        #: run ids whose pushed verdict was pass or warning, oldest first
        self.passing: list[str] = []
        # The per-run factors come from a fixed seed: the same ±5 % draws each time (0.962,
        # 1.000, 1.001, 1.036 for the history, then 0.960 ... 1.025), so a failure is the gate's
        # or the runner's, never a lucky draw; the simulation covers other draws.
        self.rng = random.Random(2026)
        #: route -> Locust's median (ms) of the last run
        self.last: dict[str, float] = {}
        self.last_p95: dict[str, float] = {}
        #: route -> Locust's median (ms) of each unchanged run, and its p95
        self.observed: dict[str, list[float]] = {route: [] for route in MEDIANS}
        self.observed_p95: dict[str, list[float]] = {route: [] for route in MEDIANS}

    def slower(self, route: str, share: float) -> dict[str, float]:
        """The route's latency factor that makes it ``share`` slower *as Locust measures it*.

        Locust's response time is the server's latency plus the client's and the machine's own
        time (several ms on a loaded 2-core runner), which a server-side factor does not
        scale: +20 % on the server alone would show as +10 % or less. The extra latency is
        ``share`` of the route's median as the unchanged runs measured it.
        """
        seen = statistics.median(self.observed[route])
        return {route: 1.0 + share * seen / MEDIANS[route]}

    def load(self, slow: dict[str, float] | None = None, users: int = 8) -> tuple[str, float]:
        factor = self.rng.uniform(0.95, 1.05)
        routes = {
            route: {"latency_ms": median, "latency_factor": (slow or {}).get(route, 1.0)}
            for route, median in MEDIANS.items()
        }
        self.api.configure(latency_sigma=SIGMA, latency_factor=factor, routes=routes)
        started = start_locust(
            self.api.url,
            pushgateway=self.stack.pushgateway_url,
            run_id=new_run_id("reg"),
            locustfile=LOCUSTFILE,
            users=users,
            spawn_rate=8,
            run_time="6s",
            extra=[
                *("--prometheus-job", self.job, "--prometheus-testplan", "regress"),
                "--prometheus-keep",
            ],
        )
        for proc in started.procs:
            _first_in_line(proc.pid)
        locust = started.wait()
        assert locust.returncode == 0, locust.output
        end = f'locust_run_end_timestamp_seconds{{run_id="{locust.run_id}"}}'
        wait_until(lambda: self.stack.query(end), 30, f"the final push of {locust.run_id}")
        summary = locust.summary()
        self.last = {r: summary[("GET", r)].get_response_time_percentile(0.5) for r in MEDIANS}
        self.last_p95 = {r: summary[("GET", r)].get_response_time_percentile(0.95) for r in MEDIANS}
        if not slow:
            for route, seen in self.observed.items():
                seen.append(self.last[route])
                p95 = summary[("GET", route)].get_response_time_percentile(0.95)
                self.observed_p95[route].append(p95)
        return locust.run_id, factor

    def judge(
        self, run_id: str, config: str, extra: tuple[str, ...] = (), label: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """Judge the run and push its verdict; with a ``label``, judge it again (``extra``: more
        ``check`` options) into ``<run_id>-<label>.json``, pushing nothing."""
        name = f"{run_id}-{label}" if label else run_id
        cfg = self.tmp / f"{name}.yaml"
        cfg.write_text(config, encoding="utf-8")
        out = self.tmp / f"{name}.json"
        argv = ["check", "--prometheus", self.stack.prometheus_url, "--run-id", run_id]
        argv += ["--job", self.job, "--config", str(cfg), "--json", str(out), *extra]
        argv += ["--wait-timeout", "60"]
        if label:
            return run(argv), json.loads(out.read_text(encoding="utf-8"))
        code = run([*argv, "--push-results", self.stack.pushgateway_url])
        doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        if doc["verdict"] in ("pass", "warning"):
            self.passing.append(run_id)
        # The next judgement must see this verdict: wait until Prometheus has scraped it.
        verdict = f'promgate_verdict{{job="promgate", run_id="{run_id}"}}'
        wait_until(lambda: self.stack.query(verdict), 30, f"the pushed verdict of {run_id}")
        return code, doc

    def expected_history(self) -> list[str]:
        return self.passing[::-1][:WANTED]


def _spread(values: list[float]) -> float:
    mid = statistics.median(values)
    return max(abs(v / mid - 1.0) for v in values) if mid > 0 else math.inf


def _first_in_line(pid: int) -> None:
    """Schedule a process ahead of the rest of a busy machine (when allowed): the test is about
    the server's latency, and a 2-core runner at load 10 adds tens of ms of its own at random."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, -10)


def latency_series(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (check,) = [c for c in doc["checks"] if c["name"] == "latency"]
    return {s["labels"]["name"]: s for s in check["series"]}


def show(label: str, factor: float, doc: dict[str, Any]) -> None:
    load = os.getloadavg()[0]
    print(f"\n{label} (machine factor {factor:.3f}, load {load:.1f}): verdict {doc['verdict']}")
    for name, s in latency_series(doc).items():
        r = s["regression"] or {}
        med, p95 = r.get("median") or {}, r.get("p95") or {}
        print(
            f"  {name:<13} {s['verdict']:<8} n={r.get('requests', 0):>6.0f}"
            f" median {_ms(med.get('baseline'))}->{_ms(med.get('run'))}"
            f" p95 {_ms(p95.get('baseline'))}->{_ms(p95.get('run'))}"
            f" base_n={r.get('baseline_requests', 0):>6.0f}"
            f" median {_pct(med.get('shift_percent'))} conf {_conf(med.get('confidence'))}"
            f" spread {_pct(med.get('spread_percent'))}"
            f" | p95 {_pct(p95.get('shift_percent'))} conf {_conf(p95.get('confidence'))}"
            f" spread {_pct(p95.get('spread_percent'))}"
            f" | detectable {_pct(r.get('detectable_percent'))}"
            f" | 10 % needs {_needed(r)} requests/run"
        )


def _needed(r: dict[str, Any]) -> str:
    """Requests a run needs for a 10 % shift at 0.99 with a history of 4 runs like it."""
    med, p95 = (r.get("median") or {}).get("baseline"), (r.get("p95") or {}).get("baseline")
    bounds = [math.inf if b is None else b for b in (r.get("buckets") or {}).get("bounds", [])]
    if not med or not p95 or not bounds:
        return "n/a"
    n = requests_needed(0.10, 4.0, med, p95, bounds, 0.99)
    return f"{n:,.0f}" if math.isfinite(n) else "∞"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1000:.0f}ms"


def _pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:+6.1f}%"


def _conf(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:.4f}"


def test_regression_against_history(stack: LocalStack, tmp_path: Path) -> None:
    # A server of its own: its latency settings never meet another test's, and it can be
    # scheduled ahead of the machine's other work.
    api = DemoApi(latency_ms=MEDIANS[BUSIEST], jitter_ms=0)
    _first_in_line(api.proc.pid)
    runs = Runs(stack, api, tmp_path)
    try:
        for i in range(HISTORY):
            run_id, factor = runs.load()
            code, doc = runs.judge(run_id, HISTORY_CONFIG)
            assert code == 0, doc
            print(f"\nhistory {i + 1}: {run_id} factor {factor:.3f} {doc['summary']}")
        # The acceptance describes a machine whose own noise is the server's ±5 % per-run
        # factor. A runner busy with other work adds tens of percent (measured: medians +-40 %
        # at load 15 on 2 cores), and no gate can tell that from a regression in one run.
        noise = {
            f"{r} {stat}": _spread(seen[r]) / limit
            for stat, seen, limit in (
                ("median", runs.observed, MAX_MACHINE_NOISE),
                ("p95", runs.observed_p95, MAX_MACHINE_NOISE_P95),
            )
            for r in MEDIANS
            if r != SPARSE
        }
        if max(noise.values()) > 1.0:
            pytest.skip(
                "runner too noisy for this acceptance: over the history runs Locust's "
                + ", ".join(f"{k} varied {v:.1f}x the allowed" for k, v in noise.items())
                + f" (load average {os.getloadavg()[0]:.1f}); the acceptance assumes ±5 %"
            )

        reference = {r: statistics.median(seen) for r, seen in runs.observed.items()}

        def judged(label: str, slow: dict[str, float] | None = None) -> tuple[int, dict[str, Any]]:
            expected = runs.expected_history()
            run_id, factor = runs.load(slow)
            code, doc = runs.judge(run_id, REGRESSION_CONFIG)
            show(f"{label}: {run_id}", factor, doc)
            # The history: the newest passing pushed runs of this job and testplan, never the
            # judged run, never a failed one; fewer than wanted is said.
            baseline = doc["baseline"]
            assert baseline["source"] == "history" and baseline["wanted"] == WANTED
            assert baseline["history"] == expected
            assert run_id not in baseline["history"]
            if len(expected) < WANTED:
                assert any("fewer than" in n for n in doc["notes"]), doc["notes"]
            # The endpoints this run did not change, as Locust measured them against the
            # history: beyond the ±5 % factor's reach, the runner itself slowed or sped the
            # whole run (a common shift no server change made), and a verdict on it says
            # nothing about the gate.
            kept = [r for r in MEDIANS if r not in (slow or {}) and r != SPARSE]
            common = statistics.median(runs.last[r] / reference[r] - 1.0 for r in kept)
            if abs(common) > MAX_COMMON_SHIFT:
                pytest.skip(
                    f"{label}: the runner moved the unchanged endpoints by {common:+.1%} "
                    f"(load average {os.getloadavg()[0]:.1f}); the acceptance assumes ±5 %"
                )
            # A stall of the runner can move one unchanged endpoint alone, the sparse one
            # included (its median's own sampling noise is ~3.5 % at ~150 requests): when
            # Locust's own median or p95 moved beyond the machine noise allowed, a gate that
            # fails it is right.
            unchanged = [r for r in MEDIANS if r not in (slow or {})]
            for r, stat, last, seen, limit in [
                *(
                    (r, "p95", runs.last_p95, runs.observed_p95, MAX_MACHINE_NOISE_P95)
                    for r in kept
                ),
                *((r, "median", runs.last, runs.observed, MAX_MACHINE_NOISE) for r in unchanged),
            ]:
                moved = last[r] / statistics.median(seen[r]) - 1.0
                if abs(moved) > limit:
                    pytest.skip(
                        f"{label}: the runner moved unchanged {r}'s {stat} by {moved:+.1%} in "
                        f"Locust's own figures (load average {os.getloadavg()[0]:.1f}); the "
                        "acceptance assumes ±5 %"
                    )
            return code, doc

        for i in range(3):
            code, doc = judged(f"unchanged {i + 1}")
            series = latency_series(doc)
            assert set(series) == {*MEDIANS, "Aggregated"}
            assert not [n for n, s in series.items() if s["verdict"] == "fail"], series
            assert code == 0

        for i in range(3):
            code, doc = judged(f"{BUSIEST} 20% slower {i + 1}", runs.slower(BUSIEST, 0.2))
            series = latency_series(doc)
            failing = {n for n, s in series.items() if s["verdict"] == "fail"} - {"Aggregated"}
            assert failing == {BUSIEST}, {n: s["reason"] for n, s in series.items()}
            assert code == 1
            # It failed for the rule's reasons: a shift of the median or the p95 beyond +10 %,
            # significant at 0.99 and beyond the history's spread.
            reg = series[BUSIEST]["regression"]
            assert any(
                reg[stat]["shift_percent"] > max(10.0, reg[stat]["spread_percent"])
                and reg[stat]["confidence"] >= 0.99
                for stat in ("median", "p95")
            ), reg
            assert series[BUSIEST]["reason"].startswith("critical"), series[BUSIEST]["reason"]

        for i in range(3):
            code, doc = judged(f"{SPARSE} 25% slower {i + 1}", runs.slower(SPARSE, 0.25))
            series = latency_series(doc)
            sparse = series[SPARSE]
            # Found, or honestly not judged: never a pass.
            assert sparse["verdict"] != "pass", sparse["reason"]
            if sparse["verdict"] != "fail":
                assert sparse["reason"].startswith("too few requests to judge"), sparse
            failing = {n for n, s in series.items() if s["verdict"] == "fail"}
            assert failing <= {SPARSE}, {n: s["reason"] for n, s in series.items()}
            reg = sparse["regression"]
            assert reg["requests"] > 0 and math.isfinite(reg["median"]["shift_percent"])
    finally:
        api.stop()

"""``promgate run [check options] -- locust ARGS``: the gate during the run, then the final check.

Starts Locust as a child process with the run id in ``LOCUST_PROMETHEUS_RUN_ID``, evaluates the
checks marked ``abort:`` every ``--interval`` seconds, stops Locust gracefully on a critical
breach (or on Ctrl-C), and when Locust has ended runs ``promgate check`` on the run with the same
options and reports. Exit codes are ``check``'s; an aborted run exits 1 even if the final checks
pass, a run stopped by Ctrl-C exits 130, and a Locust that never started a run exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from ..core.gate import Gate
from ..core.live.live_gate import LiveGate
from ..core.live.locust_process import RUN_ID_ENV, LocustProcess, generated_run_id, locust_option
from ..core.model.aborted import Abort
from ..errors import ExitCode, PrometheusError, UsageError
from ..prometheus.client import PrometheusClient
from .args import RUN_EXIT_CODES, SECONDS, wait_seconds
from .check import add_check_options, build_gate, judge_run, publish

__all__ = ["add_run_parser", "run_run"]

#: ``--wait-timeout`` after Locust has ended: its final push was made before it exited, so what
#: is not in Prometheus after a scrape or two will not come.
FINAL_WAIT = 60.0

_EPILOG = (
    """\
example:
  promgate run --config gate.yml --prometheus http://127.0.0.1:9090 --junit gate.xml \\
      -- locust -f locustfile.py --headless -u 50 -r 10 -t 10m \\
         --prometheus-pushgateway http://127.0.0.1:9091

--wait-timeout defaults to 60 here: Locust has made its final push before it exits.

"""
    + RUN_EXIT_CODES
)


def _interval(text: str) -> float:
    value = wait_seconds(text)
    if value < 0.5:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0.5, got {text!r}")
    return value


def add_run_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run Locust, stop it when a check marked abort: fails, then check the run",
        description=(
            "Run Locust as a child process, evaluate the checks marked abort: while it runs, "
            "stop it gracefully on a critical breach, then judge the run as promgate check does."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_check_options(
        p,
        run_id_help="run id for Locust and the gate (default: generated; env PROMGATE_RUN_ID)",
        wait_default=FINAL_WAIT,
    )
    p.add_argument(
        "--interval",
        type=_interval,
        default=10.0,
        metavar=SECONDS,
        help="seconds between live evaluations (default 10)",
    )
    p.add_argument(
        "--kill-after",
        type=wait_seconds,
        default=60.0,
        metavar="S",
        help="SIGKILL Locust if it has not ended S seconds after SIGTERM (default 60)",
    )
    p.add_argument(
        "locust_command",
        nargs=argparse.REMAINDER,
        metavar="-- locust ARGS",
        help="the Locust command line, after --",
    )
    return p


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_run(args: argparse.Namespace) -> int:
    command = list(args.locust_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("no Locust command (put it after --: promgate run ... -- locust -f ...)")
    args.run_id = _run_id(args, command)
    if args.job is None:
        args.job = locust_option(command, "--prometheus-job") or os.environ.get(
            "LOCUST_PROMETHEUS_JOB"
        )
    gate = build_gate(args)
    gate.lint()  # a broken config fails before any load is sent
    if args.wait_timeout is None and gate.config.wait_timeout is None:
        gate.wait_timeout = FINAL_WAIT
    live = LiveGate(gate, args.run_id, client=_fast_client(gate, args.interval))
    if live.checks:
        marked = ", ".join(f"{c.name} ({c.abort.describe()})" for c in live.checks if c.abort)
        _say(f"promgate: run {args.run_id}: live checks every {args.interval:g}s: {marked}")
    else:
        _say(
            f"promgate: run {args.run_id}: no check is marked abort:, so Locust runs to its end "
            "and only the final check judges"
        )
    child = LocustProcess.start(command, {**os.environ, RUN_ID_ENV: args.run_id})
    try:
        abort, code = _supervise(child, live, args.interval, args.kill_after)
    finally:
        if child.poll() is None:  # promgate itself failed: never leave the load running
            child.stop(args.kill_after, _say)
    interrupted = abort is not None and abort.reason == "interrupted"
    if live.start is None and not interrupted and not _run_exists(live):
        raise UsageError(
            f"locust did not start run {args.run_id!r}: it ended ({_exit_text(code)}) and the "
            "run never reached Prometheus (see Locust's messages above: bad arguments, a "
            "locustfile error, or an exporter not loaded or not reaching the Pushgateway)"
        )
    if abort is None and code not in (0, 1):
        _say(
            f"promgate: locust ended abnormally ({_exit_text(code)}); judging what reached "
            "Prometheus"
        )
    result = judge_run(args, gate, args.run_id)
    result.aborted = abort
    status = publish(args, result, gate.client)
    return ExitCode.INTERRUPTED if interrupted else status


def _run_id(args: argparse.Namespace, command: list[str]) -> str:
    env = os.environ
    given = args.run_id or env.get("PROMGATE_RUN_ID") or env.get(RUN_ID_ENV)
    in_locust = locust_option(command, "--prometheus-run-id")
    if given == "latest":
        raise UsageError("promgate run needs a new run id, not 'latest' (omit --run-id)")
    if given and in_locust is not None and in_locust != given:
        raise UsageError(
            f"the Locust arguments name --prometheus-run-id {in_locust!r} but the run id is "
            f"{given!r} (drop one; promgate run passes its run id to Locust as {RUN_ID_ENV})"
        )
    return given or in_locust or generated_run_id()


def _fast_client(gate: Gate, interval: float) -> PrometheusClient:
    """A client that answers or fails within about one interval: an evaluation that hangs on a
    slow Prometheus would delay the next one, and only the final check must be patient."""
    settings, main = gate.config.prometheus, gate.client
    # The final check's session: its auth (AWS credentials resolved once, at start), TLS, headers.
    client = PrometheusClient(
        main.url,
        session=main.session,
        retries=min(settings.retries, 2),
        timeout=min(settings.timeout, interval),
        retry_wait=settings.retry_wait,
    )
    client.ingestion_delay = settings.ingestion_delay
    return client


def _run_exists(live: LiveGate) -> bool:
    """One look for the run after Locust has ended (no waiting); True when Prometheus cannot say,
    so the final check reports the Prometheus error."""
    try:
        return live.find_start() is not None
    except PrometheusError:
        return True


class _Signals:
    """SIGINT/SIGTERM while Locust runs: the first asks for a graceful stop, the next kills."""

    def __init__(self, child: LocustProcess) -> None:
        self.child = child
        self.received: int | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            self.child.kill_now()
            return
        self.received = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Signals]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # signal handlers can only be set from the main thread
            return
        old = {s: signal.signal(s, self.handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for signum, handler in old.items():
                signal.signal(signum, handler)


def _supervise(
    child: LocustProcess, live: LiveGate, interval: float, grace: float
) -> tuple[Abort | None, int]:
    """Evaluate every ``interval`` until Locust ends; stop it on an abort or a signal."""
    with _Signals(child).installed() as signals:
        next_at = time.monotonic() + interval
        while True:
            code = child.wait(min(0.25, max(0.0, next_at - time.monotonic())))
            if code is not None:
                return None, code
            if signals.received is not None:
                name = signal.Signals(signals.received).name
                _say(
                    f"promgate: {name}: stopping locust gracefully (SIGTERM; again to kill it), "
                    "then judging what ran"
                )
                at = time.time()
                stopped = Abort(
                    reason="interrupted",
                    at=at,
                    message=f"interrupted ({name}); Locust stopped early",
                    elapsed=(at - live.start) if live.start is not None else None,
                )
                return stopped, child.stop(grace, _say)
            if not live.checks or time.monotonic() < next_at:
                continue  # nothing to judge live: just wait for Locust
            tick = live.evaluate()
            _say(tick.line())
            abort = live.abort(tick)
            if abort is not None:
                _say(f"promgate: ABORT run {live.run_id}: {abort.message}; stopping locust")
                return abort, child.stop(grace, _say)
            next_at = max(next_at + interval, time.monotonic() + 0.5 * interval)


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"

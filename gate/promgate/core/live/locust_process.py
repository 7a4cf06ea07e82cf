"""The load test as a child process of ``promgate run``: its command line, start, and stop.

The gate never imports Locust: it reads the command line it is given and talks to the process
only through its environment, exit code and signals. Locust runs in its own process group, so a
Ctrl-C in the terminal reaches promgate alone, which then stops Locust once, gracefully.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

from ...errors import UsageError

__all__ = ["LocustProcess", "generated_run_id", "locust_option"]

RUN_ID_ENV = "LOCUST_PROMETHEUS_RUN_ID"


def generated_run_id(now: _dt.datetime | None = None) -> str:
    """A run id for a run that was given none: a UTC timestamp and a random suffix."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def locust_option(argv: Sequence[str], flag: str) -> str | None:
    """The value of ``flag`` (``--flag V`` or ``--flag=V``; the last one wins, as in argparse)."""
    found: str | None = None
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(flag + "="):
            found = arg[len(flag) + 1 :]
    return found


class LocustProcess:
    """A started child process; ``stop`` is SIGTERM, then SIGKILL after ``grace`` seconds."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.stopping = False

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str]) -> LocustProcess:
        try:
            proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                # Locust reads keys from a terminal on stdin; in its own process group that read
                # would stop it (SIGTTIN), and promgate drives it by signals anyway.
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise UsageError(
                f"cannot start {argv[0]!r}: {exc.strerror or exc} "
                "(is Locust installed, and is the command after -- right?)"
            ) from None
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float, say: Callable[[str], None]) -> int:
        """Stop gracefully (Locust's quit handlers and the exporter's final push run); kill
        after ``grace`` seconds. Returns the exit code (negative: killed by that signal)."""
        self.stopping = True
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
        code = self.wait(grace)
        if code is None:
            say(f"promgate: locust did not stop within {grace:g}s of SIGTERM; sending SIGKILL")
            self._signal(signal.SIGKILL, group=True)
            code = self.proc.wait()
        return code

    def kill_now(self) -> None:
        """SIGKILL without waiting (safe from a signal handler): a second Ctrl-C means now."""
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL, group=True)

    def _signal(self, signum: int, *, group: bool = False) -> None:
        # SIGTERM goes to Locust alone (it stops its own --processes children); SIGKILL to its
        # whole process group, so nothing it forked keeps sending load.
        try:
            if group:
                os.killpg(self.proc.pid, signum)
            else:
                os.kill(self.proc.pid, signum)
        except ProcessLookupError:
            pass  # it ended between poll() and kill()

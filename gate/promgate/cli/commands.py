"""``promgate``: the command line. ``run(argv) -> int`` is what tests call; ``main`` exits.

Subcommands live in their own modules of this package; ``COMMANDS`` lists, per subcommand, the
function that adds its parser to the subparsers and the function that runs it
(``handler(args) -> int``, raising ``PromgateError``). A new subcommand is one module plus one
line here.

Exit codes: 0 pass (warnings allowed), 1 fail (a critical condition, no data, unknown or
unfinished run; ``run``: an aborted run), 2 usage or config error, 3 Prometheus unreachable or
failing, 4 internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .._version import __version__
from ..errors import ExitCode, PromgateError
from ..report.github import annotation
from ..textsafe import line_safe, redact_urls, show
from . import check, lint, report, runs
from .args import TOP_EXIT_CODES
from .supervise import add_run_parser, run_run

__all__ = ["COMMANDS", "build_parser", "main", "run"]

Handler = Callable[[argparse.Namespace], int]
#: (parser builder, handler), in ``--help`` order.
COMMANDS: list[tuple[Callable[[Any], argparse.ArgumentParser], Handler]] = [
    (check.add_check_parser, check.run_check),
    (add_run_parser, run_run),
    (lint.add_lint_parser, lint.run_lint),
    (report.add_report_parser, report.run_report),
    (runs.add_runs_parser, runs.run_runs),
]


#: library parameter (``PromgateError.option``) -> the flag hint the CLI adds to its message
FLAG_HINTS = {
    "prometheus": "check --prometheus",
    "baseline": "--baseline-run, --baseline-file or --baseline-history",
    "baseline_file": "check --baseline-file",
    "baseline_run": "check --baseline-run",
    "dir": "check runs --dir or check --baseline-file",
    "run_id": "check --run-id",
    "job": "check --job",
    "wait_timeout": "raise --wait-timeout",
    "var": "add --var NAME=VALUE",
    "push_results": "check --push-results",
    "remote_write_results": "check --remote-write-results",
    "remote_write": "runs --remote-write or PROMGATE_REMOTE_WRITE_URL",
    "grafana_url": "check --grafana-url or PROMGATE_GRAFANA_URL",
    "warning_exit_code": "check --warning-exit-code",
}


def with_hint(message: str, option: str | None) -> str:
    """``message`` with the flag hint for ``option`` added inside its final ``(hint)``."""
    hint = FLAG_HINTS.get(option or "")
    if not hint:
        return message
    if message.endswith(")"):
        return f"{message[:-1]}; {hint})"
    return f"{message} ({hint})"


class _Parser(argparse.ArgumentParser):
    """One-line usage errors (exit 2), no abbreviated options (``--conf`` never means
    ``--config``), and a "did you mean" for a mistyped option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("unrecognized arguments:"):
            message += _did_you_mean(self, message.split(":", 1)[1].split())
        # The message quotes what was typed: controls escaped, a URL's password hidden.
        text = line_safe(redact_urls(f"{self.prog}: error: {message} (see {self.prog} --help)"))
        self.exit(ExitCode.USAGE, text + "\n")


def _did_you_mean(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """A suggestion among every subcommand's options for the first mistyped one."""
    known: set[str] = set()
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            known.update(s for s in action.option_strings if s.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
    for arg in unknown:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--"):
            close = difflib.get_close_matches(flag, sorted(known), n=1, cutoff=0.6)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promgate",
        description="Judge a Locust run from Prometheus against thresholds and a baseline.",
        epilog=TOP_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"promgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for builder, handler in COMMANDS:
        builder(sub).set_defaults(handler=handler)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run promgate with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    argv = list(argv) if argv is not None else sys.argv[1:]
    if not argv:
        # No command at all: the overview of the commands helps more than "COMMAND required".
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    try:
        code: int = args.handler(args)
        return code
    except PromgateError as exc:
        message = with_hint(exc.message, exc.option)
        print(line_safe(f"promgate: error: {message}"), file=sys.stderr)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            # Also an annotation on the run's summary page, where CI readers look first.
            print(annotation("error", "promgate", message))
        return exc.exit_code
    except KeyboardInterrupt:
        print("promgate: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        if os.environ.get("PROMGATE_DEBUG"):
            raise
        name = type(exc).__name__
        text = show(redact_urls(" ".join(str(exc).split())), 500)
        print(
            f"promgate: internal error: {name}: {text} "
            "(a bug: rerun with PROMGATE_DEBUG=1 and report the traceback)",
            file=sys.stderr,
        )
        return ExitCode.BUG


def main() -> None:
    sys.exit(run())

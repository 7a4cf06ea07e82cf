"""The ``promgate`` command line: ``main`` (the console script) and ``run(argv) -> int``.

One module per subcommand (``check``, ``supervise`` for ``run``, ``lint``, ``report``, ``runs``);
``commands.COMMANDS`` lists them and ``commands`` holds the parser and the exit-code mapping.
"""

from __future__ import annotations

from .commands import COMMANDS, build_parser, main, run

__all__ = ["COMMANDS", "build_parser", "main", "run"]

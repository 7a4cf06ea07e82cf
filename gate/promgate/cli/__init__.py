"""The ``promgate`` command line: ``main`` (the console script) and ``run(argv) -> int``.

One module per subcommand (``check``, ``lint``, ``report``, ``runs``); ``main.COMMANDS`` lists them.
"""

from __future__ import annotations

from .main import COMMANDS, build_parser, main, run

__all__ = ["COMMANDS", "build_parser", "main", "run"]

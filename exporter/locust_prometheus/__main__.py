"""``python -m locust_prometheus --help``: the exporter's options.

Locust 2.x prints ``locust --help`` before it imports the locustfile, so plugin options cannot
appear there; they are accepted on the command line, as ``LOCUST_PROMETHEUS_*`` and in locust.conf.

Exit codes: 0 help printed, 2 a bad option or Locust/gevent not installed (one line on stderr).
"""

from __future__ import annotations

import sys

from . import _MISSING_DEPENDENCY

#: Exit code when the ``locust`` extra is not installed (as for a bad option: nothing ran).
EXIT_MISSING_DEPENDENCY = 2

#: An installed package has no docs/ directory: point at the published page.
DOCS_URL = "https://github.com/promgate/promgate/blob/main/docs/exporter.md"


def main(argv: list[str] | None = None) -> int:
    if _MISSING_DEPENDENCY:
        print(_MISSING_DEPENDENCY, file=sys.stderr)
        return EXIT_MISSING_DEPENDENCY
    import configargparse  # type: ignore[import-untyped]

    from .options import add_arguments

    parser = configargparse.ArgumentParser(
        prog="locust -f locustfile.py",
        description=f"Options added by `import locust_prometheus` (see {DOCS_URL}).",
    )
    add_arguments(parser)
    parser.parse_args(argv if argv is not None else sys.argv[1:] or ["--help"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

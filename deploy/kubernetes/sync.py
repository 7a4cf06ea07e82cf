"""Copy the files kustomize must read from inside deploy/kubernetes: the dashboards and the
example locustfile. kustomize refuses files outside a kustomization's directory tree, so these
are committed copies; the unit tests fail when a copy differs from its source.

    python deploy/kubernetes/sync.py [--check]
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def copies() -> list[tuple[Path, Path]]:
    """(source, copy) pairs."""
    pairs = [(ROOT / "examples" / "locustfile.py", HERE / "base" / "locustfile.py")]
    dashboards = HERE / "components" / "grafana-dashboards" / "dashboards"
    pairs += [
        (src, dashboards / src.name)
        for src in sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    ]
    return pairs


def stale() -> list[Path]:
    return [
        dst
        for src, dst in copies()
        if not dst.is_file() or not filecmp.cmp(src, dst, shallow=False)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale copies (exit 1)")
    args = parser.parse_args(argv)
    if args.check:
        for path in stale():
            print(f"stale copy: {path.relative_to(ROOT)} (run python deploy/kubernetes/sync.py)")
        return 1 if stale() else 0
    for src, dst in copies():
        shutil.copyfile(src, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())

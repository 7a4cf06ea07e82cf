"""The contract every hostile-input test holds the gate to, in one place.

For every input: a documented exit code (never 4, the code of a bug), no traceback, at most one
``promgate: error`` line (exactly one on exit 2 or 3), no secret, no raw control character, no
line that starts a GitHub Actions workflow command, within a time bound; and on a fault, never
exit 0.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from promgate.cli import run

#: every code ``promgate --help`` documents for check, lint, report and runs
DOCUMENTED = {0, 1, 2, 3}
# Controls other than the newline that ends each line.
_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@dataclass
class Outcome:
    argv: Sequence[str]
    code: int
    out: str
    err: str
    seconds: float
    files: dict[str, str] = field(default_factory=dict)

    def violations(
        self, *, secrets: Iterable[str] = (), fault: bool = False, bound: float = 30.0
    ) -> list[str]:
        """What broke the contract (empty when nothing did)."""
        found = []
        if self.code not in DOCUMENTED:
            found.append(f"exit {self.code} is not a documented code")
        text = self.out + self.err
        if "Traceback" in text:
            found.append("a traceback")
        errors = [line for line in self.err.splitlines() if line.startswith("promgate: error")]
        if len(errors) > 1 or (
            self.code in (2, 3) and len(errors) != 1 and "lint" not in self.argv
        ):
            found.append(f"{len(errors)} error lines on exit {self.code}")
        for secret in secrets:
            for where, content in [("stdout", self.out), ("stderr", self.err), *self.files.items()]:
                if secret in content:
                    found.append(f"secret in {where}")
        if _RAW_CONTROL.search(text):
            found.append(f"raw control character {_RAW_CONTROL.search(text)!r}")
        for line in text.splitlines():
            if line.lstrip().startswith("::") or "##[" in line:
                found.append(f"workflow command line: {line[:80]!r}")
        if fault and self.code == 0:
            found.append("exit 0 on a fault")
        if self.seconds > bound:
            found.append(f"took {self.seconds:.1f}s (bound {bound:.0f}s)")
        return found


def run_cli(
    argv: Sequence[str], capsys: pytest.CaptureFixture[str], outputs: Iterable[Path] = ()
) -> Outcome:
    """``promgate ARGV`` in this process, with what it printed and wrote."""
    capsys.readouterr()
    began = time.monotonic()
    code = run(list(argv))
    seconds = time.monotonic() - began
    captured = capsys.readouterr()
    files = {}
    for path in outputs:
        if path.exists():
            files[path.name] = path.read_text(encoding="utf-8", errors="replace")
    return Outcome(list(argv), code, captured.out, captured.err, seconds, files)

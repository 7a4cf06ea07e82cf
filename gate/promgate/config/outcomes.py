"""What a check's outcome counts for: ``mode:`` (gate or report only), what a check with no data
or no baseline becomes (``no_data``, ``baseline_missing``) and the exit code of a warning
(``warning_exit_code``, ``--warning-exit-code``).

A report-only check is evaluated and shown in every output, never counted: not in the verdict,
not in the exit code, not even with ``--strict`` (Argo Rollouts' ``dryRun``). A warning exits 0 by
default; CI systems with an "unstable" state (Jenkins UNSTABLE, GitLab ``allow_failure:
exit_codes``, Azure ``SucceededWithIssues``) map another code to it.
"""

from __future__ import annotations

import enum
from typing import Literal, get_args

from ..errors import ConfigError

__all__ = [
    "POLICIES",
    "WARNING_EXIT_CODE_RANGE",
    "CheckMode",
    "Policy",
    "check_warning_exit_code",
    "parse_mode",
]


#: what a check with no data (``no_data``) or no baseline (``baseline_missing``) becomes; a
#: ``Literal`` rather than an enum: the config's own words, kept as they are in result files
Policy = Literal["fail", "warn", "pass", "skip"]
POLICIES: tuple[Policy, ...] = get_args(Policy)


class CheckMode(str, enum.Enum):
    """``mode:`` of a check."""

    #: judged, and its verdict decides the gate's (the default)
    GATE = "gate"
    #: judged and shown apart, never counted (trying a check before it gates)
    REPORT = "report"


#: codes ``--warning-exit-code`` may take besides 0: 1-4 and 130 already mean something, and
#: shells give 126 and above their own meanings (not executable, not found, killed by a signal).
WARNING_EXIT_CODE_RANGE = range(5, 126)


def check_warning_exit_code(value: object, option: str | None = None) -> int:
    """``value`` as a warning exit code: 0 (warnings pass) or 5-125; ``ConfigError`` otherwise
    (about the library parameter ``option`` when given)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected a whole number, got {value!r}", option=option)
    if value != 0 and value not in WARNING_EXIT_CODE_RANGE:
        raise ConfigError(
            f"{value} is not a free exit code (use 0, or "
            f"{WARNING_EXIT_CODE_RANGE.start}-{WARNING_EXIT_CODE_RANGE.stop - 1}: 1-4 and 130 "
            "are promgate's own, 126 and above the shell's)",
            option=option,
        )
    return value


def parse_mode(value: object) -> CheckMode:
    """``mode:`` as a ``CheckMode``; ``ConfigError`` names the choices otherwise."""
    try:
        return CheckMode(value)
    except ValueError:
        choices = ", ".join(m.value for m in CheckMode)
        raise ConfigError(f"unknown mode {value!r} (expected one of {choices})") from None

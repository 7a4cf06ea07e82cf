"""Every error promgate raises, in one place, with the exit code the CLI maps it to.

    PromgateError                      base; ``exit_code`` 1
    ├── UsageError                     bad command line                        exit 2
    │   └── ConfigError                bad config file (file, line, key)       exit 2
    │       └── QuerySyntaxError       PromQL that does not parse              exit 2
    ├── PrometheusError                the server could not answer             exit 3
    │   ├── PrometheusUnavailable      unreachable, 5xx, not Prometheus        exit 3
    │   └── QueryError                 a query failed on the server            exit 3
    └── RunError                       the judged run is not usable            exit 1
        ├── RunNotFound                no series for the run id
        └── RunNotFinished             no end timestamp within --wait-timeout

Messages are one line: ``what failed: detail (hint)``. The library never names a command-line
flag: an error about a parameter carries ``option`` (``"baseline_file"``, ``"run_id"`` ...) and
the CLI adds the flag to the hint.
"""

from __future__ import annotations

from enum import IntEnum

from .textsafe import clip, redact_urls, show

__all__ = [
    "ConfigError",
    "ExitCode",
    "PrometheusError",
    "PrometheusUnavailable",
    "PromgateError",
    "QueryError",
    "QuerySyntaxError",
    "RunError",
    "RunNotFinished",
    "RunNotFound",
    "UsageError",
]


class ExitCode(IntEnum):
    """promgate's own exit codes; a warning's code is the configurable ``warning_exit_code``."""

    PASS = 0
    FAIL = 1
    USAGE = 2  # bad command line or config
    PROMETHEUS = 3  # the server could not answer
    BUG = 4  # an internal error
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


#: the longest error message (a server's error text may be megabytes)
MAX_MESSAGE = 2000


class PromgateError(Exception):
    """Base of every promgate error."""

    exit_code: ExitCode = ExitCode.FAIL

    def __init__(self, message: str, *, option: str | None = None) -> None:
        # Reports and CI logs show one line per error; a stray newline would split it. Text from
        # outside (a server's error, a config value) may carry controls, credentials in a URL or
        # megabytes: escaped, redacted and bounded here, so every error line is safe to print.
        one_line = " ".join(message.split("\n"))
        super().__init__(clip(show(redact_urls(one_line)), MAX_MESSAGE))
        #: the library parameter the error is about, for the CLI's flag hint
        self.option = option

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(PromgateError):
    """The command line is wrong (unknown option value, missing file, ...)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The config file is wrong; names the file, line and key when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str = "",
        option: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.key = key
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        what = f"{key}: " if key else ""
        super().__init__(f"{where}{what}{message}", option=option)


class QuerySyntaxError(ConfigError):
    """A (templated) PromQL expression does not parse."""


class PrometheusError(PromgateError):
    """Prometheus could not answer; never confused with a failed threshold."""

    exit_code = ExitCode.PROMETHEUS


class PrometheusUnavailable(PrometheusError):
    """Unreachable, timing out, answering 5xx after retries, or not a Prometheus API."""


class QueryError(PrometheusError):
    """Prometheus rejected or failed a query at execution time."""


class RunError(PromgateError):
    """The run to judge cannot be judged (unknown, or not finished)."""

    exit_code = ExitCode.FAIL


class RunNotFound(RunError):
    pass


class RunNotFinished(RunError):
    pass

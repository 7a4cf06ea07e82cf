"""Command-line options, their validation, and the choice of run id."""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ConfigError",
    "ExporterConfig",
    "add_arguments",
    "config_from_options",
    "default_run_id",
]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the exporter sets itself on locust_run_info or that the Pushgateway/Prometheus own.
_RESERVED_LABELS = frozenset(
    {"job", "run_id", "instance", "testplan", "environment", "host", "locust_version",
     "exporter_version", "le", "quantile"}
)  # fmt: skip


class ConfigError(ValueError):
    """An exporter option has an invalid value."""


@dataclass(frozen=True)
class ExporterConfig:
    pushgateway: str = ""
    run_id: str = ""
    run_id_file: str = ""
    push_interval: float = 5.0
    push_timeout: float = 5.0
    job: str = "locust"
    labels: Mapping[str, str] = field(default_factory=dict)
    testplan: str = ""
    environment: str = ""
    linger: float = 30.0
    keep: bool = False
    max_endpoints: int = 1000
    basic_auth_user: str = ""
    basic_auth_password: str = ""
    bearer_token_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""
    insecure_skip_verify: bool = False
    gzip: bool = False
    listen: tuple[str, int] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.pushgateway) or self.listen is not None


# (flags, env var suffix, kwargs). One table so --help, env vars and locust.conf stay in step.
_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--prometheus-pushgateway", "PUSHGATEWAY", dict(metavar="URL", default="",
        help="Pushgateway URL, e.g. http://127.0.0.1:9091. Empty: the exporter pushes nothing.")),
    ("--prometheus-run-id", "RUN_ID", dict(metavar="ID", default="",
        help="Run id label (grouping key with job). Default: the CI run id "
             "(GITHUB_RUN_ID, CI_PIPELINE_ID, BUILD_BUILDID, BUILD_TAG, BUILD_NUMBER) or "
             "a timestamp plus random suffix.")),
    ("--prometheus-run-id-file", "RUN_ID_FILE", dict(metavar="PATH", default="",
        help="Write the run id to PATH, for the CI step that runs the gate.")),
    ("--prometheus-push-interval", "PUSH_INTERVAL", dict(metavar="SECONDS", type=float,
        default=5.0, help="Seconds between pushes during the run (default 5).")),
    ("--prometheus-push-timeout", "PUSH_TIMEOUT", dict(metavar="SECONDS", type=float,
        default=5.0, help="HTTP timeout of one push attempt (default 5).")),
    ("--prometheus-job", "JOB", dict(metavar="NAME", default="locust",
        help="Pushgateway job label (default locust).")),
    ("--prometheus-label", "LABEL", dict(metavar="KEY=VALUE", action="append", default=[],
        help="Extra label on locust_run_info; repeatable.")),
    ("--prometheus-testplan", "TESTPLAN", dict(metavar="NAME", default="",
        help="testplan label on locust_run_info.")),
    ("--prometheus-environment", "ENVIRONMENT", dict(metavar="NAME", default="",
        help="environment label on locust_run_info.")),
    ("--prometheus-linger", "LINGER", dict(metavar="SECONDS", type=float, default=30.0,
        help="Seconds between the final push and deleting the group (default 30; "
             "keep it at least one Prometheus scrape interval).")),
    ("--prometheus-keep", "KEEP", dict(action="store_true", default=False,
        help="Keep the group in the Pushgateway after the run (no delete).")),
    ("--prometheus-max-endpoints", "MAX_ENDPOINTS", dict(metavar="N", type=int, default=1000,
        help="Endpoints beyond N fold into name=\"__other__\" (default 1000); also caps "
             "distinct error series.")),
    ("--prometheus-basic-auth-user", "BASIC_AUTH_USER", dict(metavar="USER", default="",
        help="Basic auth user for the Pushgateway.")),
    ("--prometheus-basic-auth-password", "BASIC_AUTH_PASSWORD", dict(metavar="PASSWORD",
        default="", help="Basic auth password for the Pushgateway.")),
    ("--prometheus-bearer-token-file", "BEARER_TOKEN_FILE", dict(metavar="PATH", default="",
        help="File holding a bearer token for the Pushgateway.")),
    ("--prometheus-cert-file", "CERT_FILE", dict(metavar="PATH", default="",
        help="Client certificate (PEM) for mutual TLS.")),
    ("--prometheus-key-file", "KEY_FILE", dict(metavar="PATH", default="",
        help="Client key (PEM) for mutual TLS.")),
    ("--prometheus-ca-file", "CA_FILE", dict(metavar="PATH", default="",
        help="CA bundle to verify the Pushgateway's certificate.")),
    ("--prometheus-insecure-skip-verify", "INSECURE_SKIP_VERIFY", dict(action="store_true",
        default=False, help="Do not verify the Pushgateway's TLS certificate.")),
    ("--prometheus-gzip", "GZIP", dict(action="store_true", default=False,
        help="gzip the pushed payload (Content-Encoding: gzip).")),
    ("--prometheus-listen", "LISTEN", dict(metavar="HOST:PORT", default="",
        help="Also serve the metrics on http://HOST:PORT/metrics (pull mode, master/local only).")),
]  # fmt: skip

_SECRET = frozenset({"--prometheus-basic-auth-password"})


def add_arguments(parser: Any) -> None:
    """Add the exporter's options to Locust's parser (listener of ``init_command_line_parser``)."""
    group = parser.add_argument_group(
        "Prometheus exporter (locust_prometheus)",
        "Push live metrics to a Pushgateway. Only the master or the local runner pushes.",
    )
    for flag, suffix, kwargs in _OPTIONS:
        # argparse groups do not take Locust's web-UI keywords; set them on the action instead.
        action = group.add_argument(flag, env_var=f"LOCUST_PROMETHEUS_{suffix}", **kwargs)
        action.include_in_web_ui = False
        action.is_secret = flag in _SECRET
        action.is_required = False
        action.is_multiple = False


def default_run_id(
    env: Mapping[str, str] | None = None, now: _dt.datetime | None = None, token: str | None = None
) -> str:
    """The CI system's run id if there is one, else a UTC timestamp plus a random suffix."""
    env = os.environ if env is None else env
    if env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT') or '1'}"
    for var in ("CI_PIPELINE_ID", "BUILD_BUILDID", "BUILD_TAG", "BUILD_NUMBER"):
        if env.get(var):
            return env[var]
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{token or secrets.token_hex(3)}"


def _parse_labels(items: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"invalid --prometheus-label {item!r}: missing '=' (use KEY=VALUE)")
        if not _LABEL_NAME.match(key):
            raise ConfigError(
                f"invalid --prometheus-label {item!r}: {key!r} is not a label name "
                "(letters, digits and _, not starting with a digit)"
            )
        if key in _RESERVED_LABELS or key.startswith("__"):
            raise ConfigError(
                f"invalid --prometheus-label {item!r}: {key!r} is reserved "
                "(use --prometheus-testplan/--prometheus-environment, or another name)"
            )
        labels[key] = value
    return labels


def _parse_listen(text: str) -> tuple[str, int] | None:
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"invalid --prometheus-listen {text!r}: expected HOST:PORT (e.g. :9646)")
    return host.strip("[]") or "0.0.0.0", int(port)


def config_from_options(options: Any, env: Mapping[str, str] | None = None) -> ExporterConfig:
    """Validate Locust's parsed options; raises ConfigError with a ``what: detail (hint)`` text."""

    def get(name: str, default: Any) -> Any:
        value = getattr(options, name, default)
        return default if value is None else value

    pushgateway = str(get("prometheus_pushgateway", "")).strip()
    if pushgateway and "://" not in pushgateway:
        pushgateway = f"http://{pushgateway}"
    if pushgateway and not pushgateway.startswith(("http://", "https://")):
        raise ConfigError(
            f"invalid --prometheus-pushgateway {pushgateway!r}: unsupported scheme "
            "(use http:// or https://)"
        )
    interval = float(get("prometheus_push_interval", 5.0))
    if interval <= 0:
        raise ConfigError(
            f"invalid --prometheus-push-interval {interval}: must be > 0 (seconds, e.g. 5)"
        )
    timeout = float(get("prometheus_push_timeout", 5.0))
    if timeout <= 0:
        raise ConfigError(
            f"invalid --prometheus-push-timeout {timeout}: must be > 0 (seconds, e.g. 5)"
        )
    linger = float(get("prometheus_linger", 30.0))
    if linger < 0:
        raise ConfigError(
            f"invalid --prometheus-linger {linger}: must be >= 0 "
            "(at least one scrape interval, or use --prometheus-keep)"
        )
    max_endpoints = int(get("prometheus_max_endpoints", 1000))
    if max_endpoints < 1:
        raise ConfigError(
            f"invalid --prometheus-max-endpoints {max_endpoints}: must be >= 1 (default 1000)"
        )
    job = str(get("prometheus_job", "locust"))
    if not job:
        raise ConfigError("invalid --prometheus-job '': must not be empty (default: locust)")
    cert, key = str(get("prometheus_cert_file", "")), str(get("prometheus_key_file", ""))
    if bool(cert) != bool(key):
        raise ConfigError(
            "invalid TLS client options: --prometheus-cert-file and --prometheus-key-file "
            "go together (give both or neither)"
        )
    user = str(get("prometheus_basic_auth_user", ""))
    password = str(get("prometheus_basic_auth_password", ""))
    token_file = str(get("prometheus_bearer_token_file", ""))
    if user and token_file:
        raise ConfigError(
            "invalid auth options: basic auth and a bearer token are exclusive (choose one)"
        )
    run_id = str(get("prometheus_run_id", "")) or default_run_id(env)
    return ExporterConfig(
        pushgateway=pushgateway.rstrip("/"),
        run_id=run_id,
        run_id_file=str(get("prometheus_run_id_file", "")),
        push_interval=interval,
        push_timeout=timeout,
        job=job,
        labels=_parse_labels(list(get("prometheus_label", []))),
        testplan=str(get("prometheus_testplan", "")),
        environment=str(get("prometheus_environment", "")),
        linger=linger,
        keep=bool(get("prometheus_keep", False)),
        max_endpoints=max_endpoints,
        basic_auth_user=user,
        basic_auth_password=password,
        bearer_token_file=token_file,
        cert_file=cert,
        key_file=key,
        ca_file=str(get("prometheus_ca_file", "")),
        insecure_skip_verify=bool(get("prometheus_insecure_skip_verify", False)),
        gzip=bool(get("prometheus_gzip", False)),
        listen=_parse_listen(str(get("prometheus_listen", ""))),
    )

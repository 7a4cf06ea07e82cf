"""Command-line options, their validation, and the choice of run id."""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULTS",
    "OPTIONS",
    "ConfigError",
    "ExporterConfig",
    "Option",
    "add_arguments",
    "config_from_options",
    "default_run_id",
]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the exporter sets itself on locust_run_info or that the Pushgateway/Prometheus own.
_RESERVED_LABELS = frozenset(
    {"job", "run_id", "instance", "testplan", "environment", "host", "locust_version",
     "exporter_version", "le", "quantile", "users", "spawn_rate", "locustfile_digest"}
)  # fmt: skip


class ConfigError(ValueError):
    """An exporter option has an invalid value."""


@dataclass(frozen=True)
class Option:
    """One exporter option: the flag ``--prometheus-<stem>``, the variable
    ``LOCUST_PROMETHEUS_<STEM>``, the locust.conf key ``prometheus-<stem>``, and its default.
    ``help`` may say ``%(default)s``: argparse fills it in from ``default``."""

    stem: str
    default: str | float | int | bool | list[str]
    help: str
    metavar: str | None = None
    secret: bool = False

    @property
    def flag(self) -> str:
        return "--prometheus-" + self.stem.replace("_", "-")

    @property
    def env_var(self) -> str:
        return "LOCUST_PROMETHEUS_" + self.stem.upper()

    @property
    def dest(self) -> str:
        return "prometheus_" + self.stem


#: The one table of the exporter's options. ``ExporterConfig``'s defaults, --help, the
#: environment variables and locust.conf all come from it; a unit test holds docs/exporter.md to it.
OPTIONS: tuple[Option, ...] = (
    Option("pushgateway", "", "Pushgateway URL, e.g. http://127.0.0.1:9091. Empty: the exporter "
           "pushes nothing.", "URL"),
    Option("remote_write", "", "Prometheus remote-write URL (instead of a Pushgateway), e.g. "
           "http://127.0.0.1:9090/api/v1/write; the auth, TLS and header options apply to it.",
           "URL"),
    Option("header", [], "Extra HTTP header on every push or remote write, e.g. "
           "X-Scope-OrgID=tenant1; repeatable.", "NAME=VALUE"),
    Option("run_id", "", "Run id label (grouping key with job). Default: the CI run id "
           "(GITHUB_RUN_ID, CI_PIPELINE_ID, BUILD_BUILDID, BUILD_TAG, BUILD_NUMBER) or "
           "a timestamp plus random suffix.", "ID"),
    Option("run_id_file", "", "Write the run id to PATH, for the CI step that runs the gate.",
           "PATH"),
    Option("push_interval", 5.0, "Seconds between pushes during the run (default %(default)g).",
           "SECONDS"),
    Option("push_timeout", 5.0, "Limit of one whole push attempt (default %(default)g).",
           "SECONDS"),
    Option("job", "locust", "Pushgateway job label (default %(default)s).", "NAME"),
    Option("label", [], "Extra label on locust_run_info; repeatable.", "KEY=VALUE"),
    Option("testplan", "", "testplan label on locust_run_info.", "NAME"),
    Option("environment", "", "environment label on locust_run_info.", "NAME"),
    Option("linger", 30.0, "Seconds between the final push and deleting the group (default "
           "%(default)g; keep it at least one Prometheus scrape interval).", "SECONDS"),
    Option("keep", False, "Keep the group in the Pushgateway after the run (no delete)."),
    Option("max_endpoints", 1000, 'Endpoints beyond N fold into name="__other__" (default '
           "%(default)s); also caps distinct error series.", "N"),
    Option("basic_auth_user", "", "Basic auth user for the Pushgateway.", "USER"),
    Option("basic_auth_password", "", "Basic auth password for the Pushgateway (prefer the "
           "environment variable: a command line shows in ps).", "PASSWORD", secret=True),
    Option("bearer_token_file", "", "File holding a bearer token for the Pushgateway.", "PATH"),
    Option("sigv4_region", "", "Sign remote write with AWS SigV4 for this region (Amazon "
           "Managed Service for Prometheus); credentials from the standard AWS chain. Needs "
           "promgate[aws].", "REGION"),
    Option("sigv4_profile", "", "AWS profile for the SigV4 credentials (default: AWS_PROFILE "
           "or the default chain).", "PROFILE"),
    Option("cert_file", "", "Client certificate (PEM) for mutual TLS.", "PATH"),
    Option("key_file", "", "Client key (PEM) for mutual TLS.", "PATH"),
    Option("ca_file", "", "CA bundle to verify the Pushgateway's certificate.", "PATH"),
    Option("insecure_skip_verify", False, "Do not verify the Pushgateway's TLS certificate."),
    Option("gzip", False, "gzip the pushed payload (Content-Encoding: gzip)."),
    Option("listen", "", "Also serve the metrics on http://HOST:PORT/metrics (pull mode, "
           "master/local only; :PORT is 127.0.0.1 only, 0.0.0.0:PORT every interface).",
           "HOST:PORT"),
    Option("listen_auth_file", "", "File holding USER:PASSWORD: /metrics asks for basic auth.",
           "PATH"),
    Option("listen_cert_file", "", "Certificate (PEM): serve /metrics over HTTPS (with the key "
           "file).", "PATH"),
    Option("listen_key_file", "", "Key (PEM) of the /metrics certificate.", "PATH"),
    Option("grafana_url", "", "Grafana base URL, e.g. http://127.0.0.1:3000: log a link to "
           "the run's dashboard at test start.", "URL"),
)  # fmt: skip

DEFAULTS: Mapping[str, Any] = {o.stem: o.default for o in OPTIONS}


@dataclass(frozen=True)
class ExporterConfig:
    pushgateway: str = DEFAULTS["pushgateway"]
    remote_write: str = DEFAULTS["remote_write"]
    #: parsed from ``--prometheus-header``
    headers: tuple[tuple[str, str], ...] = ()
    run_id: str = DEFAULTS["run_id"]
    run_id_file: str = DEFAULTS["run_id_file"]
    push_interval: float = DEFAULTS["push_interval"]
    push_timeout: float = DEFAULTS["push_timeout"]
    job: str = DEFAULTS["job"]
    #: parsed from ``--prometheus-label``
    labels: Mapping[str, str] = field(default_factory=dict)
    testplan: str = DEFAULTS["testplan"]
    environment: str = DEFAULTS["environment"]
    linger: float = DEFAULTS["linger"]
    keep: bool = DEFAULTS["keep"]
    max_endpoints: int = DEFAULTS["max_endpoints"]
    basic_auth_user: str = DEFAULTS["basic_auth_user"]
    #: kept out of repr(): a config logged or shown in a traceback never holds the password
    basic_auth_password: str = field(default=DEFAULTS["basic_auth_password"], repr=False)
    bearer_token_file: str = DEFAULTS["bearer_token_file"]
    sigv4_region: str = DEFAULTS["sigv4_region"]
    sigv4_profile: str = DEFAULTS["sigv4_profile"]
    cert_file: str = DEFAULTS["cert_file"]
    key_file: str = DEFAULTS["key_file"]
    ca_file: str = DEFAULTS["ca_file"]
    insecure_skip_verify: bool = DEFAULTS["insecure_skip_verify"]
    gzip: bool = DEFAULTS["gzip"]
    #: parsed from ``--prometheus-listen``; None: no /metrics server
    listen: tuple[str, int] | None = None
    listen_auth_file: str = DEFAULTS["listen_auth_file"]
    listen_cert_file: str = DEFAULTS["listen_cert_file"]
    listen_key_file: str = DEFAULTS["listen_key_file"]
    grafana_url: str = DEFAULTS["grafana_url"]

    @property
    def enabled(self) -> bool:
        return bool(self.pushgateway or self.remote_write) or self.listen is not None


def add_arguments(parser: Any) -> None:
    """Add the exporter's options to Locust's parser (listener of ``init_command_line_parser``)."""
    group = parser.add_argument_group(
        "Prometheus exporter (locust_prometheus)",
        "Push live metrics to a Pushgateway or a remote-write receiver. Only the master or the "
        "local runner pushes.",
    )
    for option in OPTIONS:
        default = option.default
        kwargs: dict[str, Any] = {"default": default, "help": option.help}
        if isinstance(default, bool):
            kwargs["action"] = "store_true"
        elif isinstance(default, list):
            kwargs.update(action="append", default=list(default), metavar=option.metavar)
        else:
            kwargs.update(type=type(default), metavar=option.metavar)
        # argparse groups do not take Locust's web-UI keywords; set them on the action instead.
        action = group.add_argument(option.flag, env_var=option.env_var, **kwargs)
        action.include_in_web_ui = False
        action.is_secret = option.secret
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


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _parse_headers(items: list[str]) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _HEADER_NAME.match(name):
            raise ConfigError(
                f"invalid --prometheus-header {name!r}: expected NAME=VALUE with an HTTP header "
                "name (e.g. X-Scope-OrgID=tenant1)"
            )
        if any(c in value for c in "\r\n\0"):
            raise ConfigError(
                f"invalid --prometheus-header {name}: the value has a line break or NUL "
                "(give one line)"
            )
        headers.append((name, value))
    return tuple(headers)


def _parse_listen(text: str) -> tuple[str, int] | None:
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"invalid --prometheus-listen {text!r}: expected HOST:PORT (e.g. :9646)")
    # No host: loopback only. The metrics name the system under test's endpoints; serving them
    # to the network is a choice (0.0.0.0:PORT), never a default (docs/security.md).
    return host.strip("[]") or "127.0.0.1", int(port)


_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$")


def _sigv4(region: str, profile: str) -> tuple[str, str]:
    region, profile = region.strip(), profile.strip()
    if profile and not region:
        raise ConfigError(
            "invalid --prometheus-sigv4-profile: it needs --prometheus-sigv4-region "
            "(the region turns signing on)"
        )
    if region and not _AWS_REGION.match(region):
        raise ConfigError(
            f"invalid --prometheus-sigv4-region {region!r}: not an AWS region "
            "(e.g. us-east-1, the region of the workspace)"
        )
    return region, profile


def _sigv4_alone(
    pushgateway: str, remote_write: str, user: str, token_file: str,
    headers: tuple[tuple[str, str], ...],
) -> None:  # fmt: skip
    """SigV4 is the request's whole authentication, and only remote write takes it."""
    if not remote_write:
        sink = "--prometheus-pushgateway" if pushgateway else "no sink"
        raise ConfigError(
            f"invalid --prometheus-sigv4-region with {sink}: SigV4 signs remote write only "
            "(give --prometheus-remote-write, e.g. the workspace's .../api/v1/remote_write)"
        )
    if user or token_file or any(name.lower() == "authorization" for name, _ in headers):
        raise ConfigError(
            "invalid auth options: SigV4 signing excludes basic auth, a bearer token and an "
            "Authorization header (choose one)"
        )


def _url(flag: str, text: str) -> str:
    """``host:port`` means ``http://host:port``, as for the gate's Prometheus URL."""
    url = text.strip()
    if url and "://" not in url:
        url = f"http://{url}"
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"invalid {flag} {url!r}: unsupported scheme (use http:// or https://)")
    return url.rstrip("/")


def config_from_options(options: Any, env: Mapping[str, str] | None = None) -> ExporterConfig:
    """Validate Locust's parsed options; raises ConfigError with a ``what: detail (hint)`` text."""

    def get(stem: str) -> Any:
        value = getattr(options, "prometheus_" + stem, None)
        return DEFAULTS[stem] if value is None else value

    interval, timeout, linger = _seconds(get)
    max_endpoints = int(get("max_endpoints"))
    if max_endpoints < 1:
        raise ConfigError(
            f"invalid --prometheus-max-endpoints {max_endpoints}: must be >= 1 "
            f"(default {DEFAULTS['max_endpoints']})"
        )
    job = str(get("job"))
    if not job:
        raise ConfigError(
            f"invalid --prometheus-job '': must not be empty (default: {DEFAULTS['job']})"
        )
    _check_pairs(get)
    pushgateway, remote_write = _sink(get)
    headers = _parse_headers(list(get("header")))
    sigv4_region, sigv4_profile = _sigv4(str(get("sigv4_region")), str(get("sigv4_profile")))
    user, token_file = str(get("basic_auth_user")), str(get("bearer_token_file"))
    if sigv4_region:
        _sigv4_alone(pushgateway, remote_write, user, token_file, headers)
    return ExporterConfig(
        pushgateway=pushgateway,
        remote_write=remote_write,
        headers=headers,
        run_id=str(get("run_id")) or default_run_id(env),
        run_id_file=str(get("run_id_file")),
        push_interval=interval,
        push_timeout=timeout,
        job=job,
        labels=_parse_labels(list(get("label"))),
        testplan=str(get("testplan")),
        environment=str(get("environment")),
        linger=linger,
        keep=bool(get("keep")),
        max_endpoints=max_endpoints,
        basic_auth_user=user,
        basic_auth_password=str(get("basic_auth_password")),
        bearer_token_file=token_file,
        sigv4_region=sigv4_region,
        sigv4_profile=sigv4_profile,
        cert_file=str(get("cert_file")),
        key_file=str(get("key_file")),
        ca_file=str(get("ca_file")),
        insecure_skip_verify=bool(get("insecure_skip_verify")),
        gzip=bool(get("gzip")),
        listen=_parse_listen(str(get("listen"))),
        listen_auth_file=str(get("listen_auth_file")),
        listen_cert_file=str(get("listen_cert_file")),
        listen_key_file=str(get("listen_key_file")),
        grafana_url=_url("--prometheus-grafana-url", str(get("grafana_url"))),
    )


def _seconds(get: Callable[[str], Any]) -> tuple[float, float, float]:
    """The push interval and timeout (> 0) and the linger (>= 0); NaN too is refused: a loop
    on NaN seconds never waits."""
    interval = float(get("push_interval"))
    if not 0 < interval < math.inf:
        raise ConfigError(
            f"invalid --prometheus-push-interval {interval}: must be > 0 (seconds, e.g. 5)"
        )
    timeout = float(get("push_timeout"))
    if not 0 < timeout < math.inf:
        raise ConfigError(
            f"invalid --prometheus-push-timeout {timeout}: must be > 0 (seconds, e.g. 5)"
        )
    linger = float(get("linger"))
    if not 0 <= linger < math.inf:
        raise ConfigError(
            f"invalid --prometheus-linger {linger}: must be >= 0 "
            "(at least one scrape interval, or use --prometheus-keep)"
        )
    return interval, timeout, linger


def _check_pairs(get: Callable[[str], Any]) -> None:
    """Options that go together (a certificate and its key) or exclude each other."""
    if bool(str(get("cert_file"))) != bool(str(get("key_file"))):
        raise ConfigError(
            "invalid TLS client options: --prometheus-cert-file and --prometheus-key-file "
            "go together (give both or neither)"
        )
    if bool(str(get("listen_cert_file"))) != bool(str(get("listen_key_file"))):
        raise ConfigError(
            "invalid /metrics TLS options: --prometheus-listen-cert-file and "
            "--prometheus-listen-key-file go together (give both or neither)"
        )
    if str(get("basic_auth_user")) and str(get("bearer_token_file")):
        raise ConfigError(
            "invalid auth options: basic auth and a bearer token are exclusive (choose one)"
        )


def _sink(get: Callable[[str], Any]) -> tuple[str, str]:
    """Where the samples go: a Pushgateway or a remote-write endpoint (or neither: /metrics)."""
    pushgateway = _url("--prometheus-pushgateway", str(get("pushgateway")))
    remote_write = _url("--prometheus-remote-write", str(get("remote_write")))
    if pushgateway and remote_write:
        raise ConfigError(
            "invalid sink options: --prometheus-pushgateway and --prometheus-remote-write are "
            "exclusive (choose one)"
        )
    return pushgateway, remote_write

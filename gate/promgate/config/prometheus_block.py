"""The config's ``prometheus:`` block (URL, timeout, retries, auth, AWS SigV4, TLS, headers,
ingestion delay) as ``PrometheusSettings``; every error names the file, line and
``prometheus.KEY``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from ..prometheus.aws_sigv4 import check_region
from ..prometheus.http_values import check_base_url, check_header, check_secret_text
from ..prometheus.settings import PrometheusSettings
from .yamldoc import YamlDoc, opt_str, unknown_key

__all__ = ["PROMETHEUS_KEYS", "parse_prometheus"]


def parse_prometheus(doc: YamlDoc, node: yaml.Node) -> PrometheusSettings:
    m = doc.mapping(node, "prometheus")
    kwargs: dict[str, Any] = {}
    strings = ("url", "bearer_token", "bearer_token_file", "ca_file", "cert_file", "key_file")
    for name, (knode, vnode) in m.items():
        key = f"prometheus.{name}"
        if name in strings:
            kwargs[name] = opt_str(doc, m, name, "prometheus")
        elif name in ("timeout", "retry_wait"):
            val = float(doc.typed(vnode, key, (int, float), "seconds"))
            if not 0 < val <= MAX_SECONDS:
                raise doc.fail(vnode, key, f"must be > 0 and <= {MAX_SECONDS:g} seconds")
            kwargs[name] = val
        elif name == "ingestion_delay":
            val = float(doc.typed(vnode, key, (int, float), "seconds"))
            if not 0 <= val <= 3600:
                raise doc.fail(vnode, key, "must be between 0 and 3600 (seconds)")
            kwargs[name] = val
        elif name == "retries":
            val = doc.typed(vnode, key, int, "an integer")
            if not 1 <= val <= MAX_RETRIES:
                raise doc.fail(vnode, key, f"must be 1 to {MAX_RETRIES} (attempts per query)")
            kwargs[name] = val
        elif name == "insecure_skip_verify":
            kwargs[name] = doc.typed(vnode, key, bool, "true or false")
        elif name == "basic_auth":
            auth = doc.mapping(vnode, key)
            for sub in auth:
                if sub not in ("username", "password", "password_file"):
                    raise doc.fail(
                        auth[sub][0],
                        f"{key}.{sub}",
                        unknown_key(sub, ("username", "password", "password_file")),
                    )
            kwargs["username"] = opt_str(doc, auth, "username", key)
            kwargs["password"] = opt_str(doc, auth, "password", key)
            pw_file = opt_str(doc, auth, "password_file", key)
            if pw_file:
                try:
                    kwargs["password"] = Path(pw_file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise doc.fail(
                        auth["password_file"][1], f"{key}.password_file", f"cannot read: {exc}"
                    ) from None
        elif name == "sigv4":
            kwargs.update(_sigv4(doc, vnode, key))
        elif name == "headers":
            headers = doc.value(vnode, key)
            if not isinstance(headers, dict) or not all(
                isinstance(v, (str, int)) for v in headers.values()
            ):
                raise doc.fail(vnode, key, "expected a mapping of header names to strings")
            kwargs[name] = {str(k): str(v) for k, v in headers.items()}
            for hname, hvalue in kwargs[name].items():
                _http_value(doc, vnode, f"{key}.{hname}", check_header, hname, hvalue)
        else:
            raise doc.fail(knode, key, unknown_key(name, PROMETHEUS_KEYS))
    if kwargs.get("url"):
        _http_value(doc, m["url"][1], "prometheus.url", _url, kwargs["url"])
    if kwargs.get("bearer_token"):
        node_ = m["bearer_token"][1]
        _http_value(
            doc,
            node_,
            "prometheus.bearer_token",
            check_secret_text,
            kwargs["bearer_token"],
            "bearer_token",
        )
    if kwargs.get("bearer_token") and kwargs.get("bearer_token_file"):
        raise doc.fail(node, "prometheus", "set bearer_token or bearer_token_file, not both")
    if kwargs.get("sigv4_region"):
        other: list[str] = [
            k for k in ("basic_auth", "bearer_token", "bearer_token_file") if k in m
        ]
        other += [f"headers.{h}" for h in kwargs.get("headers", {}) if h.lower() == "authorization"]
        if other:
            raise doc.fail(
                m["sigv4"][1],
                "prometheus.sigv4",
                f"AWS SigV4 signing excludes {', '.join(other)} (choose one way to authenticate)",
            )
    return PrometheusSettings(**kwargs)


#: keys of ``prometheus.sigv4`` (Prometheus's own ``sigv4:`` block names them the same way)
SIGV4_KEYS = ("region", "profile")


def _sigv4(doc: YamlDoc, node: yaml.Node, key: str) -> dict[str, str]:
    """``sigv4: {region: eu-west-1, profile: ci}``: the region turns signing on."""
    block = doc.mapping(node, key)
    for sub in block:
        if sub not in SIGV4_KEYS:
            raise doc.fail(block[sub][0], f"{key}.{sub}", unknown_key(sub, SIGV4_KEYS))
    region = (opt_str(doc, block, "region", key) or "").strip()
    profile = (opt_str(doc, block, "profile", key) or "").strip()
    if not region:
        raise doc.fail(node, f"{key}.region", "missing: the workspace's region (e.g. us-east-1)")
    _http_value(doc, block["region"][1], f"{key}.region", check_region, region, "region")
    return {"sigv4_region": region, **({"sigv4_profile": profile} if profile else {})}


#: bounds of timeout and retry_wait (seconds) and of retries: beyond them a socket timeout
#: overflows, and a gate would wait for days
MAX_SECONDS = 3600.0
MAX_RETRIES = 100


def _url(url: str) -> None:
    # The same reading as ``check --prometheus``: ``host:port`` means http://host:port.
    check_base_url(url if "://" in url else f"http://{url}")


def _http_value(doc: YamlDoc, node: yaml.Node, key: str, check: Any, *values: str) -> None:
    """Run a check of ``prometheus.http_values`` as a config error at ``node``."""
    try:
        check(*values)
    except UsageError as exc:
        raise doc.fail(node, key, exc.message) from None


PROMETHEUS_KEYS = (
    "url",
    "timeout",
    "retries",
    "retry_wait",
    "basic_auth",
    "bearer_token",
    "bearer_token_file",
    "ca_file",
    "cert_file",
    "key_file",
    "insecure_skip_verify",
    "headers",
    "ingestion_delay",
    "sigv4",
)

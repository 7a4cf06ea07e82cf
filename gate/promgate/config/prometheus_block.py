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


_STRINGS = ("url", "bearer_token", "bearer_token_file", "ca_file", "cert_file", "key_file")
_AUTH_KEYS = ("username", "password", "password_file")


def parse_prometheus(doc: YamlDoc, node: yaml.Node) -> PrometheusSettings:
    m = doc.mapping(node, "prometheus")
    kwargs: dict[str, Any] = {}
    for name, (knode, vnode) in m.items():
        if name not in PROMETHEUS_KEYS:
            raise doc.fail(knode, f"prometheus.{name}", unknown_key(name, PROMETHEUS_KEYS))
        kwargs.update(_setting(doc, m, name, vnode))
    if kwargs.get("url"):
        _http_value(doc, m["url"][1], "prometheus.url", _url, kwargs["url"])
    if kwargs.get("bearer_token"):
        token = kwargs["bearer_token"]
        _http_value(
            doc,
            m["bearer_token"][1],
            "prometheus.bearer_token",
            check_secret_text,
            token,
            "bearer_token",
        )
    if kwargs.get("bearer_token") and kwargs.get("bearer_token_file"):
        raise doc.fail(node, "prometheus", "set bearer_token or bearer_token_file, not both")
    if kwargs.get("sigv4_region"):
        _sigv4_alone(doc, m, kwargs)
    return PrometheusSettings(**kwargs)


def _setting(
    doc: YamlDoc, m: dict[str, tuple[yaml.Node, yaml.Node]], name: str, vnode: yaml.Node
) -> dict[str, Any]:
    """One key of the block as ``PrometheusSettings`` arguments, checked."""
    key = f"prometheus.{name}"
    if name in _STRINGS:
        return {name: opt_str(doc, m, name, "prometheus")}
    if name in ("timeout", "retry_wait"):
        val = float(doc.typed(vnode, key, (int, float), "seconds"))
        if not 0 < val <= MAX_SECONDS:
            raise doc.fail(vnode, key, f"must be > 0 and <= {MAX_SECONDS:g} seconds")
        return {name: val}
    if name == "ingestion_delay":
        val = float(doc.typed(vnode, key, (int, float), "seconds"))
        if not 0 <= val <= 3600:
            raise doc.fail(vnode, key, "must be between 0 and 3600 (seconds)")
        return {name: val}
    if name == "retries":
        retries = doc.typed(vnode, key, int, "an integer")
        if not 1 <= retries <= MAX_RETRIES:
            raise doc.fail(vnode, key, f"must be 1 to {MAX_RETRIES} (attempts per query)")
        return {name: retries}
    if name == "insecure_skip_verify":
        return {name: doc.typed(vnode, key, bool, "true or false")}
    if name == "basic_auth":
        return _basic_auth(doc, vnode, key)
    if name == "sigv4":
        return _sigv4(doc, vnode, key)
    return {name: _headers(doc, vnode, key)}


def _basic_auth(doc: YamlDoc, vnode: yaml.Node, key: str) -> dict[str, Any]:
    """``username`` and ``password`` (or ``password_file``, read now)."""
    auth = doc.mapping(vnode, key)
    for sub in auth:
        if sub not in _AUTH_KEYS:
            raise doc.fail(auth[sub][0], f"{key}.{sub}", unknown_key(sub, _AUTH_KEYS))
    found = {
        "username": opt_str(doc, auth, "username", key),
        "password": opt_str(doc, auth, "password", key),
    }
    pw_file = opt_str(doc, auth, "password_file", key)
    if pw_file:
        try:
            found["password"] = Path(pw_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise doc.fail(
                auth["password_file"][1], f"{key}.password_file", f"cannot read: {exc}"
            ) from None
    return found


def _headers(doc: YamlDoc, vnode: yaml.Node, key: str) -> dict[str, str]:
    headers = doc.value(vnode, key)
    if not isinstance(headers, dict) or not all(
        isinstance(v, (str, int)) for v in headers.values()
    ):
        raise doc.fail(vnode, key, "expected a mapping of header names to strings")
    found = {str(k): str(v) for k, v in headers.items()}
    for hname, hvalue in found.items():
        _http_value(doc, vnode, f"{key}.{hname}", check_header, hname, hvalue)
    return found


#: keys of ``prometheus.sigv4`` (Prometheus's own ``sigv4:`` block names them the same way)
SIGV4_KEYS = ("region", "profile")


def _sigv4_alone(
    doc: YamlDoc, m: dict[str, tuple[yaml.Node, yaml.Node]], kwargs: dict[str, Any]
) -> None:
    """SigV4 signs every request itself: no other way to authenticate beside it."""
    other: list[str] = [k for k in ("basic_auth", "bearer_token", "bearer_token_file") if k in m]
    other += [f"headers.{h}" for h in kwargs.get("headers", {}) if h.lower() == "authorization"]
    if other:
        raise doc.fail(
            m["sigv4"][1],
            "prometheus.sigv4",
            f"AWS SigV4 signing excludes {', '.join(other)} (choose one way to authenticate)",
        )


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

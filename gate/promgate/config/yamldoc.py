"""A composed YAML node tree with typed access, ``${VAR}`` interpolation and errors that name
the file, line (from the node's mark) and key."""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_NODES",
    "SECRET_KEYS",
    "YamlDoc",
    "compose_config",
    "join_key",
    "opt_str",
    "unknown_key",
]

#: a config larger than this is refused before it is parsed (a real one is a few KB)
MAX_CONFIG_BYTES = 1_000_000
#: nodes of the document with every alias expanded: a nine-level alias bomb of 588 bytes
#: expands to a billion, which would hang every reader of the config
MAX_NODES = 100_000

#: Key parts of credential fields: an unset ``${VAR}`` there may be only a note (lint).
SECRET_KEYS = frozenset({"password", "bearer_token", "username", "headers"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class YamlDoc:
    """A composed YAML node tree with typed access that reports file:line:key on errors."""

    def __init__(
        self, source: str, env: Mapping[str, str], secret_notes: list[str] | None = None
    ) -> None:
        self.source = source
        self.env = env
        #: when a list, an unset variable in a credential field is noted here, not an error
        self.secret_notes = secret_notes
        self._loader = yaml.SafeLoader("")

    def fail(self, node: yaml.Node | None, key: str, message: str) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return ConfigError(message, file=self.source, line=line, key=key)

    def mapping(self, node: yaml.Node, key: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise self.fail(knode, key, "keys must be plain strings")
            name = str(knode.value)
            if _SURROGATE.search(name):
                raise self.fail(knode, key, "invalid key: a lone surrogate (\\ud800-\\udfff)")
            if name in out:
                raise self.fail(knode, join_key(key, name), "duplicate key")
            out[name] = (knode, vnode)
        return out

    def value(self, node: yaml.Node, key: str, *, interpolate: bool = True) -> Any:
        if isinstance(node, yaml.ScalarNode):
            try:
                val = self._loader.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError) as exc:
                # Unknown tags (!foo, !!python/...) and malformed typed scalars.
                problem = getattr(exc, "problem", None) or str(exc)
                raise self.fail(node, key, f"invalid value: {problem}") from None
            if isinstance(val, str) and _SURROGATE.search(val):
                raise self.fail(node, key, "invalid value: a lone surrogate (\\ud800-\\udfff)")
            if isinstance(val, str) and interpolate and "$" in val:
                val = self.interpolate(val, node, key)
                if node.style is None and val.strip():
                    # An unquoted ${VAR} may carry a number or boolean: type it as YAML would.
                    val = _retype(val)
            return val
        if isinstance(node, yaml.SequenceNode):
            return [
                self.value(n, f"{key}[{i}]", interpolate=interpolate)
                for i, n in enumerate(node.value)
            ]
        return {
            k: self.value(v, join_key(key, k), interpolate=interpolate)
            for k, (_, v) in self.mapping(node, key).items()
        }

    def interpolate(self, text: str, node: yaml.Node, key: str) -> str:
        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in self.env and (self.env[name] != "" or default is None):
                return self.env[name]
            if default is not None:
                return default
            error = self.fail(
                node, key, f"environment variable {name} is not set (use ${{{name}:-default}})"
            )
            if self.secret_notes is not None and SECRET_KEYS & set(key.split(".")):
                self.secret_notes.append(f"{error.message} (promgate check needs it)")
                return ""
            raise error

        return _ENV.sub(sub, text)

    def typed(self, node: yaml.Node, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        val = self.value(node, key)
        if isinstance(val, bool) and kind is not bool and bool not in _tuple(kind):
            raise self.fail(node, key, f"expected {what}, got a boolean")
        if kind in (float, (int, float)) and isinstance(val, str):
            with contextlib.suppress(ValueError):
                val = float(val)
        if not isinstance(val, kind):
            raise self.fail(node, key, f"expected {what}, got {type(val).__name__}")
        if float in _tuple(kind):
            # One rule for every number of the config, so lint rejects what check would: a
            # 400-digit integer does not fit a float, and .inf or .nan never ends a wait.
            try:
                val = float(val)  # type: ignore[arg-type]  # an int or float here
            except OverflowError:
                raise self.fail(node, key, f"expected {what}, got a number too large") from None
            if not math.isfinite(val):
                raise self.fail(node, key, f"expected {what}, got {val}")
        return val


def compose_config(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (SafeLoader: no Python tags), refused when it is too big,
    an alias refers to itself, or the aliases expand it beyond ``MAX_NODES`` nodes."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config too large: {len(text)} characters (at most {MAX_CONFIG_BYTES})", file=source
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc} (check indentation, colons and quoting)",
            file=source,
            line=line,
        ) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=source) from None
    if root is not None:
        _expanded_size(root, source)
    return root


def _expanded_size(root: yaml.Node, source: str) -> int:
    """Nodes of the tree with aliases expanded, counted once per distinct node (memoized), with
    an explicit stack: a deep document cannot exhaust Python's recursion limit here."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise ConfigError(
                    f"invalid YAML: aliases expand the document beyond {MAX_NODES} nodes "
                    "(write the values out instead of nesting anchors)",
                    file=source,
                    line=node.start_mark.line + 1,
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError(
                "invalid YAML: an alias refers to the node that contains it (recursive anchor)",
                file=source,
                line=node.start_mark.line + 1,
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _retype(text: str) -> Any:
    try:
        val = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return val if isinstance(val, (int, float, bool)) else text


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def unknown_key(name: str, allowed: Sequence[str]) -> str:
    """``unknown key 'critcal' (did you mean 'critical'?)``, else the allowed keys."""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {name!r} (did you mean {close[0]!r}?)"
    return f"unknown key {name!r} (allowed: {', '.join(allowed)})"


def join_key(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def opt_str(
    doc: YamlDoc, m: dict[str, tuple[yaml.Node, yaml.Node]], key: str, prefix: str = ""
) -> str | None:
    """The string at ``key`` of the mapping ``m`` (None when absent or null)."""
    if key not in m:
        return None
    val = doc.value(m[key][1], join_key(prefix, key))
    if val is None:
        return None
    if isinstance(val, (dict, list)):
        raise doc.fail(m[key][1], join_key(prefix, key), "expected a string")
    return str(val)

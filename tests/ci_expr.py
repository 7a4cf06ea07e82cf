"""Expressions of the CI systems, for the step runner (tests/ci_steps.py): GitHub's ``${{ }}``
(paths, literals, ``|| && == != !``, status functions) and Azure's conditions
(``and(succeeded(), eq(variables['X'], ''))``). Only what the templates use; anything else fails
loudly rather than guessing."""

from __future__ import annotations

import re
from typing import Any, Protocol

__all__ = ["azure_condition", "github_eval", "github_fill", "text"]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>\|\||&&|==|!=|!|\(|\)|,|\[|\])"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)
_STATUS = ("success(", "failure(", "always(", "cancelled(")


class _Status(Protocol):
    @property
    def failed(self) -> bool: ...


def text(value: Any) -> str:
    """A value as the CI system writes it into an environment variable."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read expression {expr!r} at {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    return out


class _GitHub:
    def __init__(self, expr: str, ctx: dict[str, Any], job: _Status) -> None:
        self.toks = _tokens(expr)
        self.i = 0
        self.ctx = ctx
        self.job = job

    def peek(self) -> str:
        return self.toks[self.i][1] if self.i < len(self.toks) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise ValueError(f"expected {want!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.i != len(self.toks):
            raise ValueError(f"trailing tokens {self.toks[self.i :]}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.cmp()
        while self.peek() == "&&":
            self.take()
            right = self.cmp()
            value = right if _truthy(value) else value
        return value

    def cmp(self) -> Any:
        value = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            same = _loose(value) == _loose(self.unary())
            return same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, tok = self.take()
        if tok == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if kind == "num":
            return float(tok)
        if tok in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok]
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            return self.call(tok, args)
        value: Any = self.ctx
        for part in tok.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "success":
            return not self.job.failed
        if name == "failure":
            return self.job.failed
        if name == "always":
            return True
        if name == "cancelled":
            return False
        raise ValueError(f"unsupported function {name}()")


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", 0)


def _loose(value: Any) -> Any:
    return text(value).lower() if not isinstance(value, float) else value


def github_eval(expr: str, ctx: dict[str, Any], job: _Status, condition: bool = False) -> Any:
    """An ``if:`` (``condition``: success() is implied without a status function) or a value."""
    expr = expr.strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2]
    if not condition:
        return github_fill(expr, ctx, job)
    value = _GitHub(expr, ctx, job).parse()
    if not any(s in expr for s in _STATUS):
        return _truthy(value) and not job.failed
    return _truthy(value)


def github_fill(template: str, ctx: dict[str, Any], job: _Status) -> str:
    """Every ``${{ expr }}`` in a string replaced by its value's text."""
    return re.sub(
        r"\$\{\{(.*?)\}\}", lambda m: text(_GitHub(m.group(1), ctx, job).parse()), template
    )


def azure_condition(expr: str, variables: dict[str, str], failed: bool) -> bool:
    """An Azure Pipelines ``condition:``."""
    toks = _tokens(expr)
    pos = 0

    def value() -> Any:
        nonlocal pos
        kind, tok = toks[pos]
        pos += 1
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if tok == "variables":
            pos += 1  # [
            key = toks[pos][1][1:-1]
            pos += 2  # 'key' ]
            return variables.get(key, "")
        assert toks[pos][1] == "(", f"unsupported condition {expr!r}"
        pos += 1
        args: list[Any] = []
        while toks[pos][1] != ")":
            args.append(value())
            if toks[pos][1] == ",":
                pos += 1
        pos += 1
        functions: dict[str, Any] = {
            "succeeded": lambda: not failed,
            "failed": lambda: failed,
            "always": lambda: True,
            "succeededOrFailed": lambda: True,
            "and": lambda *a: all(a),
            "or": lambda *a: any(a),
            "not": lambda a: not a,
            "eq": lambda a, b: str(a).lower() == str(b).lower(),
            "ne": lambda a, b: str(a).lower() != str(b).lower(),
        }
        return functions[tok](*args)

    return bool(value())

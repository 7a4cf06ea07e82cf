"""Azure Pipelines' conditions (``and(succeeded(), eq(variables['X'], ''))``) for the step runner
(tests/ci_steps.py), which stands in for Azure's agent: no runner of Azure's format exists here.
Only what the template uses; anything else fails loudly rather than guessing. (GitHub's and
GitLab's templates run under real runners, act and gitlab-ci-local.)"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["azure_condition"]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>\|\||&&|==|!=|!|\(|\)|,|\[|\])"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)


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

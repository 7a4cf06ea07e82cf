"""Limits on a PromQL expression's size, checked before it reaches the parser.

promql-parser is a Rust extension: 50,000 nested parentheses overflow its stack (SIGSEGV, no
exception to catch), and its memory grows with the square of a chain of binary operators (3,000
terms took 1.26 GB). A gate check is a few lines of PromQL; these bounds are far above any real
one and far below what hurts the parser.
"""

from __future__ import annotations

import re

from ..errors import QuerySyntaxError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_OPERATORS", "check_bounds"]

#: characters in one (templated) expression
MAX_LENGTH = 20_000
#: nesting of ( [ { outside string literals
MAX_DEPTH = 64
#: binary operators and comparisons outside string literals (1,000 cost the parser 150 MB)
MAX_OPERATORS = 300

# String literals (with escapes) and comments, which may hold anything.
_OPAQUE = re.compile(r'"(?:\\.|[^"\\])*"?|\'(?:\\.|[^\'\\])*\'?|`[^`]*`?|#[^\n]*')
_OPERATOR = re.compile(r"==|!=|<=|>=|[-+*/%^<>]|\b(?:and|or|unless|atan2)\b")
_OPEN, _CLOSE = "([{", ")]}"


def check_bounds(expr: str) -> None:
    """Raise ``QuerySyntaxError`` when ``expr`` is too long, too deep or has too many
    operators for the parser to be given safely."""
    if len(expr) > MAX_LENGTH:
        raise QuerySyntaxError(
            f"PromQL too long: {len(expr)} characters (at most {MAX_LENGTH}; "
            "use a recording rule for a query this size)"
        )
    code = _OPAQUE.sub(" ", expr)
    depth = deepest = 0
    for ch in code:
        if ch in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth -= 1
    if deepest > MAX_DEPTH:
        raise QuerySyntaxError(
            f"PromQL nested too deeply: {deepest} levels of brackets (at most {MAX_DEPTH})"
        )
    operators = len(_OPERATOR.findall(code))
    if operators > MAX_OPERATORS:
        raise QuerySyntaxError(
            f"PromQL too complex: {operators} operators (at most {MAX_OPERATORS}; "
            "use a recording rule for a query this size)"
        )

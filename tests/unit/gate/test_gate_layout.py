"""The gate's imports point one way, read from the source with ``ast``:
``cli → report → core → config → prometheus → queries → errors``, and inside ``core``
``live → gate → runs → regression → judging → model → stats``; no cycles between modules, no
import of promgate inside a function (a lazy import would hide a cycle), never Locust."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "gate" / "promgate"

#: layer of each top-level part of the package; a module imports only its own layer or lower ones
LAYERS = {
    "errors": 0,
    "defaults": 0,
    "_version": 0,
    "textsafe": 0,
    "levels": 1,
    "queries": 1,
    "prometheus": 2,
    "config": 3,
    "core": 4,
    "report": 5,
    "cli": 6,
    "__init__": 7,
    "__main__": 7,
}

#: layer of each part of ``core`` (a subpackage, or ``gate`` the module): the judging kernel never
#: imports ``regression/``, ``runs/`` or ``live/``; the result model imports no judging
CORE_LAYERS = {
    "stats": 0,
    "model": 1,
    "judging": 2,
    "regression": 3,
    "runs": 4,
    "gate": 5,
    "live": 6,
    "__init__": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    """Absolute promgate modules named by ``node`` (``from ..x import y`` may import module y)."""
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    if not base.startswith("promgate"):
        return []
    known = _modules()
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [n for n in names if n in known] or [base]


def _imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported promgate module, line, at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            targets = _resolve(module, path, node)
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == "promgate"]
            if any(a.name.split(".")[0] in ("locust", "gevent") for a in node.names):
                targets.append("locust")
        else:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            "locust",
            "gevent",
        ):
            targets.append("locust")
        found.extend((t, node.lineno, id(node) in top) for t in targets)
    return found


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def _core_layer(module: str) -> int | None:
    """The layer inside ``core`` of a ``promgate.core`` module, None outside ``core``."""
    parts = module.split(".")
    if parts[1:2] != ["core"]:
        return None
    return CORE_LAYERS[parts[2] if len(parts) > 2 else "__init__"]


def test_every_part_of_the_package_has_a_layer() -> None:
    for module in _modules():
        parts = module.split(".")
        assert len(parts) == 1 or parts[1] in LAYERS, f"{module}: add its part to LAYERS"
        if parts[1:2] == ["core"] and len(parts) > 2:
            assert parts[2] in CORE_LAYERS, f"{module}: add its part of core to CORE_LAYERS"


def test_the_architecture_page_draws_the_same_order() -> None:
    # docs/architecture.md draws both chains; a new part or a new order changes both.
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    core_chain = " ─► ".join(sorted(set(CORE_LAYERS) - {"__init__"}, key=lambda p: -CORE_LAYERS[p]))
    assert core_chain in page, f"docs/architecture.md: draw core's order as {core_chain!r}"


def test_imports_point_down_only_at_module_level_and_never_to_locust() -> None:
    problems = []
    for module, path in _modules().items():
        for target, line, at_top in _imports(module, path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if target == "locust":
                problems.append(f"{where}: the gate never imports Locust or gevent")
                continue
            if not at_top:
                problems.append(f"{where}: lazy import of {target} (import at module level)")
            if _layer(target) > _layer(module):
                problems.append(f"{where}: {module} imports {target}, a higher layer")
            inner, outer = _core_layer(module), _core_layer(target)
            if inner is not None and outer is not None and outer > inner:
                problems.append(f"{where}: {module} imports {target}, a higher part of core")
    assert not problems, "\n".join(problems)


def test_no_import_cycles_between_modules() -> None:
    graph = {m: {t for t, _, _ in _imports(m, p)} for m, p in _modules().items()}
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_checker_sees_a_violation() -> None:
    # Guard against a checker that finds nothing: report importing cli is caught.
    path = PACKAGE / "report" / "text.py"
    node = ast.parse("from ..cli.commands import run").body[0]
    assert isinstance(node, ast.ImportFrom)
    (target,) = _resolve("promgate.report.text", path, node)
    assert target == "promgate.cli.commands"
    assert _layer(target) > _layer("promgate.report.text")
    # ... and so is the judging kernel importing promgate run's orchestration.
    path = PACKAGE / "core" / "judging" / "judge.py"
    node = ast.parse("from ..live.locust_process import LocustProcess").body[0]
    assert isinstance(node, ast.ImportFrom)
    (target,) = _resolve("promgate.core.judging.judge", path, node)
    assert target == "promgate.core.live.locust_process"
    assert (_core_layer(target) or 0) > (_core_layer("promgate.core.judging.judge") or 0)


def test_gate_tests_run_on_real_threads_and_sockets() -> None:
    # The suite imports Locust without gevent's monkey-patching (tests/conftest.py), so the gate's
    # thread pool and HTTP client are tested as they run in CI, not on greenlets.
    import socket
    import threading

    from gevent import monkey

    assert not monkey.is_module_patched("socket") and not monkey.is_module_patched("threading")
    assert socket.socket.__module__ == "socket"
    assert threading.Thread.__module__ == "threading"

"""Every renderer in ``promgate/report/`` is a pure function of a ``GateResult``: read from the
source with ``ast``, no module there imports a network, process, file or environment API, calls a
clock, or reaches the Prometheus client or the core's collection. I/O lives in ``cli/`` and
``prometheus/``; what the reports show is collected into the result by ``core/runs/collect.py``."""

from __future__ import annotations

import ast
from pathlib import Path

REPORT = Path(__file__).resolve().parents[4] / "gate" / "promgate" / "report"

#: modules (and their submodules) a renderer never imports
FORBIDDEN_MODULES = (
    "requests",
    "urllib.request",
    "urllib3",
    "http",
    "socket",
    "ssl",
    "subprocess",
    "os",
    "sys",
    "tempfile",
    "shutil",
    "io",
    "datetime",
    "tenacity",
    "promgate.prometheus.client",
    "promgate.prometheus.window",
    "promgate.core.gate",
    # runs read from Prometheus and from files; promgate run's child process
    "promgate.core.runs.collect",
    "promgate.core.runs.result_files",
    "promgate.core.runs.baseline_plan",
    "promgate.core.live",
)
#: names a renderer never imports from an allowed module (the Pushgateway's HTTP, a server)
FORBIDDEN_NAMES = frozenset(
    {"push_to_gateway", "pushadd_to_gateway", "delete_from_gateway", "start_http_server"}
)
#: ``module.attribute`` calls that read a clock or the environment
FORBIDDEN_CALLS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.perf_counter",
        "time.localtime",
        "time.ctime",
        "time.sleep",
        "os.getenv",
    }
)
#: builtins and path methods that touch files or the terminal
FORBIDDEN_FUNCTIONS = frozenset({"open", "print", "input"})
FORBIDDEN_METHODS = frozenset(
    {"read_text", "write_text", "read_bytes", "write_bytes", "mkdir", "unlink", "exists", "touch"}
)


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def _forbidden_module(name: str) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in FORBIDDEN_MODULES)


def io_uses(module: str, source: str) -> list[str]:
    """What in ``source`` (the module ``module``, e.g. ``promgate.report.text``) is I/O."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if _forbidden_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                named = alias.name in FORBIDDEN_NAMES or alias.name == "environ"
                if named or _forbidden_module(base) or _forbidden_module(f"{base}.{alias.name}"):
                    found.append(f"{where}: from {base} import {alias.name}")
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name):
                dotted = f"{node.value.id}.{node.attr}"
                if dotted in FORBIDDEN_CALLS or node.attr in ("environ", "now", "utcnow", "today"):
                    found.append(f"{where}: {dotted}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_FUNCTIONS:
                found.append(f"{where}: {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                found.append(f"{where}: .{func.attr}()")
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(REPORT.rglob("*.py")):
        parts = ["promgate", *path.relative_to(REPORT.parent).with_suffix("").parts]
        out[".".join(parts)] = path
    return out


def test_renderers_do_no_io() -> None:
    modules = _modules()
    assert "promgate.report.html.page" in modules and len(modules) > 10
    problems = [
        f"{path.relative_to(REPORT.parent)}: {use}"
        for module, path in modules.items()
        for use in io_uses(module, path.read_text(encoding="utf-8"))
    ]
    assert not problems, (
        "I/O in report/ (move it to cli/, core/runs/collect.py or prometheus/):\n"
        + ("\n".join(problems))
    )


def test_the_checker_sees_io() -> None:
    # Guard against a checker that finds nothing: each kind of I/O it looks for is caught.
    module = "promgate.report.html.data"
    samples = {
        "import requests": "import requests",
        "from http.client import HTTPConnection": "from http.client import HTTPConnection",
        "from ...prometheus.client import PrometheusClient": "from promgate.prometheus.client",
        "from ...core.runs.collect import fetch_report": "from promgate.core.runs.collect",
        "from prometheus_client import push_to_gateway": "import push_to_gateway",
        "from os import environ": "from os import environ",
        "x = os.environ.get('CI')": "os.environ",
        "import time\nt = time.time()": "time.time",
        "from datetime import datetime\nt = datetime.now()": "datetime.now",
        "open('x', 'w')": "open()",
        "Path('x').write_text('y')": ".write_text()",
    }
    for source, expected in samples.items():
        found = io_uses(module, source)
        assert any(expected in use for use in found), (source, found)
    # ... and the pure parts of the standard library stay allowed.
    pure = "import math\nimport time\nfrom urllib.parse import quote\ntime.gmtime(0.0)\n"
    assert io_uses(module, pure) == []

"""The presets table of docs/gate.md, from ``promgate.config.presets`` (a unit test keeps the page
equal to this). Dev-only, so it lives outside the wheel.

    python tools/presets_doc.py
"""

from __future__ import annotations

from promgate.config.presets import PRESETS

__all__ = ["presets_markdown"]


def presets_markdown() -> str:
    """The presets table of docs/gate.md (a unit test keeps the page equal to this)."""
    lines = [
        "| preset | unit | no data | meaning | PromQL (from `queries/`) |",
        "|---|---|---|---|---|",
    ]
    for p in PRESETS.values():
        query = p.query.replace("|", "\\|")
        lines.append(f"| `{p.name}` | {p.unit} | {p.no_data} | {p.description} | `{query}` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(presets_markdown(), end="")

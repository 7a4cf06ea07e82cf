"""``python -m locust_prometheus``: options from the one table; one clear line without Locust."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from locust_prometheus.__main__ import DOCS_URL, EXIT_MISSING_DEPENDENCY
from locust_prometheus.options import DEFAULTS, OPTIONS, ExporterConfig, config_from_options

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locust_prometheus", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("poisoned", [("gevent",), ("locust", "gevent", "configargparse")])
def test_help_without_locust_is_one_line_and_exit_2(tmp_path: Path, poisoned: tuple[str]) -> None:
    # A None entry in sys.modules makes `import name` fail as if it were not installed; a
    # sitecustomize does it before `-m` imports the package, as in a venv without the extra.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in poisoned)
    )
    done = _run("--help", env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == EXIT_MISSING_DEPENDENCY == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert lines[0].startswith("locust_prometheus: cannot load the exporter: module ")
    assert lines[0].endswith("(install promgate[locust])")


def test_help_lists_every_option_with_the_tables_defaults() -> None:
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    # An installed user has no docs/ directory: the help names the published page.
    assert f"(see {DOCS_URL})" in text
    assert f"({DOCS_URL})" in (ROOT / "README.md").read_text()  # the README's own link
    for option in OPTIONS:
        assert option.flag in text
    for stem in ("push_interval", "push_timeout", "linger", "max_endpoints", "job"):
        value = DEFAULTS[stem]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert f"(default {shown}" in text, stem


def test_config_defaults_are_the_tables() -> None:
    parsed = config_from_options(object(), env={"CI_PIPELINE_ID": "x"})
    for config in (ExporterConfig(), parsed):
        for option in OPTIONS:
            if option.stem in ("label", "header", "listen", "run_id"):
                continue  # parsed into labels / (host, port); run_id falls back to the CI's
            assert getattr(config, option.stem) == option.default, option.stem
    assert parsed.labels == {} and parsed.listen is None and parsed.run_id == "x"


def _docs_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (ROOT / "docs" / "exporter.md").read_text().splitlines():
        m = re.match(r"\| `(--prometheus-[a-z-]+)[^`]*` \| (.*)", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).rstrip("|").split("|")]
    return rows


def test_docs_table_follows_the_options_table() -> None:
    rows = _docs_rows()
    assert set(rows) == {o.flag for o in OPTIONS}
    for option in OPTIONS:
        env_var, default = rows[option.flag][0], rows[option.flag][1]
        assert env_var == f"`{option.env_var}`", option.flag
        value = option.default
        if isinstance(value, bool):
            assert default == ("on" if value else "off"), option.flag
        elif isinstance(value, float):
            assert default == f"{value:g}", option.flag
        elif isinstance(value, int):
            assert default == str(value), option.flag
        elif value:
            assert default == f"`{value}`", option.flag
        else:  # empty: the cell says what happens instead, never a value
            assert not re.search(r"\d", default), option.flag

"""The published package's metadata, read from pyproject.toml: what a package index shows and
what pip resolves. The stranger test (tests/integration/test_ci_templates.py) installs the wheel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_classifiers_are_known_to_the_index(project: dict[str, Any]) -> None:
    trove = pytest.importorskip("trove_classifiers")
    meta = project["project"]
    unknown = set(meta["classifiers"]) - set(trove.classifiers)
    assert not unknown, unknown
    # An SPDX licence expression and licence classifiers are mutually exclusive (PEP 639).
    assert meta["license"] == "Apache-2.0" and meta["license-files"] == ["LICENSE"]
    assert not [c for c in meta["classifiers"] if c.startswith("License ::")]
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert meta["keywords"] and {"Repository", "Issues"} <= set(meta["urls"])


def test_no_exact_pins_are_published(project: dict[str, Any]) -> None:
    meta = project["project"]
    published = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        published += extra
    assert published
    assert not [d for d in published if "==" in d], published
    # Dev tools live in a dependency group, which is never published.
    assert "dev" not in meta.get("optional-dependencies", {})
    assert "dev" in project["dependency-groups"]


def test_one_version_source(project: dict[str, Any]) -> None:
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module = attr.rpartition(".")[0]
    source = (ROOT / "exporter" / Path(*module.split("."))).with_suffix(".py").read_text()
    assert re.search(r'^__version__ = "\d+\.\d+\.\d+"$', source, re.M)
    # Nothing else writes a version literal.
    for path in [*ROOT.glob("gate/promgate/**/*.py"), *ROOT.glob("exporter/**/*.py")]:
        if path.name != "__about__.py":
            assert not re.search(r'^__version__ = "', path.read_text(), re.M), path


def test_package_data_exists(project: dict[str, Any]) -> None:
    for package, patterns in project["tool"]["setuptools"]["package-data"].items():
        base = next(p for p in (ROOT / "gate" / package, ROOT / "exporter" / package) if p.is_dir())
        for pattern in patterns:
            assert list(base.glob(pattern)), f"{package}: {pattern} matches no file"


def test_readme_renders_on_an_index(project: dict[str, Any]) -> None:
    """Links and images are absolute, on the one repository URL of pyproject.toml."""
    repo = project["project"]["urls"]["Repository"]
    owner_name = repo.removeprefix("https://github.com/")
    text = (ROOT / project["project"]["readme"]).read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    for target in targets:
        assert target.startswith(
            (f"{repo}/", f"https://raw.githubusercontent.com/{owner_name}/")
        ), f"README link {target!r} is relative or elsewhere: it breaks on a package index"
    assert text.startswith("# promgate\n")
    assert "make demo" in text and "make test" in text

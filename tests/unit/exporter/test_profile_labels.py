"""The load profile on ``locust_run_info``: ``users``, ``spawn_rate``, ``locustfile_digest``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from locust_prometheus.options import ConfigError, _parse_labels
from locust_prometheus.profile_labels import PROFILE_LABELS, locustfile_digest, profile_labels


def env(**options: object) -> SimpleNamespace:
    return SimpleNamespace(parsed_options=SimpleNamespace(**options))


def test_users_spawn_rate_and_digest(tmp_path: Path) -> None:
    lf = tmp_path / "locustfile.py"
    lf.write_text("from locust import HttpUser\n", encoding="utf-8")
    got = profile_labels(env(num_users=50, spawn_rate=2.5, locustfile=str(lf)))
    assert got == {
        "users": "50",
        "spawn_rate": "2.5",
        "locustfile_digest": locustfile_digest(str(lf)),
    }
    assert len(got["locustfile_digest"]) == 16
    # What Locust was not given is left out, never invented (a web-UI start has no -u).
    assert profile_labels(env(num_users=None, spawn_rate=1.0)) == {"spawn_rate": "1"}
    assert profile_labels(SimpleNamespace()) == {}


def test_the_digest_follows_the_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n", encoding="utf-8")
    b.write_text("y = 2\n", encoding="utf-8")
    one = locustfile_digest(str(a))
    assert one == locustfile_digest(str(a)) and one != locustfile_digest(str(b))
    both = locustfile_digest(f"{a},{b}")
    assert both not in (one, "") and both == locustfile_digest([str(a), str(b)])
    assert locustfile_digest(str(tmp_path)) == both  # a directory: its *.py in name order
    a.write_text("x = 2\n", encoding="utf-8")
    assert locustfile_digest(str(a)) != one
    # Unreadable: no label, and never an exception in the load test.
    assert locustfile_digest(str(tmp_path / "missing.py")) == ""
    assert locustfile_digest(None) == "" and locustfile_digest("") == ""


@pytest.mark.parametrize("label", PROFILE_LABELS)
def test_the_profile_labels_are_reserved(label: str) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        _parse_labels([f"{label}=3"])

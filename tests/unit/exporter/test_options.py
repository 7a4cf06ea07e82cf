from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from locust_prometheus.options import ConfigError, config_from_options, default_run_id

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "BUILD_NUMBER": "7"}, "42-2"),
        ({"GITHUB_RUN_ID": "42"}, "42-1"),
        ({"CI_PIPELINE_ID": "9001"}, "9001"),
        ({"BUILD_BUILDID": "555"}, "555"),
        ({"BUILD_TAG": "jenkins-team/app-17", "BUILD_NUMBER": "17"}, "jenkins-team/app-17"),
        ({"BUILD_NUMBER": "17"}, "17"),
        ({}, "20260102T030405Z-abc123"),
    ],
)
def test_run_id_choice(env: dict[str, str], expected: str) -> None:
    assert default_run_id(env, now=NOW, token="abc123") == expected


def test_generated_ids_differ() -> None:
    assert default_run_id({}) != default_run_id({})


def _opts(**kw: object) -> SimpleNamespace:
    return SimpleNamespace(**kw)


def test_defaults_and_parsing() -> None:
    c = config_from_options(
        _opts(
            prometheus_pushgateway="127.0.0.1:9091/",
            prometheus_label=["team=qa", "sha=abc=d"],
            prometheus_listen=":9646",
        ),
        env={},
    )
    assert c.pushgateway == "http://127.0.0.1:9091"
    assert c.labels == {"team": "qa", "sha": "abc=d"}
    assert c.listen == ("127.0.0.1", 9646)  # loopback unless a host is given
    assert (c.push_interval, c.linger, c.max_endpoints, c.job) == (5.0, 30.0, 1000, "locust")
    assert c.run_id and c.enabled


def test_off_without_gateway() -> None:
    assert not config_from_options(_opts(), env={}).enabled


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"prometheus_label": ["noequals"]}, "missing '='"),
        ({"prometheus_label": ["1bad=x"]}, "not a label name"),
        ({"prometheus_label": ["run_id=x"]}, "reserved"),
        ({"prometheus_push_interval": 0}, "push-interval"),
        ({"prometheus_linger": -1}, "linger"),
        ({"prometheus_max_endpoints": 0}, "max-endpoints"),
        ({"prometheus_cert_file": "c.pem"}, "go together"),
        ({"prometheus_listen": "nohost"}, "HOST:PORT"),
        ({"prometheus_pushgateway": "ftp://x"}, "scheme"),
        ({"prometheus_basic_auth_user": "u", "prometheus_bearer_token_file": "t"}, "exclusive"),
    ],
)
def test_invalid_options(kw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        config_from_options(_opts(**kw), env={})
    assert "(" in str(info.value)  # every message carries a hint


def test_env_vars_and_locust_conf_reach_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through Locust's real parser: the options the exporter registers on
    ``init_command_line_parser`` are read from ``LOCUST_PROMETHEUS_*`` and from locust.conf."""
    import locust_prometheus  # noqa: F401 - registers the options on locust.events
    from locust.argument_parser import get_parser

    conf = tmp_path / "locust.conf"
    conf.write_text("prometheus-push-interval = 2\nprometheus-job = from-conf\n")
    monkeypatch.setenv("LOCUST_PROMETHEUS_PUSHGATEWAY", "pgw.example:9091")
    monkeypatch.setenv("LOCUST_PROMETHEUS_RUN_ID", "env-run-7")
    parser = get_parser(default_config_files=[str(conf)])
    c = config_from_options(parser.parse_args([]), env={})
    assert c.pushgateway == "http://pgw.example:9091"
    assert c.run_id == "env-run-7"
    assert c.push_interval == 2.0
    assert c.job == "from-conf"
    assert c.enabled

    # The command line still wins over both, as for Locust's own options.
    cli = parser.parse_args(["--prometheus-run-id", "cli-run", "--prometheus-push-interval", "3"])
    c = config_from_options(cli, env={})
    assert (c.run_id, c.push_interval, c.pushgateway) == ("cli-run", 3.0, "http://pgw.example:9091")


def test_without_env_or_conf_the_parser_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The counterpart of the test above: the values there come from the env and the file.
    import locust_prometheus  # noqa: F401
    from locust.argument_parser import get_parser

    for var in ("LOCUST_PROMETHEUS_PUSHGATEWAY", "LOCUST_PROMETHEUS_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    parser = get_parser(default_config_files=[str(tmp_path / "absent.conf")])
    c = config_from_options(parser.parse_args([]), env={"CI_PIPELINE_ID": "ci-1"})
    assert (c.pushgateway, c.run_id, c.push_interval, c.job) == ("", "ci-1", 5.0, "locust")
    assert not c.enabled

"""The policy file: the shipped one loads, and each kind of mistake names its source and key."""

from __future__ import annotations

import copy

import pytest
import yaml

from monlab.config import find_project_dir
from monlab.errors import PolicyError
from monlab.policy import load_policy, parse_policy

SHIPPED = find_project_dir() / "data" / "api_policy.yml"


def shipped_document() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def test_shipped_policy_loads():
    policy = load_policy(SHIPPED)
    assert set(policy.sources) == {"uptimerobot", "github", "openweather", "prometheus"}


def test_uptimerobot_reads_are_posts():
    endpoint = load_policy(SHIPPED).for_source("uptimerobot").find_endpoint("POST", "uptimerobot", "/v2/getMonitors")
    assert endpoint is not None
    assert load_policy(SHIPPED).for_source("uptimerobot").find_endpoint("GET", "uptimerobot", "/v2/getMonitors") is None


def test_probe_is_allowlisted():
    for source in load_policy(SHIPPED).sources.values():
        assert source.probe in source.endpoints, source.name


def test_missing_section_named():
    with pytest.raises(PolicyError) as caught:
        load_policy(SHIPPED).for_source("nowhere")
    assert "'nowhere'" in str(caught.value)


def _set(document, path, value):
    *parents, last = path
    node = document
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()

MISTAKES = [
    (("sources", "uptimerobot", "timeouts", "read_s"), "slow", "sources.uptimerobot.timeouts.read_s"),
    (("sources", "uptimerobot", "timeouts", "read_s"), -1, "sources.uptimerobot.timeouts.read_s"),
    (("sources", "uptimerobot", "timeouts", "read_s"), True, "sources.uptimerobot.timeouts.read_s"),
    (("sources", "uptimerobot", "timeouts", "attempt_s"), 1, "sources.uptimerobot.timeouts.attempt_s"),
    (("sources", "uptimerobot", "timeouts", "deadline_s"), 10, "sources.uptimerobot.timeouts.deadline_s"),
    (("sources", "uptimerobot", "timeouts", "connect_s"), _DELETE, "sources.uptimerobot.timeouts.connect_s"),
    (("sources", "uptimerobot", "timeouts", "reed_s"), 3, "sources.uptimerobot.timeouts: unknown key 'reed_s'"),
    (("sources", "uptimerobot", "timeouts"), [5, 20], "sources.uptimerobot.timeouts: expected a mapping"),
    (("sources", "github", "retry", "attempts"), 0, "sources.github.retry.attempts"),
    (("sources", "github", "retry", "attempts"), 2.5, "sources.github.retry.attempts"),
    (("sources", "github", "retry", "backoff_cap_s"), 0.25, "sources.github.retry.backoff_cap_s"),
    (("sources", "github", "retry", "jitter"), "half", "sources.github.retry.jitter"),
    (("sources", "github", "retry", "max_wait_s"), _DELETE, "sources.github.retry.max_wait_s"),
    (("sources", "github", "scheme"), "ftp", "sources.github.scheme"),
    (("sources", "github", "credentials"), {}, "sources.github: unknown key 'credentials'"),
    (("sources", "github", "credential", "scopes"), "x", "sources.github.credential: unknown key 'scopes'"),
    (("sources", "openweather", "endpoints"), [], "sources.openweather.endpoints"),
    (("sources", "openweather", "endpoints", 0, "method"), "DELETE", "sources.openweather.endpoints[0].method"),
    (("sources", "openweather", "endpoints", 0, "method"), None, "sources.openweather.endpoints[0].method"),
    (("sources", "openweather", "endpoints", 1, "path"), "data/2.5/air_pollution", "sources.openweather.endpoints[1].path"),
    (("sources", "openweather", "endpoints", 1, "path"), "/data?x=1", "sources.openweather.endpoints[1].path"),
    (("sources", "openweather", "endpoints", 1, "path"), _DELETE, "sources.openweather.endpoints[1].path"),
    (("sources", "openweather", "endpoints", 2, "service"), "elsewhere", "sources.openweather.endpoints[2].service"),
    (("sources", "openweather", "endpoints", 2, "host"), "x", "sources.openweather.endpoints[2]: unknown key 'host'"),
    (("sources", "openweather", "probe"), {"method": "GET", "path": "/data/2.5/forecast"}, "sources.openweather.probe"),
    (("sources", "weatherly"), {}, "sources.weatherly: unknown source"),
    (("preflight", "clock_skew_fail_s"), 10, "preflight.clock_skew_fail_s"),
    (("version",), 2, "version"),
]


@pytest.mark.parametrize("path, value, expected", MISTAKES, ids=[m[2] + f"={m[1]!r}"[:20] for m in MISTAKES])
def test_mistake_named(path, value, expected):
    document = copy.deepcopy(shipped_document())
    _set(document, path, value)
    with pytest.raises(PolicyError) as caught:
        parse_policy(document)
    assert expected in str(caught.value)


def test_file_mistake_names_file(tmp_path):
    path = tmp_path / "api_policy.yml"
    document = shipped_document()
    document["sources"]["uptimerobot"]["retry"]["attempts"] = "many"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith("api_policy.yml: sources.uptimerobot.retry.attempts")


def test_invalid_yaml_rejected(tmp_path):
    path = tmp_path / "api_policy.yml"
    path.write_text("sources: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(path)


def test_missing_file_rejected(tmp_path):
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.yml")
    assert "not found" in str(caught.value)

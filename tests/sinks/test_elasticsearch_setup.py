"""`wallwatch es setup` against the stand-in: it installs the lifecycle policy and
templates, a second run changes nothing, and what it did not write is reported
rather than overwritten (unless --force)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from monitor.sinks.es_templates import (
    ECS_TEMPLATE_VERSION,
    MAPPINGS_TEMPLATE,
    POLICY,
    PRIORITY,
    SETTINGS_TEMPLATE,
    index_templates,
)
from tests.daemon_process import REPO
from tests.fixtures.es_standin import EsStandin
from tests.sinks.es_helpers import standin_server

standin = pytest.fixture(name="standin")(standin_server)
EVENTS_TEMPLATE = "logs-wallwatch.events"
ALERTS_TEMPLATE = "logs-wallwatch.alerts"


def config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(f"timezone: UTC\nstore: {{path: {tmp_path / 'w.db'}}}\n"
                    f"elasticsearch:\n  url: {url}\n{extra}")
    return path


def wallwatch(cfg: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(cfg), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=env)


def outcomes(stdout: str) -> dict[str, str]:
    """'index template logs-wallwatch.events: created' → {name: outcome}."""
    out = {}
    for line in stdout.splitlines():
        head, _, rest = line.partition(": ")
        out[head.rsplit(" ", 1)[-1]] = rest.split(" ", 1)[0]
    return out


def test_setup_installs_policy_and_templates_and_a_second_run_changes_nothing(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = config(tmp_path, standin.url, "  retention_days: 400\n")
    first = wallwatch(cfg, "es", "setup")
    assert first.returncode == 0, first.stderr
    assert outcomes(first.stdout) == {
        standin.url: "reachable", POLICY: "created", SETTINGS_TEMPLATE: "created",
        MAPPINGS_TEMPLATE: "created", EVENTS_TEMPLATE: "created", ALERTS_TEMPLATE: "created",
        "logs-wallwatch.chain": "created"}
    state = standin.state()
    assert state["puts"] == 6
    assert state["policies"][POLICY]["phases"]["delete"]["min_age"] == "400d"
    assert state["policies"][POLICY]["phases"]["hot"]["actions"]["rollover"] == {
        "max_age": "7d", "max_primary_shard_size": "50gb"}
    events = state["index_templates"][EVENTS_TEMPLATE]
    assert events["index_patterns"] == ["logs-wallwatch.events-*"]
    assert events["priority"] > 100 and events["data_stream"] == {}
    assert events["composed_of"] == [SETTINGS_TEMPLATE, MAPPINGS_TEMPLATE]

    second = wallwatch(cfg, "es", "setup")
    assert second.returncode == 0, second.stderr
    assert set(outcomes(second.stdout).values()) == {"reachable", "unchanged"}
    assert standin.state()["puts"] == 6  # nothing written


def test_a_conflicting_template_is_reported_not_overwritten_unless_forced(
        tmp_path: Path, standin: EsStandin) -> None:
    client = Elasticsearch(standin.url)
    theirs: dict[str, Any] = {"index_patterns": ["logs-wallwatch.events-*"],
                              "data_stream": {}, "priority": 150,
                              "_meta": {"managed_by": "someone-else"}}
    client.indices.put_index_template(name=EVENTS_TEMPLATE, **theirs)
    cfg = config(tmp_path, standin.url)

    result = wallwatch(cfg, "es", "setup")
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith(
        f"index template {EVENTS_TEMPLATE}"))
    assert "conflict" in line and "priority: '150' here, '200' wanted" in line
    assert "--force" in line
    assert outcomes(result.stdout)[ALERTS_TEMPLATE] == "created"
    assert standin.state()["index_templates"][EVENTS_TEMPLATE]["priority"] == 150

    forced = wallwatch(cfg, "es", "setup", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert outcomes(forced.stdout)[EVENTS_TEMPLATE] == "overwritten"
    assert standin.state()["index_templates"][EVENTS_TEMPLATE] == \
        index_templates()[EVENTS_TEMPLATE]


def test_templates_of_an_older_wallwatch_are_updated_and_a_changed_retention_is_a_conflict(
        tmp_path: Path, standin: EsStandin) -> None:
    client = Elasticsearch(standin.url)
    cfg = config(tmp_path, standin.url)
    assert wallwatch(cfg, "es", "setup").returncode == 0
    old = index_templates()[ALERTS_TEMPLATE]
    old["_meta"] = {"managed_by": "wallwatch", "version": ECS_TEMPLATE_VERSION - 1}
    old["priority"] = PRIORITY + 1
    client.indices.put_index_template(name=ALERTS_TEMPLATE, **old)

    cfg = config(tmp_path, standin.url, "  retention_days: 30\n")
    result = wallwatch(cfg, "es", "setup")
    assert result.returncode == 1
    assert outcomes(result.stdout)[ALERTS_TEMPLATE] == "updated"
    assert standin.state()["index_templates"][ALERTS_TEMPLATE]["priority"] == PRIORITY
    policy_line = next(x for x in result.stdout.splitlines() if x.startswith("ILM policy"))
    assert "conflict" in policy_line and "min_age: '180d' here, '30d' wanted" in policy_line


def test_setup_authenticates_from_the_environment_and_never_prints_the_secret(
        tmp_path: Path, standin: EsStandin) -> None:
    password = "pa55-w0rd-never-shown"
    standin.auth(basic=("wallwatch", password))
    cfg = config(tmp_path, standin.url,
                 "  auth: {username: wallwatch, password_env: WW_ES_PASSWORD}\n")
    env = {"PATH": "/usr/bin:/bin", "WW_ES_PASSWORD": password}
    good = wallwatch(cfg, "es", "setup", env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = wallwatch(cfg, "es", "setup", env={**env, "WW_ES_PASSWORD": password + "-wrong"})
    assert bad.returncode == 1
    assert "HTTP 401" in bad.stdout
    token = base64.b64encode(f"wallwatch:{password}".encode()).decode()
    for output in (good.stdout, good.stderr, bad.stdout, bad.stderr):
        assert password not in output and token not in output


def test_setup_without_the_section_or_cluster_says_so(tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text(f"timezone: UTC\nstore: {{path: {tmp_path / 'w.db'}}}\n")
    missing = wallwatch(bare, "es", "setup")
    assert missing.returncode == 2 and "no 'elasticsearch:' section" in missing.stderr
    down = wallwatch(config(tmp_path, "http://127.0.0.1:9"), "es", "setup")
    assert down.returncode == 1 and "error (ConnectionError" in down.stdout

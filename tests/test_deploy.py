"""deploy/: the Prometheus alerts, the smb.conf snippet, rsyslog and logrotate snippets,
checked by the real tools (promtool, testparm, smbd, rsyslogd, logrotate) and by
Wallwatch reading what they produce. The auditd rules are in test_deploy_auditd.py."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import load_config
from monitor.samba_conf import parse_smb_conf, split_list
from monitor.sources.reading import parse_file
from tests.daemon_process import Daemon, query, wait_for, write_config

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
SNIPPET = DEPLOY / "samba" / "smb.conf.snippet"
RSYSLOG = DEPLOY / "rsyslog" / "30-wallwatch-smbd-audit.conf"
LOGROTATE = DEPLOY / "logrotate" / "wallwatch"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed "
                                    "(apt-get install --no-install-recommends prometheus)")
needs_samba = pytest.mark.skipif(shutil.which("smbd") is None or shutil.which("testparm") is None,
                                 reason="Samba not installed (apt-get install samba smbclient)")

# the daemon's metric names (monitor/metrics.py), plus Prometheus' own `up`
METRICS = {
    "up", "wallwatch_build_info", "wallwatch_events_total", "wallwatch_lines_read_total",
    "wallwatch_bytes_read_total", "wallwatch_dead_letter_lines_total",
    "wallwatch_tail_lag_bytes", "wallwatch_source_last_event_timestamp_seconds",
    "wallwatch_source_up", "wallwatch_rule_matches_total", "wallwatch_alerts_total",
    "wallwatch_late_events_total", "wallwatch_rule_state_keys",
    "wallwatch_consumer_lag_events", "wallwatch_dead_letters", "wallwatch_healthy",
    "wallwatch_es_items_total", "wallwatch_es_connected", "wallwatch_notifications_total",
    "wallwatch_store_write_blocked", "wallwatch_store_free_bytes",
}


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


# ------------------------------------------------------------------ Prometheus

@needs_promtool
def test_promtool_finds_the_alert_rules_clean() -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_alerts_use_only_metrics_the_daemon_exports() -> None:
    for rule in alert_rules():
        names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*[{(\[]?", re.sub(r'"[^"]*"', "",
                                                                        rule["expr"])))
        metrics = {n for n in names if n.startswith("wallwatch_") or n == "up"}
        assert metrics <= METRICS, (rule["alert"], metrics - METRICS)


def test_every_alert_says_how_bad_and_what_to_do() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "WallwatchDown", "WallwatchSourceSilent", "WallwatchConsumerLagGrowing",
        "WallwatchDeadLettersRising", "WallwatchElasticsearchFailing",
        "WallwatchNotificationsFailing"}
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@needs_promtool
def test_prometheus_example_config_loads_with_the_alert_rules(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    shutil.copy(DEPLOY / "prometheus" / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copy(ALERTS, tmp_path / "wallwatch-alerts.yml")
    done = subprocess.run([PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout


def _series(name: str, values: str) -> dict[str, str]:
    return {"series": name, "values": values}


def _fires(alert: str, at: str, labels: dict[str, str] | None) -> dict[str, Any]:
    exp = [{"exp_labels": labels}] if labels is not None else []
    return {"eval_time": at, "alertname": alert, "exp_alerts": exp}


@needs_promtool
def test_the_alerts_fire_when_they_should_and_not_otherwise(tmp_path: Path) -> None:
    """promtool's unit tests on synthetic series. Annotations are stripped from a copy
    (promtool compares them too); expressions, `for` and labels are the shipped ones."""
    assert PROMTOOL is not None
    doc = yaml.safe_load(ALERTS.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(doc))
    host = 'instance="fs01:9108",job="wallwatch"'
    inst = {"instance": "fs01:9108", "job": "wallwatch"}
    crit, warn = {"severity": "critical"}, {"severity": "warning"}
    src = {"source": "smb"}
    # time 0 is Thursday 1970-01-01 00:00 UTC: 03:00 UTC is 11:00 in Shanghai, 11:00 UTC is 19:00
    tests = [
        {"interval": "1m", "input_series": [_series(f"up{{{host}}}", "1 1 0x20")],
         "alert_rule_test": [_fires("WallwatchDown", "4m", None),
                             _fires("WallwatchDown", "10m", {**inst, **crit})]},
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_source_last_event_timestamp_seconds{{{host},source="smb"}}',
                    "0x720")],
         "alert_rule_test": [
             _fires("WallwatchSourceSilent", "1h50m", None),  # not silent long enough
             _fires("WallwatchSourceSilent", "3h", {**inst, **src, **warn}),
             _fires("WallwatchSourceSilent", "11h", None)]},  # after working hours
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_dead_letter_lines_total{{{host},source="smb"}}', "0+2x120")],
         "alert_rule_test": [_fires("WallwatchDeadLettersRising", "5m", None),
                             _fires("WallwatchDeadLettersRising", "40m",
                                    {**inst, **src, **warn})]},
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_consumer_lag_events{{{host},consumer="es.events"}}',
                    "0+500x60"),
            _series(f'wallwatch_consumer_lag_events{{{host},consumer="rules"}}', "5000x60")],
         "alert_rule_test": [_fires("WallwatchConsumerLagGrowing", "40m",
                                    {**inst, "consumer": "es.events", **warn})]},
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_es_items_total{{{host},outcome="retried"}}', "0+100x60"),
            _series(f'wallwatch_es_items_total{{{host},outcome="created"}}', "500x60")],
         "alert_rule_test": [_fires("WallwatchElasticsearchFailing", "30m",
                                    {"instance": "fs01:9108", **crit})]},
        {"interval": "1m", "input_series": [  # retries while documents still go in: fine
            _series(f'wallwatch_es_items_total{{{host},outcome="retried"}}', "0+100x60"),
            _series(f'wallwatch_es_items_total{{{host},outcome="created"}}', "0+900x60")],
         "alert_rule_test": [_fires("WallwatchElasticsearchFailing", "30m", None)]},
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_notifications_total{{{host},route="it",outcome="failed"}}',
                    "0 0 0 1 1 1 1 1")],
         "alert_rule_test": [_fires("WallwatchNotificationsFailing", "5m",
                                    {"instance": "fs01:9108", "route": "it", **crit})]},
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_tail_lag_bytes{{{host},source="smb"}}', "0+1000000x60")],
         "alert_rule_test": [_fires("WallwatchTailLagGrowing", "40m",
                                    {**inst, **src, **warn})]},
        {"interval": "1m", "input_series": [
            _series(f'wallwatch_store_write_blocked{{{host},stage="source:smb"}}', "0 0 1x10"),
            _series(f'wallwatch_store_write_blocked{{{host},stage="rules"}}', "0x12")],
         "alert_rule_test": [_fires("WallwatchStoreFull", "2m", None),
                             _fires("WallwatchStoreFull", "5m",
                                    {"instance": "fs01:9108", **crit})]},
        {"interval": "1m", "input_series": [  # 50 GB free, losing 5 GB an hour
            _series(f"wallwatch_store_free_bytes{{{host}}}", "50000000000-83333333x600")],
         "alert_rule_test": [_fires("WallwatchStoreSpaceLow", "20m", None),  # `for` 30m
                             _fires("WallwatchStoreSpaceLow", "1h", {**inst, **warn})]},
        {"interval": "1m", "input_series": [  # 50 GB free, losing 0.5 GB an hour: 100 h
            _series(f"wallwatch_store_free_bytes{{{host}}}", "50000000000-8333333x600")],
         "alert_rule_test": [_fires("WallwatchStoreSpaceLow", "7h", None)]},
        {"interval": "1m", "input_series": [  # 900 MB free and steady: too little
            _series(f"wallwatch_store_free_bytes{{{host}}}", "900000000x600")],
         "alert_rule_test": [_fires("WallwatchStoreSpaceLow", "1h", {**inst, **warn})]},
    ]
    spec = {"rule_files": [str(tmp_path / "alerts.yml")], "evaluation_interval": "1m",
            "tests": tests}
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(spec))
    done = subprocess.run([PROMTOOL, "test", "rules", str(tmp_path / "alerts_test.yml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------ Samba

def snippet_share() -> dict[str, str]:
    return parse_smb_conf(str(SNIPPET)).sections["clients"]


def test_the_snippet_audits_only_operations_that_really_fire() -> None:
    from tests.fixtures.smbd import AUDIT_OPS  # the shared list (shared/NOTES.md)

    share = snippet_share()
    success = split_list(share["full_audit:success"])
    failure = split_list(share["full_audit:failure"])
    assert set(success) <= set(AUDIT_OPS) and set(failure) <= set(AUDIT_OPS)
    assert len(success) == len(set(success)) and len(failure) == len(set(failure))
    assert set(failure) == set(AUDIT_OPS)
    # the _send halves repeat their _recv twin, record for record
    assert set(AUDIT_OPS) - set(success) == {"pread_send", "pwrite_send"}
    assert share["full_audit:prefix"] == "%u|%I|%m|%S"
    assert share["full_audit:log_secdesc"] == "true"
    assert share["full_audit:syslog"] == "false"


@needs_samba
def test_testparm_accepts_a_config_built_from_the_snippet(tmp_path: Path) -> None:
    conf = tmp_path / "smb.conf"
    conf.write_text(SNIPPET.read_text().replace("/var/log/samba", str(tmp_path))
                    .replace("/srv/share/clients", str(tmp_path / "clients")))
    done = subprocess.run(["testparm", "-s", "--suppress-prompt", str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "unknown parameter" not in done.stderr.lower(), done.stderr
    share = done.stdout.split("[clients]", 1)[1]
    for key in ("full_audit:success", "full_audit:failure", "full_audit:prefix",
                "full_audit:log_secdesc"):
        assert f"{key} = " in share, done.stdout


@needs_samba
@pytest.mark.slow
def test_a_real_smbd_with_the_snippet_gives_wallwatch_its_read_and_write_events(
        tmp_path: Path) -> None:
    import smbclient

    from tests.fixtures.smbd import SambaServer, connect_user

    share = snippet_share()
    options = {k: v for k, v in share.items() if k.startswith("full_audit:")}
    with SambaServer(tmp_path / "samba", extra_share_options=options,
                     audit_ops=split_list(share["full_audit:success"])) as server:
        alice = connect_user(server, "alice", workstation="ALICE-PC")  # tree connect works
        with smbclient.open_file(alice.unc("acme", "notes.txt"), "rb", **alice.opts) as f:
            assert f.read()
        with smbclient.open_file(alice.unc("acme", "new.txt"), "wb", **alice.opts) as f:
            f.write(b"numbers\n")
        alice.close()
        server.wait_for_audit(lambda r: "|disconnect|" in r)
        ops = [r.split("|")[4] for r in server.audit_records()]
        config = load_config(write_config(
            tmp_path / "w.yaml", tmp_path / "w.db",
            [{"type": "samba", "name": "smb", "path": str(server.audit_log),
              "format": "debug", "prefix": share["full_audit:prefix"]}],
            clients=f'["{server.share_root}/{{client}}/**"]'))
    assert "pread_recv" in ops and "pwrite_recv" in ops
    assert "pread_send" not in ops and "pwrite_send" not in ops
    events = list(parse_file(config.sources[0], config))
    done = {(e.action, Path(e.file_path or "").name) for e in events}
    assert ("read", "notes.txt") in done and ("write", "new.txt") in done, done


# ------------------------------------------------------------------ rsyslog

@pytest.fixture
def rsyslogd(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """A private rsyslogd with the shipped snippet: (socket, audit file, other file)."""
    if shutil.which("rsyslogd") is None or shutil.which("logger") is None:
        pytest.skip("rsyslog not installed (apt-get install rsyslog)")
    audit, other, sock = tmp_path / "smbd_audit.log", tmp_path / "other.log", tmp_path / "log.sock"
    (tmp_path / "snippet.conf").write_text(
        RSYSLOG.read_text().replace("/var/log/samba/smbd_audit.log", str(audit)))
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f'global(workDirectory="{tmp_path}")\n'
                    'module(load="imuxsock" SysSock.Use="off")\n'
                    f'input(type="imuxsock" Socket="{sock}")\n'
                    f'include(file="{tmp_path / "snippet.conf"}")\n'
                    f'*.* action(type="omfile" file="{other}")\n')
    check = subprocess.run(["rsyslogd", "-N1", "-f", str(conf)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i", str(tmp_path / "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(sock.exists, 10, "rsyslogd's socket")
        yield sock, audit, other
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_rsyslog_routes_smbd_audit_to_its_own_file_and_nowhere_else(
        rsyslogd: tuple[Path, Path, Path], tmp_path: Path) -> None:
    sock, audit, other = rsyslogd
    record = ("alice|192.0.2.10|alice-pc|clients|pread_recv|ok|"
              "/srv/share/clients/acme/2024年发票汇总.xlsx")
    for tag, message in (("smbd_audit", record), ("cron", "something else")):
        subprocess.run(["logger", "-u", str(sock), "--socket-errors=on", "-t", tag, message],
                       check=True, timeout=10)
    wait_for(lambda: audit.exists() and "pread_recv" in audit.read_text(), 10, "the record")
    wait_for(lambda: other.exists() and "something else" in other.read_text(), 10, "the other")
    assert "pread_recv" not in other.read_text()  # `stop`: not copied to the general log
    line = audit.read_text().splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d \S+ smbd_audit: ", line)
    assert stat.S_IMODE(audit.stat().st_mode) == 0o640
    config = load_config(write_config(
        tmp_path / "w.yaml", tmp_path / "w.db",
        [{"type": "samba", "name": "smb", "path": str(audit), "format": "syslog",
          "prefix": "%u|%I|%m|%S"}]))
    events = list(parse_file(config.sources[0], config))
    assert [(e.action, e.user_name) for e in events] == [("read", "alice")]


# ------------------------------------------------------------------ logrotate

def test_logrotate_reads_the_snippet() -> None:
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate not installed")
    done = subprocess.run(["logrotate", "-d", str(LOGROTATE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    body = re.sub(r"#.*", "", LOGROTATE.read_text())  # the rules, without the comments
    assert "copytruncate" not in body
    assert body.count("delaycompress") == 2 and body.count("create 0640 root adm") == 2


@needs_samba
@pytest.mark.slow
def test_a_logrotate_rotation_loses_no_record_for_the_running_daemon(tmp_path: Path) -> None:
    """Real smbd writing, real logrotate rotating (its postrotate makes smbd reopen), the
    real daemon tailing across it: both reads, before and after, are stored."""
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate not installed")
    import smbclient

    from tests.fixtures.smbd import SambaServer, connect_user

    # not in a PID namespace: smbcontrol must find smbd by its pid file
    with SambaServer(tmp_path / "samba", isolate=False) as server:
        pidfile = next(iter(glob.glob(str(tmp_path / "samba" / "var" / "pid" / "smbd*.pid"))))
        conf = tmp_path / "logrotate.conf"
        conf.write_text(LOGROTATE.read_text()
                        .replace("/var/log/samba/audit.log", str(server.audit_log))
                        .replace("/var/log/samba/auth.log", str(server.auth_log))
                        .replace("/var/log/samba/smbd_audit.log", str(tmp_path / "none.log"))
                        .replace("/run/samba/smbd.pid", pidfile)
                        .replace("/usr/bin/smbcontrol smbd",
                                 f"/usr/bin/smbcontrol -s {server.conf} smbd"))
        db = tmp_path / "w.db"
        config = write_config(tmp_path / "w.yaml", db, [
            {"type": "samba", "name": "smb", "path": str(server.audit_log), "format": "debug",
             "prefix": "%u|%I|%m|%S"}], clients=f'["{server.share_root}/{{client}}/**"]')
        reads = ("SELECT count(*) FROM events WHERE action='read'")
        with Daemon(config, tmp_path / "daemon.log") as daemon:
            alice = connect_user(server, "alice", workstation="ALICE-PC")
            with smbclient.open_file(alice.unc("acme", "notes.txt"), "rb", **alice.opts) as f:
                f.read()
            wait_for(lambda: query(db, reads) == [(1,)], 30, "the first read", daemon)
            done = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            rotated = Path(f"{server.audit_log}.1")
            assert rotated.exists() and "notes.txt" in rotated.read_text()
            time.sleep(0.5)  # smbd reopens on the message, asynchronously
            with smbclient.open_file(alice.unc("globex", "ledger.csv"), "rb",
                                     **alice.opts) as f:
                f.read()
            alice.close()
            wait_for(lambda: query(db, reads) == [(2,)], 30, "the read after rotation", daemon)
            assert "ledger.csv" in server.audit_log.read_text()  # smbd writes the new file
            assert "ledger.csv" not in rotated.read_text()
            assert stat.S_IMODE(os.stat(server.audit_log).st_mode) == 0o640
            assert daemon.stop() == 0

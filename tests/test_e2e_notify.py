"""End to end: bob reads acme's files through a real smbd, the daemon (a separate process,
shipped rules) turns the audit log into alerts, and the notifier tells a real SMTP server
(aiosmtpd) and a real HTTP receiver (apprise json://) — once per incident, with one update
for what followed, and nothing lost or doubled across an outage and a SIGKILL."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import smbclient  # type: ignore[import-untyped]

from monitor.sinks.notify_sender import DELIVERY_HEADER
from tests.daemon_process import REPO, Daemon, count, query, wait_for, write_config
from tests.fixtures.smbd import SambaServer, SmbUser, connect_user
from tests.fixtures.smtp import JsonReceiver, SmtpServer

TITLE = "Staff opened a client folder they are not assigned to"
ALWAYS_WORKING = ", ".join(f'{d}: "00:00-24:00"' for d in
                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


@dataclass
class Setup:
    server: SambaServer
    smtp: SmtpServer
    hook: JsonReceiver
    config: Path
    db: Path
    log: Path


@pytest.fixture
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    hook_mode = getattr(request, "param", "language: zh-CN")
    with SambaServer(tmp_path / "samba") as server, \
            SmtpServer(tmp_path / "smtp") as smtp, JsonReceiver(tmp_path / "http") as hook:
        root = server.share_root
        db = tmp_path / "w.db"
        # rules wait 1 s for late events; every hour is a working hour, so the off-hours
        # rules stay out of it whenever the test runs
        extra = f"""rules: {{lateness: 1s}}
calendar: {{country: null, hours: {{{ALWAYS_WORKING}}}}}
notify:
  incident: {{gap: 15s, update_every: 1h}}
  retry: {{attempts: 100, backoff: 0.5s, max_backoff: 2s}}
  routes:
    - name: mail
      urls: ["{smtp.url()}"]
      language: en
    - name: hook
      urls: ["{hook.url()}"]
      {hook_mode}
"""
        config = write_config(tmp_path / "w.yaml", db, [
            {"type": "samba", "name": "smb", "path": str(server.audit_log),
             "prefix": "%u|%I|%m|%S"}], clients=f'["{root}/{{client}}/**"]', extra=extra)
        yield Setup(server, smtp, hook, config, db, tmp_path / "daemon.log")


def plant(server: SambaServer, client: str, names: list[str]) -> None:
    folder = server.share_root / client
    folder.mkdir(exist_ok=True)
    folder.chmod(0o777)
    for name in names:
        (folder / name).write_bytes(f"{client} {name}\n".encode())
        (folder / name).chmod(0o666)


def read(user: SmbUser, *parts: str) -> None:
    with smbclient.open_file(user.unc(*parts), "rb", **user.opts) as f:
        f.read()


def incident_of(text: str) -> str:
    found = re.findall(r"inc-[0-9a-f]{16}", text)
    assert found, text
    return str(found[0])


def test_one_email_and_one_post_then_one_update_for_fifty_more_reads(setup: Setup) -> None:
    s = setup
    plant(s.server, "acme", [f"q{i:02d}.xlsx" for i in range(50)])
    with Daemon(s.config, s.log) as daemon:
        bob = connect_user(s.server, "bob", workstation="BOB-PC")
        read(bob, "acme", "notes.txt")
        wait_for(lambda: len(s.smtp.messages()) >= 1 and len(s.hook.posts()) >= 1, 60,
                 "the first email and post", daemon)
        time.sleep(1.5)  # anything else would come right behind them
        [mail] = s.smtp.messages()
        [post] = s.hook.posts()

        for i in range(50):  # the same incident: bob goes on reading acme's files
            read(bob, "acme", f"q{i:02d}.xlsx")
        bob.close()
        wait_for(lambda: len(s.smtp.messages()) >= 2 and len(s.hook.posts()) >= 2, 90,
                 "the incident's update", daemon)
        time.sleep(3)
        mails, posts = s.smtp.messages(), s.hook.posts()
        states = query(s.db, "SELECT state, count(*) FROM notify_outbox GROUP BY state")
        assert daemon.stop() == 0

    acme = f"{s.server.share_root}/acme"
    # the first email: title, one-sentence summary, where, how many, incident, evidence
    assert mail["Subject"] == f"[HIGH] {TITLE} — bob @ acme"
    body = SmtpServer.text(mail)
    assert f"bob set off “{TITLE}” (wall.cross-client-access) in the files of client acme" \
        in body
    assert f"share clients, path {acme}/" in body
    assert "(UTC, UTC+00:00)" in body and "Events:   1" in body
    incident = incident_of(body)
    # the JSON post: the same alert, in the route's language (zh-CN)
    assert post["path"] == "/hook"
    assert post["body"]["title"] == f"[高危] {TITLE} — bob @ acme"
    assert incident_of(post["body"]["message"]) == incident
    assert "事件数：1" in post["body"]["message"]
    # the evidence command, run as printed, shows bob's operations in acme
    [command] = [line.split("Evidence: ", 1)[1] for line in body.splitlines()
                 if line.startswith("Evidence: ")]
    argv = shlex.split(command)
    found = subprocess.run([sys.executable, "-m", "monitor", *argv[1:], "--json"], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    docs = [orjson.loads(line) for line in found.stdout.split("\n") if line]
    assert docs and all(d["user"]["name"] == "bob" and d["wallwatch"]["client"] == "acme"
                        for d in docs)

    # fifty more reads: no new immediate message, one update per route
    assert len(mails) == 2 and len(posts) == 2
    update = SmtpServer.text(mails[1])
    assert mails[1]["Subject"] == f"[HIGH] Update: {TITLE} — bob @ acme"
    assert incident_of(update) == incident
    events = int(re.search(r"and (\d+) more matching event", update).group(1))  # type: ignore[union-attr]
    reads = int(re.search(r"read ×(\d+)", update).group(1))  # type: ignore[union-attr]
    assert reads >= 50 and events >= reads
    assert "q00.xlsx" in update and "incident closed" in update
    assert posts[1]["body"]["title"].startswith("[高危] 进展：")
    assert incident_of(posts[1]["body"]["message"]) == incident
    assert dict(states) == {"sent": 4}


@pytest.mark.parametrize("setup", ["mode: digest\n      every: 30s"], indirect=True)
def test_an_outage_and_a_kill_lose_nothing_and_double_nothing(setup: Setup) -> None:
    s = setup
    clients = [f"c{i:02d}" for i in range(1, 20)]
    for client in clients:
        plant(s.server, client, ["ledger.csv"])
    s.smtp.stop()  # the mail server goes down
    daemon = Daemon(s.config, s.log).start()
    try:
        bob = connect_user(s.server, "bob", workstation="BOB-PC")
        for client in clients:  # 19 cross-client alerts + "many clients" = 20 alerts
            read(bob, client, "ledger.csv")
        bob.close()
        wait_for(lambda: count(s.db, "alerts") >= 20, 60, "20 alerts", daemon)

        def mail_rows(state: str) -> int:
            rows = query(s.db, "SELECT count(*) FROM notify_outbox WHERE route='mail'"
                               " AND state=? AND attempts > 0", (state,))
            return int(rows[0][0]) if rows else 0

        wait_for(lambda: mail_rows("pending") == 20, 60, "20 failed mail attempts", daemon)
        daemon.kill()  # SIGKILL, in the middle of retrying
        assert count(s.db, "alerts") == 20
        assert mail_rows("sent") == 0

        daemon = Daemon(s.config, s.log).start()
        time.sleep(2)  # the restarted daemon retries against a server still down
        s.smtp.start()  # the mail server is back, on the same port
        wait_for(lambda: len(s.smtp.messages()) >= 20, 90, "20 emails", daemon)
        wait_for(lambda: digest_incidents(s.hook) >= 20, 90, "every alert in a digest", daemon)
        time.sleep(3)  # a second copy would arrive by now
        mails, posts = s.smtp.messages(), s.hook.posts()
        alerts = query(s.db, "SELECT count(*) FROM alerts")[0][0]
        incidents = {r[0] for r in query(s.db, "SELECT id FROM notify_incidents")}
        assert daemon.stop() == 0
    finally:
        if daemon.alive():
            daemon.kill()

    assert alerts == 20
    # every message says which delivery it is (a receiver can drop a repeat)
    ids = [str(m[DELIVERY_HEADER] or "") for m in mails]
    assert all(i.endswith("@mail") for i in ids) and len(set(ids)) == len(ids)
    firsts = [m for m in mails if "Update:" not in str(m["Subject"])]
    first_incidents = [incident_of(SmtpServer.text(m)) for m in firsts]
    assert len(firsts) == 20 and len(set(first_incidents)) == 20  # one each, none twice
    assert set(first_incidents) == incidents
    subjects = sorted(str(m["Subject"]) for m in firsts)
    assert sum(s.startswith(f"[HIGH] {TITLE} — bob @ c") for s in subjects) == 19
    # bob went on touching clients after "many clients" fired: that incident may have had
    # its one update by now (15 s after his last read) — never two, never another's
    updated = [incident_of(SmtpServer.text(m)) for m in mails if m not in firsts]
    assert len(updated) == len(set(updated)) and set(updated) <= incidents
    # the digest route grouped them: every incident listed once over its digests
    listed = [i for p in posts for i in re.findall(r"inc-[0-9a-f]{16}", p["body"]["message"])]
    assert sorted(listed) == sorted(incidents)
    assert all(p["body"]["title"].startswith("[高危] Wallwatch 汇总") for p in posts)


def digest_incidents(hook: JsonReceiver) -> int:
    return sum(len(re.findall(r"inc-[0-9a-f]{16}", p["body"]["message"])) for p in hook.posts())

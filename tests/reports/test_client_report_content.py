"""The client report over a store holding events as the sources write them: hostile file
and user names are shown, never obeyed; permission changes say what changed; a month is
the firm's month (Asia/Shanghai here), not UTC's."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.event import Event, event_id
from monitor.store import Store
from tests.reports.firm import wallwatch
from tests.reports.html_facts import external_references, sections, table

ACME = "/srv/share/clients/acme"
HOSTILE = f"{ACME}/<img src=x onerror=alert(1)>\u202egpj.exe"


def ev(n: int, when: str, action: str, user: str | None, path: str, **kw: object) -> Event:
    values: dict[str, object] = {"category": "file", "type": "change", "dataset": "samba.audit",
                                 "client": "acme", "file_path": path, **kw}
    return Event(id=event_id("report-test", n), timestamp=datetime.fromisoformat(when),
                 action=action, user_name=user, **values)  # type: ignore[arg-type]


EVENTS = [
    # 01:30 on 1 March in Shanghai: March's, and at night
    ev(1, "2026-02-28T17:30:00+00:00", "read", "alice", f"{ACME}/notes.txt", type="access"),
    ev(2, "2026-03-02T02:00:00+00:00", "read", "eve", HOSTILE, type="access"),
    ev(3, "2026-03-02T03:00:00+00:00", "open", "<b>mallory</b>", ACME, type="access"),
    ev(4, "2026-03-03T03:00:00+00:00", "changed-file-permissions-of", None, HOSTILE,
       dataset="fswatch", file_mode="0755", extra={"file.mode_before": "0750"}),
    ev(5, "2026-03-04T03:00:00+00:00", "changed-file-acl-of", "alice", f"{ACME}/ledger",
       extra={"samba.sddl": "O:S-1-22-1-0D:(A;;0x1200a9;;;WD)"}),
    ev(6, "2026-03-05T03:00:00+00:00", "changed-file-ownership-of", None, f"{ACME}/ledger",
       dataset="fswatch", file_owner="bob", extra={"file.owner_before": "alice"}),
    # 00:30 on 1 April in Shanghai: April's
    ev(7, "2026-03-31T16:30:00+00:00", "read", "alice", f"{ACME}/notes.txt", type="access"),
]


def make_firm(tmp_path: Path) -> Path:
    store = Store(tmp_path / "w.db")
    store.commit_source_batch("test", EVENTS, [], {})
    store.close()
    config = tmp_path / "w.yaml"
    config.write_text(f"timezone: Asia/Shanghai\nstore: {{path: {tmp_path / 'w.db'}}}\n"
                      'clients: {paths: ["/srv/share/clients/{client}/**"]}\n'
                      "staff: {alice: [acme], bob: [globex]}\n"
                      'metrics: {listen: "127.0.0.1:0"}\n')
    return config


def test_hostile_names_are_escaped_and_shown_not_obeyed(tmp_path: Path) -> None:
    config = make_firm(tmp_path)
    result = wallwatch(config, "report", "client", "acme", "--month", "2026-03", "--out", "-")
    assert result.returncode == 0, result.stderr
    html = result.stdout
    assert "<img" not in html and "<b>" not in html and "\u202e" not in html
    assert "&lt;b&gt;mallory&lt;/b&gt;" in html
    # the path is shown as it is named, with the right-to-left override made visible
    [changed] = [r["Path"] for r in table(sections(html)["permissions"]) if "gpj" in r["Path"]]
    assert changed == f"{ACME}/<img src=x onerror=alert(1)>\\u202egpj.exe"
    assert external_references(html) == []
    who = {r["User"]: r["Assignment"] for r in table(sections(html)["who"])}
    assert who == {"alice": "assigned", "eve": "not on staff list",
                   "<b>mallory</b>": "not on staff list", "(unknown account)": "not on staff list"}


def test_permission_changes_say_what_changed_and_the_month_is_the_firms(tmp_path: Path) -> None:
    config = make_firm(tmp_path)
    out = tmp_path / "acme.html"
    result = wallwatch(config, "report", "client", "acme", "--month", "2026-03", "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = sections(out.read_text(encoding="utf-8"))
    perms = [(r["Change"], r["User"], r["Before → after"]) for r in table(page["permissions"])]
    assert perms == [
        ("permissions", "(unknown account)", "0750 → 0755"),
        ("ACL", "alice", "? → O:S-1-22-1-0D:(A;;0x1200a9;;;WD)"),
        ("owner", "(unknown account)", "alice → bob"),
    ]
    who = {r["User"]: r for r in table(page["who"])}
    # 1 March 01:30 local is in, 1 April 00:30 local is out
    assert (who["alice"]["First"], who["alice"]["Accesses"]) == ("2026-03-01 01:30:00", "2")
    assert who["alice"]["Off hours"] == "1"  # the night read; the ACL change was at 11:00
    assert "Permissions on acme's folders changed 3 times." in page["summary"].text
    paths = [r["Path"] for r in table(page["permissions"])]
    assert paths[1:] == [f"{ACME}/ledger"] * 2


def test_a_bad_month_is_refused_with_the_accepted_form(tmp_path: Path) -> None:
    config = make_firm(tmp_path)
    result = wallwatch(config, "report", "client", "acme", "--month", "2026-13")
    assert result.returncode == 2
    assert "bad month '2026-13': use YYYY-MM" in result.stderr


def test_the_default_month_is_the_last_full_one(tmp_path: Path) -> None:
    config = make_firm(tmp_path)
    out = tmp_path / "last.html"
    assert wallwatch(config, "report", "client", "acme", "--out", str(out)).returncode == 0
    first = datetime.now(ZoneInfo("Asia/Shanghai")).date().replace(day=1)
    last_month = (first - timedelta(days=1)).strftime("%B %Y")
    assert f"{last_month} · times in Asia/Shanghai" in out.read_text(encoding="utf-8")


def test_a_client_the_store_never_saw_gets_a_note_not_just_good_news(tmp_path: Path) -> None:
    config = make_firm(tmp_path)
    out = tmp_path / "acmee.html"
    result = wallwatch(config, "report", "client", "acmee", "--month", "2026-03",
                       "--out", str(out))
    assert result.returncode == 0
    assert "the store has no event of a client named 'acmee' at all" in result.stderr
    assert "Nobody accessed acmee's files in March 2026." in sections(
        out.read_text(encoding="utf-8"))["summary"].text

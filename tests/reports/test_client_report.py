"""`wallwatch report client` over a store the real smbd and daemon filled (tests/reports/firm.py):
the reports say exactly what happened (alice and bob in acme and globex, bob's one breach,
alice's off-hours burst), in English and in Chinese, and open in headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor.reports import chromium
from tests.daemon_process import REPO, query
from tests.reports.firm import BREACH_FILE, BURST, Firm, wallwatch
from tests.reports.html_facts import external_references, png_pixels, sections, table


def report(firm: Firm, out: Path, client: str, lang: str, *extra: str) -> str:
    result = wallwatch(firm.config, "report", "client", client, "--month", firm.month,
                       "--lang", lang, "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def utc(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")


def store_facts(firm: Firm, client: str) -> dict[str, tuple[int, str, str, int, int]]:
    """user -> (events, first, last, off-hours events, reads), straight from the store."""
    rows = query(firm.db, "SELECT user_name, count(*), min(ts), max(ts), sum(off_hours),"
                          " sum(action = 'read') FROM events WHERE client = ? GROUP BY user_name",
                 (client,))
    return {u: (n, utc(lo), utc(hi), off, reads) for u, n, lo, hi, off, reads in rows}


def test_the_recorded_firm_is_what_the_reports_are_checked_against(firm: Firm) -> None:
    acme = store_facts(firm, "acme")
    assert set(acme) == {"alice", "bob"}
    assert acme["alice"][4] >= BURST + 1  # the burst and notes.txt
    assert acme["bob"][4] == 1  # the breach: one read
    assert set(store_facts(firm, "globex")) == {"alice", "bob"}
    assert query(firm.db, "SELECT count(*) FROM events WHERE off_hours = 0") == [(0,)]
    alerts = query(firm.db, "SELECT rule_id, user_name, client, severity FROM alerts")
    assert sorted(alerts) == [("wall.cross-client-access", "bob", "acme", "high"),
                              ("wall.off-hours-bulk-read", "alice", "acme", "high")]


def test_acme_report_in_english_names_the_breach_the_burst_and_nothing_else(
        firm: Firm, tmp_path: Path) -> None:
    html = report(firm, tmp_path / "acme.html", "acme", "en")
    facts = store_facts(firm, "acme")
    total = sum(f[0] for f in facts.values())
    alice, bob = facts["alice"], facts["bob"]
    page = sections(html)

    assert page["summary"].text[1:] == [
        f"In {month_words(firm.month)}, 2 people accessed acme's files {total} times.",
        "1 person not assigned to acme accessed its files (bob): a breach of the wall "
        "between clients.",
        f"{total} accesses happened outside working hours (alice {alice[3]}, bob {bob[3]}).",
        "2 alerts were raised; 2 are still open.",
        "Permissions on acme's folders did not change.",
    ]
    who = {r["User"]: r for r in table(page["who"])}
    assert set(who) == {"alice", "bob"}
    assert who["alice"]["Assignment"] == "assigned"
    assert who["bob"]["Assignment"] == "NOT ASSIGNED"
    for user, (n, first, last, off, _reads) in facts.items():
        assert (who[user]["Accesses"], who[user]["First"], who[user]["Last"],
                who[user]["Off hours"], who[user]["Failed"]) == (str(n), first, last, str(off), "0")
    what = {r["User"]: r for r in table(page["what"])}
    assert what["alice"]["read"] == str(alice[4]) and what["bob"]["read"] == str(bob[4])
    assert what["alice"]["write / create"] == "1"  # alice.txt
    off_rows = table(page["off-hours"])
    assert {r["User"] for r in off_rows} == {"alice", "bob"}
    assert sum(int(r["Accesses"]) for r in off_rows if r["User"] == "alice") == alice[3]
    alerts = table(page["alerts"])
    assert len(alerts) == 2
    breach = next(r for r in alerts if "wall.cross-client-access" in r["Alert"])
    assert (breach["User"], breach["Severity"], breach["How it ended"]) == ("bob", "high", "open")
    assert breach["Path"] == f"{firm.share}/acme/{BREACH_FILE}"
    burst = next(r for r in alerts if "wall.off-hours-bulk-read" in r["Alert"])
    assert (burst["User"], burst["Events"], burst["How it ended"]) == ("alice", "50", "open")
    assert page["permissions"].text[1:] == ["None."]
    # three charts, each telling the same numbers
    assert html.count("<svg") == 3
    titles = page["charts"].svg_titles
    assert f"alice: {alice[0]}" in titles and f"bob: {bob[0]}" in titles
    assert sum(int(x.rsplit(" ", 1)[1]) for x in titles if ":00 " in x) == total  # heatmap
    assert external_references(html) == []


def month_words(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def test_acme_report_in_chinese_states_the_same_facts(firm: Firm, tmp_path: Path) -> None:
    html = report(firm, tmp_path / "acme-zh.html", "acme", "zh-CN")
    facts = store_facts(firm, "acme")
    total = sum(f[0] for f in facts.values())
    year, mon = (int(p) for p in firm.month.split("-"))
    page = sections(html)
    assert '<html lang="zh-CN">' in html
    assert page["summary"].text == [
        "摘要",
        f"{year}年{mon}月，共有 2 人访问了客户 acme 的文件，合计 {total} 次。",
        "有 1 名未分配到客户 acme 的人员访问了其文件（bob），违反了客户之间的隔离。",
        f"有 {total} 次访问发生在工作时间以外"
        f"（alice {facts['alice'][3]}、bob {facts['bob'][3]}）。",
        "共产生 2 条告警，其中 2 条仍未处理。",
        "客户 acme 的文件夹权限没有变更。",
    ]
    who = {r["用户"]: r for r in table(page["who"])}
    assert {u: r["分配"] for u, r in who.items()} == {"alice": "已分配", "bob": "未分配"}
    assert {u: r["访问次数"] for u, r in who.items()} == {
        u: str(f[0]) for u, f in facts.items()}
    alerts = table(page["alerts"])
    assert sorted((r["用户"], r["级别"], r["处理结果"]) for r in alerts) == [
        ("alice", "高", "未处理"), ("bob", "高", "未处理")]
    assert any(r["告警"].startswith("员工打开了未分配给其的客户文件夹") for r in alerts)
    assert page["permissions"].text[1:] == ["无。"]


def test_globex_report_shows_only_assigned_staff_and_no_alerts(firm: Firm,
                                                               tmp_path: Path) -> None:
    facts = store_facts(firm, "globex")
    for lang, expected in (("en", ["Only staff assigned to globex accessed its files.",
                                   "No alerts were raised."]),
                           ("zh-CN", ["只有分配到客户 globex 的员工访问了其文件。",
                                      "没有产生任何告警。"])):
        html = report(firm, tmp_path / f"globex-{lang}.html", "globex", lang)
        page = sections(html)
        summary = page["summary"].text
        assert all(line in summary for line in expected), summary
        rows = table(page["who"])
        assert len(rows) == len(facts) == 2
        assert {r[1] for r in page["who"].rows[1:]} == {"assigned" if lang == "en" else "已分配"}
        assert table(page["alerts"]) == []


def test_report_opens_in_headless_chromium_and_its_first_page_is_drawn(
        firm: Firm, tmp_path: Path) -> None:
    assert chromium.find(), "install Chromium: apt-get install -y --no-install-recommends chromium"
    for lang in ("en", "zh-CN"):
        page = tmp_path / f"acme-{lang}.html"
        report(firm, page, "acme", lang)
        shot = tmp_path / f"acme-{lang}.png"  # kept: the run's evidence of how it looks
        run = chromium.screenshot(page, shot)
        assert run.returncode == 0, run.log[-2000:]
        assert run.console() == [], run.console()  # no script errors, no refused loads
        width, channels, rows = png_pixels(shot, max_rows=300)
        assert width == 1280
        pixels = {row[i:i + 3] for row in rows for i in range(0, len(row), channels * 7)}
        assert len(pixels) > 20, "the first page looks blank"
        # the 3px rule under the title is drawn in the report's blue (#1f4e79)
        assert any(abs(p[0] - 0x1F) < 8 and abs(p[1] - 0x4E) < 8 and abs(p[2] - 0x79) < 8
                   for p in pixels)


def test_pdf_is_printed_next_to_the_html_by_chromium(firm: Firm, tmp_path: Path) -> None:
    report(firm, tmp_path / "acme.html", "acme", "en", "--pdf")
    pdf = (tmp_path / "acme.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"/Type /Page" in pdf
    assert oct(os.stat(tmp_path / "acme.pdf").st_mode & 0o777) == "0o600"


def test_pdf_without_chromium_is_reported_unavailable_and_the_html_still_written(
        firm: Firm, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(firm.config), "report", "client", "acme",
         "--month", firm.month, "--out", str(tmp_path / "a.html"), "--pdf"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 1
    assert "PDF unavailable: Chromium is not installed" in result.stderr
    assert (tmp_path / "a.html").stat().st_size > 0 and not (tmp_path / "a.pdf").exists()

"""docs/RUNBOOK.md against what it describes.

Every alert of deploy/prometheus/alerts.yml and every `wallwatch doctor` check (their
names read off the doctor's code) has a section, and no section describes one that is
gone; every `wallwatch …` command on the page parses with the real argument parser;
every metric it names is one the daemon exports; every `journalctl -g` search finds a
message the daemon logs; and the `sqlite3` procedures run against a real store and do
what the page says.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.cli import build_parser
from monitor.event import ts_to_us
from monitor.sinks.notify_outbox import OutboxRow, due, enqueue, ensure_schema, record_result
from monitor.store import DeadLetter, Store

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "RUNBOOK.md"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
FINDINGS = {"ok", "warn", "fail", "skip"}  # monitor/doctor_findings.py: one per status
PROGRAMS = {"wallwatch", "/opt/wallwatch/bin/wallwatch"}
STORE_DIR = "/var/lib/wallwatch/"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def section(text: str, title: str) -> str:
    """The text under a `## title` heading, up to the next `## `."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def subheadings(text: str) -> set[str]:
    return set(re.findall(r"^### (.+)$", text, re.M))


FENCE = r"^[ \t]*```"  # fences may be indented (inside list items)


def fenced(text: str, info: str) -> list[str]:
    return re.findall(rf"{FENCE}{info}\n(.*?){FENCE}$", text, re.M | re.S)


def inline_code(text: str) -> list[str]:
    """Code spans outside fenced blocks; a span may wrap onto the next line."""
    outside = re.sub(rf"{FENCE}.*?{FENCE}$", "", text, flags=re.M | re.S)
    return [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", outside)]


def shell_commands() -> list[list[str]]:
    """Every simple command of the page's sh blocks and inline code, as words; pipes,
    `&&`, `;` and `$(…)` split them, a leading `sudo -u USER` is dropped."""
    pieces = [line for block in fenced(doc_text(), "sh") for line in block.splitlines()]
    pieces += inline_code(doc_text())
    commands = []
    for piece in pieces:
        lexer = shlex.shlex(piece, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            words = list(lexer)
        except ValueError:
            continue  # not shell (prose in backticks with an odd quote)
        current: list[str] = []
        for word in [*words, ";"]:
            if word and set(word) <= set(";&|()$"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(word)
    out = []
    for words in commands:
        if words[:1] == ["sudo"] and words[1:2] == ["-u"]:
            words = words[3:]
        out.append(words)
    return out


def parse_problem(words: list[str]) -> str | None:
    """Why the real parser refuses `wallwatch WORDS…`, or None when it takes them."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser().parse_args(words[1:])
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue() else "exit"
    return None


def wallwatch_commands() -> list[list[str]]:
    # a bare `wallwatch` names the program (or the user), it is not a command line
    return [w for w in shell_commands() if w[0] in PROGRAMS and len(w) > 1]


def doctor_checks() -> dict[str, set[str]]:
    """Check name → where it is made: the first argument of every ok()/warn()/fail()/skip()
    in monitor/doctor*.py. A name assigned to a variable is followed; an f-string's
    fields become `<field>` (`source <name>`)."""
    def names(node: ast.expr, scope: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.JoinedStr):
            text = ""
            for part in node.values:
                if isinstance(part, ast.Constant):
                    text += str(part.value)
                else:
                    assert isinstance(part, ast.FormattedValue)
                    inner = part.value
                    field = inner.attr if isinstance(inner, ast.Attribute) else ast.unparse(inner)
                    text += f"<{field}>"
            return {text}
        if isinstance(node, ast.Name):
            found: set[str] = set()
            for n in ast.walk(scope):
                if isinstance(n, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == node.id for t in n.targets):
                    found |= names(n.value, scope)
            assert found, f"doctor check name {node.id} is not assigned a plain string"
            return found
        raise AssertionError(f"a doctor check without a stable name: {ast.unparse(node)}")

    checks: dict[str, set[str]] = {}
    for path in sorted((REPO / "monitor").glob("doctor*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for call in ast.walk(fn):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in FINDINGS and call.args):
                    for name in names(call.args[0], fn):
                        checks.setdefault(name, set()).add(f"{path.name}:{fn.name}")
    return checks


def alert_names() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def exported_metrics() -> set[str]:
    """Names the collector exports: gauges as written, counters with `_total`."""
    tree = ast.parse((REPO / "monitor" / "metrics.py").read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args
                and isinstance(node.args[0], ast.Constant)):
            if node.func.id == "GaugeMetricFamily":
                out.add(str(node.args[0].value))
            elif node.func.id == "CounterMetricFamily":
                out.add(f"{node.args[0].value!s}_total")
    return out


def _text_of(node: ast.expr) -> str:
    """A string literal, an f-string's fixed parts, or the parts of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text_of(v) if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.IfExp):
        return f"{_text_of(node.body)}\n{_text_of(node.orelse)}"
    return ""


def log_messages() -> list[str]:
    """What the daemon may log: the format strings of every log call in monitor/, and the
    stage errors (`….error = "…"`) that those calls and /healthz print."""
    out = []
    for path in (REPO / "monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("debug", "info", "warning", "error", "exception")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "log"
                    and node.args):
                out.append(_text_of(node.args[0]))
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Attribute)
                    and node.targets[0].attr == "error"):
                out.append(_text_of(node.value))
    return [m for m in out if m]


# -- sections -----------------------------------------------------------------------------

def test_every_prometheus_alert_has_a_section_and_every_section_an_alert() -> None:
    names = alert_names()
    assert len(names) >= 10
    documented = subheadings(section(doc_text(), "Prometheus alerts"))
    assert set(names) - documented == set(), "alerts without a section"
    assert documented - set(names) == set(), "sections of alerts that are gone"


def test_every_doctor_check_has_a_section_and_every_section_a_check() -> None:
    checks = doctor_checks()
    assert len(checks) >= 10
    documented = subheadings(section(doc_text(), "`wallwatch doctor` checks"))
    wanted = {f"`{name}`" for name in checks}
    assert wanted - documented == set(), "doctor checks without a section"
    assert documented - wanted == set(), "sections of doctor checks that are gone"


def test_doctor_check_names_are_read_off_the_code() -> None:
    checks = doctor_checks()
    # f-string names keep their fixed part and mark the field; variables are followed
    assert "doctor.py:check_source" in checks["source <name>"]
    assert "doctor_samba.py:_share" in checks["smb.conf [<share>]"]


# -- commands -----------------------------------------------------------------------------

def test_every_wallwatch_command_on_the_page_parses_with_the_real_parser() -> None:
    commands = wallwatch_commands()
    assert len(commands) >= 30
    problems = [f"{shlex.join(words)}: {problem}" for words in commands
                if (problem := parse_problem(words)) is not None]
    assert problems == []


def test_the_command_check_refuses_invented_flags_and_placeholders() -> None:
    assert parse_problem(["wallwatch", "verify", "--since", "7d"]) is None
    assert parse_problem(["wallwatch", "verify", "--all"]) is not None
    assert parse_problem(["wallwatch", "silence", "rm", "ID"]) is not None
    assert parse_problem(["wallwatch", "reship"]) is not None
    found = {tuple(w) for w in wallwatch_commands()}
    assert ("wallwatch", "notify", "test", "it-mail") in found  # inline code is read too
    assert ("wallwatch", "report", "activity", "--since", "1d") in found  # comments dropped


def slugs(text: str) -> set[str]:
    """GitHub's anchors of a document's headings."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", re.sub(rf"{FENCE}.*?{FENCE}$", "", text,
                                                     flags=re.M | re.S), re.M)}


def test_every_link_to_a_section_lands_on_a_heading() -> None:
    own = slugs(doc_text())
    rules = slugs((REPO / "docs" / "RULES.md").read_text(encoding="utf-8"))
    targets = re.findall(r"\]\((RULES\.md)?#([^)]+)\)", doc_text())
    assert len(targets) >= 10
    assert [f"{doc}#{anchor}" for doc, anchor in targets
            if anchor not in (rules if doc else own)] == []


def test_every_metric_the_page_names_is_exported() -> None:
    named = set(re.findall(r"\bwallwatch_[a-z_]+[a-z]", doc_text()))
    assert len(named) >= 5
    assert named - exported_metrics() == set()


def test_every_journal_search_finds_a_message_the_daemon_logs() -> None:
    messages = log_messages()
    searches = [w[w.index("-g") + 1] for w in shell_commands()
                if w[0] == "journalctl" and "-g" in w[:-1]]
    assert len(searches) >= 5
    missing = [alt for pattern in searches for alt in pattern.split("|")
               if not any(re.search(alt, m) for m in messages)]
    assert missing == []


# -- the sqlite3 procedures ---------------------------------------------------------------

def sqlite_commands(tmp_path: Path) -> list[list[str]]:
    out = []
    for words in shell_commands():
        if words[0] == "sqlite3":
            out.append([w.replace(STORE_DIR, f"{tmp_path}/") for w in words])
    return out


def test_the_sqlite3_procedures_run_on_a_real_store_and_do_what_they_say(
        tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed")
    store = Store(tmp_path / "wallwatch.db")
    ensure_schema(store.db)
    now = ts_to_us(datetime.now(UTC))
    with store.transaction():
        for name, position in (("es.events", 50_000), ("es.alerts", 300), ("es.chain", 40)):
            store.db.execute("INSERT INTO cursors (name, position) VALUES (?, ?)",
                             (name, position))
        store.insert_dead([
            DeadLetter("aa" * 12, "samba:/var/log/samba/audit.log", "/var/log/samba/audit.log",
                       120, "no operation field", b"bob|10.0.0.5|garbled"),
            DeadLetter("bb" * 12, "elasticsearch", "logs-wallwatch.events-default", 42_000,
                       "HTTP 400 mapper_parsing_exception: …", b"{}")])
        row = OutboxRow.new("it-mail", "alert", "a1", None, ["a1"], now, now, "t", "b")
        enqueue(store.db, [row])
        store.db.execute("UPDATE notify_outbox SET attempts = 30 WHERE id = ?", (row.id,))
        record_result(store.db, row.id, "failed", now, "connection refused", [])
    store.close()

    commands = sqlite_commands(tmp_path)
    assert len(commands) >= 6
    for words in commands:
        done = subprocess.run(words, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Error" not in done.stderr, (shlex.join(words),
                                                                     done.stderr)

    store = Store(tmp_path / "wallwatch.db")
    try:
        # re-shipping moved every shipper cursor back
        assert all(store.cursor(n)[0] < p for n, p in
                   (("es.events", 50_000), ("es.alerts", 300), ("es.chain", 40)))
        # the failed delivery is due again for the running sender
        assert [r.id for r in due(store.db, "it-mail", now)] == [row.id]
    finally:
        store.close()
    assert (tmp_path / "evidence.db").exists()  # the evidence copy of the store was made

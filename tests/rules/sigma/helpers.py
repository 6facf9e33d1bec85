"""Sigma test helpers: the public corpus, pySigma's view of a file, events in the
shapes our sources produce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sigma.rule import SigmaRule

from monitor.event import Alert, Event
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule
from monitor.rules.sigma.documents import parse_document, read_documents
from monitor.rules.sigma.mapping import LogsourceMapping, shipped
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.tail import Line
from monitor.sources.winlog import WinlogParser

CORPUS = Path("/work/shared/corpus/sigma")
WINDOWS_EVENTS = Path("/work/shared/corpus/windows/otrf_selected_security_events.jsonl")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def corpus_files(folder: str = "") -> list[Path]:
    if not CORPUS.exists():
        pytest.skip(f"public corpus not on this machine: {CORPUS}")
    return sorted((CORPUS / folder).rglob("*.yml"))


def sigma_rules(path: Path) -> list[SigmaRule]:
    """pySigma's objects for the detection rules of a file."""
    text = path.read_text()
    docs = [parse_document(node, i, text.splitlines())
            for i, node in enumerate(read_documents(text, str(path)))]
    return [d.rule for d in docs if isinstance(d.rule, SigmaRule)]


def mapping_for(rule: SigmaRule) -> LogsourceMapping:
    ls = rule.logsource
    found = shipped().find(ls.category, ls.product, ls.service)
    assert found is not None
    return found


def run(rules: list[Rule], events: list[Event]) -> list[Alert]:
    engine = RuleEngine(rules, timedelta(0))
    return [a for ev in events for a in engine.process(ev)] + engine.flush()


def winlog_events(lines: list[bytes], source: str = "win") -> list[Event]:
    """Lines through the real Windows source parser, as the pipeline feeds it."""
    parser = WinlogParser(ParserContext(source, "/x.jsonl", UTC, {},
                                        lambda: datetime(2026, 11, 27, tzinfo=UTC)))
    out = ParseOutput(source, "/x.jsonl")
    offset = 0
    for data in lines:
        parser.feed(Line(offset, data, "fp"), out)
        offset += len(data) + 1
    assert out.dead == [], [d.reason for d in out.dead]
    return out.events


def winlog_line(event_id: int, at: datetime, **data: Any) -> bytes:
    """A Windows Security event as Winlogbeat writes it (one JSON line)."""
    doc = {"@timestamp": at.isoformat().replace("+00:00", "Z"),
           "winlog": {"event_id": event_id, "channel": "Security",
                      "computer_name": data.pop("computer", "DC1.corp.example"),
                      "provider_name": "Microsoft-Windows-Security-Auditing",
                      "event_data": data}}
    return orjson.dumps(doc)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path

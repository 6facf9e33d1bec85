"""The values that go into messages: neutralised field text, local times, the exact
`wallwatch search` command and the Kibana Discover link that show the evidence.

Field values come from logs an intruder can write to (a file name, a user name
sent by a client): every one passes `clean()`, which turns control and format
characters (newlines, escape sequences, bidirectional overrides, line and
paragraph separators) into visible escapes and bounds the length, so a file
named "x\n[CRITICAL] all clear" cannot forge a line or a title. The search
command is built from the raw values (it must find them) and made safe by
quoting instead: the query language's own escapes, then the shell's.
"""

from __future__ import annotations

import shlex
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from monitor.event import us_to_ts
from monitor.search.fields import KNOWN_FIELDS

MAX_VALUE = 300
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"}
SEVERITY_LABELS = {
    "en": {"low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"},
    "zh-CN": {"low": "低危", "medium": "中危", "high": "高危", "critical": "严重"},
}
DEFAULT_CONFIG = "/etc/wallwatch/wallwatch.yaml"  # as monitor.cli; not imported (cycle)
# query-language characters a backslash makes literal in a word
_QUERY_SPECIAL = set(' "()*?\\:-<>')


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def clean(value: object, limit: int = MAX_VALUE, empty: str = "-") -> str:
    """A field value made safe to put on one line of a message."""
    if value is None or value == "":
        return empty
    text = str(value)
    out: list[str] = []
    for ch in text:
        if _unsafe(ch):
            named = _NAMED.get(ch)
            out.append(named if named else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100
                                            else f"\\u{ord(ch):04x}"))
        else:
            out.append(ch)
    cleaned = "".join(out)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def local_time(ts_us: int, tz: ZoneInfo) -> str:
    local = us_to_ts(ts_us).astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} ({tz.key}, UTC{offset[:3]}:{offset[3:]})"


def short_time(ts_us: int, tz: ZoneInfo) -> str:
    return f"{us_to_ts(ts_us).astimezone(tz):%Y-%m-%d %H:%M:%S}"


def iso_second(ts_us: int, up: bool = False) -> str:
    """UTC ISO time to the second, rounded down (or up): what --since/--until take."""
    seconds = ts_us // 1_000_000 + (1 if up and ts_us % 1_000_000 else 0)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_term(name: str, value: str) -> str:
    """`name:"value"` in the search language; a value with control characters becomes
    a word with `?` (any one character) in their place, so the command stays one line
    and still finds it."""
    if not any(_unsafe(ch) for ch in value):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}:"{escaped}"'
    parts = []
    for ch in value:
        if _unsafe(ch):
            parts.append("?")
        elif ch in _QUERY_SPECIAL or ch.isspace():
            parts.append("\\" + ch if not ch.isspace() or ch == " " else "?")
        else:
            parts.append(ch)
    return f"{name}:{''.join(parts)}"


def evidence_terms(group: Sequence[Sequence[str]],
                   fallback: Sequence[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """The (field, value) pairs that select an alert's evidence: its group when the
    store can search those fields, else the alert's own user/client/path/address."""
    terms = [(str(k), str(v)) for k, v in group if k in KNOWN_FIELDS]
    if terms:
        return terms
    return [(k, v) for k, v in fallback if v is not None and k in KNOWN_FIELDS]


def search_command(config_path: str, terms: Sequence[tuple[str, str]], since_us: int,
                   until_us: int) -> str:
    query = " AND ".join(query_term(k, v) for k, v in terms)
    argv = ["wallwatch"]
    if config_path != DEFAULT_CONFIG:
        argv += ["-c", config_path]
    argv += ["search"] + ([query] if query else [])
    argv += ["--since", iso_second(since_us), "--until", iso_second(until_us, up=True)]
    return " ".join(shlex.quote(a) for a in argv)


def _rison_string(text: str) -> str:
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def kql(terms: Sequence[tuple[str, str]]) -> str:
    return " and ".join(
        f'{k}:"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for k, v in terms)


def discover_url(base: str, terms: Sequence[tuple[str, str]], since_us: int,
                 until_us: int) -> str:
    """A Kibana Discover link with the query and the time range (rison in the hash)."""
    def ms(us: int) -> str:
        return us_to_ts(us).strftime("%Y-%m-%dT%H:%M:%S.") + f"{us % 1_000_000 // 1000:03d}Z"

    g = f"(time:(from:{_rison_string(ms(since_us))},to:{_rison_string(ms(until_us))}))"
    a = f"(query:(language:kuery,query:{_rison_string(kql(terms))}))"
    fragment = base.split("#", 1)[1] if "#" in base else None
    sep = "#/?" if fragment is None else ("&" if "?" in fragment else "?")
    safe = "(),:!'*-._~"
    return f"{base}{sep}_g={quote(g, safe=safe)}&_a={quote(a, safe=safe)}"


def severity_label(language: str, severity: str) -> str:
    labels = SEVERITY_LABELS.get(language, SEVERITY_LABELS["en"])
    return labels.get(severity, clean(severity).upper())


def sentence(language: str, who: str, rule_title: str, rule_id: str, client: str | None,
             host: str | None) -> str:
    """What happened, in one sentence (all arguments already clean)."""
    if language == "zh-CN":
        place = f"在客户 {client} 的文件中" if client else (f"在主机 {host} 上" if host else "")
        return f"{who}{' ' + place if place else ''}触发了规则“{rule_title}”（{rule_id}）。"
    where = f" in the files of client {client}" if client else ""
    on = f" on {host}" if host else ""
    return f"{who} set off “{rule_title}” ({rule_id}){where}{on}."

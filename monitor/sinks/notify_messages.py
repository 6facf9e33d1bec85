"""Building each kind of message from an alert, an incident or a digest.

Every field value passes `clean()` here, once, before a template sees it.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from monitor.event import SEVERITIES, ts_to_us
from monitor.sinks.notify_config import NotifyConfig, Route
from monitor.sinks.notify_digests import Digest
from monitor.sinks.notify_incidents import Incident
from monitor.sinks.notify_model import NotifyAlert
from monitor.sinks.notify_templates import Message, Templates
from monitor.sinks.notify_text import (
    clean,
    discover_url,
    evidence_terms,
    local_time,
    search_command,
    sentence,
    severity_label,
    short_time,
)

MAX_LISTED = 50  # digest lines; the rest is counted

_WORDS = {
    "en": {"ongoing": "still going on", "closed": "gone quiet, incident closed",
           "more": "… and {n} more: wallwatch alerts", "none": "-"},
    "zh-CN": {"ongoing": "仍在继续", "closed": "已平息，事件单关闭",
              "more": "……另有 {n} 条：wallwatch alerts", "none": "-"},
}


def _words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["en"])


def _evidence(cfg: NotifyConfig, group: list[list[str]] | tuple[tuple[str, str], ...],
              fields: dict[str, Any], since: int, until: int) -> tuple[str, str]:
    terms = evidence_terms(group, [("user.name", fields.get("user")),
                                   ("wallwatch.client", fields.get("client")),
                                   ("file.path", fields.get("path")),
                                   ("source.ip", fields.get("ip"))])
    command = search_command(cfg.config_path, terms, since - 1_000_000, until + 1_000_000)
    kibana = ""
    if cfg.kibana_discover:
        link = discover_url(cfg.kibana_discover, terms, since - 1_000_000, until + 1_000_000)
        kibana = f"Kibana: {link}"
    return command, kibana


def _common(cfg: NotifyConfig, route: Route, rule_id: str, rule_name: str, severity: str,
            fields: dict[str, Any]) -> dict[str, str]:
    lang = route.language
    who = clean(fields.get("user") or fields.get("ip"), 80, "?")
    where = clean(fields.get("client") or fields.get("host"), 80, "?")
    title, rid = clean(rule_name, 200), clean(rule_id, 120)
    client = clean(fields["client"], 80) if fields.get("client") else None
    host = clean(fields["host"], 80) if fields.get("host") else None
    return {
        "severity": severity_label(lang, severity), "rule_title": title, "rule_id": rid,
        "who": who, "where": where, "user": clean(fields.get("user")),
        "client": clean(fields.get("client")), "host": clean(fields.get("host")),
        "share": clean(fields.get("share")), "path": clean(fields.get("path"), 500),
        "ip": clean(fields.get("ip")), "route": clean(route.name),
        "description": clean(fields.get("description"), 600),
        "sentence": sentence(lang, who, title, rid, client, host),
    }


def alert_message(cfg: NotifyConfig, templates: Templates, route: Route, alert: NotifyAlert,
                  incident: str) -> Message:
    fields = {"user": alert.user, "client": alert.client, "host": alert.host,
              "share": alert.share, "path": alert.path, "ip": alert.ip,
              "description": alert.description}
    values = _common(cfg, route, alert.rule_id, alert.rule_name, alert.severity, fields)
    command, kibana = _evidence(cfg, alert.group, fields, alert.window_start, alert.ts)
    values.update(when=local_time(alert.ts, cfg.timezone), count=str(alert.count),
                  incident=clean(incident), search=command, kibana_line=kibana)
    return templates.render(route.language, "alert", values)


def update_message(cfg: NotifyConfig, templates: Templates, route: Route, inc: Incident,
                   since: int, until: int, closed: bool) -> Message:
    words = _words(route.language)
    values = _common(cfg, route, inc.rule_id, inc.rule_name, inc.severity, inc.first)
    command, kibana = _evidence(cfg, inc.group, inc.first, inc.first_ts, until)
    pending = inc.pending
    actions = ", ".join(f"{clean(a, 60)} ×{n}" for a, n in
                        sorted(pending.actions.items(), key=lambda kv: (-kv[1], kv[0])))
    files = "; ".join(clean(f, 200) for f in pending.files)
    if len(pending.files) >= 10:
        files += " …"
    events = f"{pending.events}+" if pending.truncated else str(pending.events)
    values.update(
        when=local_time(inc.first_ts, cfg.timezone), new_alerts=str(len(pending.alerts)),
        new_events=events, actions=actions or words["none"], files=files or words["none"],
        since=short_time(since, cfg.timezone), until=local_time(until, cfg.timezone),
        state=words["closed" if closed else "ongoing"], incident=clean(inc.id), search=command,
        kibana_line=kibana)
    return templates.render(route.language, "update", values)


def digest_message(cfg: NotifyConfig, templates: Templates, route: Route,
                   digest: Digest) -> Message:
    lang = route.language
    items = sorted(digest.items, key=lambda i: (i["ts"], i["alert_id"]))
    lines = []
    for item in items[:MAX_LISTED]:
        who = clean(item.get("user") or item.get("ip"), 80, "?")
        where = clean(item.get("client") or item.get("host"), 80, "?")
        lines.append(f"- {short_time(item['ts'], cfg.timezone)} "
                     f"[{severity_label(lang, item['severity'])}] {clean(item['rule_id'], 120)} "
                     f"{who} @ {where} ×{int(item['count'])} ({clean(item['incident'])}"
                     f"{', new' if item.get('new') and lang == 'en' else ''}"
                     f"{'，新' if item.get('new') and lang == 'zh-CN' else ''})")
    more = digest.alerts - len(lines)
    worst = max((i["severity"] for i in items), default="low",
                key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else 0)
    values = {
        "severity": severity_label(lang, worst), "route": clean(route.name),
        "period": short_time(digest.bucket_start, cfg.timezone),
        "since": short_time(digest.bucket_start, cfg.timezone),
        "until": local_time(digest.bucket_end, cfg.timezone), "alerts": str(digest.alerts),
        "events": str(digest.events), "incidents": str(len({i["incident"] for i in items})),
        "items": "\n".join(lines), "more": _words(lang)["more"].format(n=more) if more else "",
    }
    return templates.render(lang, "digest", values)


def test_message(cfg: NotifyConfig, templates: Templates, route: Route,
                 host: str | None = None) -> Message:
    now = ts_to_us(datetime.now(UTC))
    values = {"route": clean(route.name), "host": clean(host or socket.gethostname()),
              "when": local_time(now, cfg.timezone)}
    return templates.render(route.language, "test", values)

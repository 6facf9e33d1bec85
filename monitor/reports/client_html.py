"""The monthly per-client access report as one self-contained HTML page.

Order follows what a partner reads first: a plain-language summary, who
accessed the files, what they did, off-hours activity, alerts, permission
changes, then the charts. Every sentence comes from messages.py, every value
is escaped by page.esc.
"""

from __future__ import annotations

from datetime import datetime

from monitor.reports import charts
from monitor.reports.client_data import GROUPS, UNKNOWN_USER, ClientMonth, StaffRow
from monitor.reports.messages import has, join_names, month_name, t, weekday
from monitor.reports.page import document, esc, table

TIME = "%Y-%m-%d %H:%M:%S"


def _who(lang: str, user: str) -> str:
    return user if user != UNKNOWN_USER else t(lang, "unknown_user")


def _time(value: datetime | None) -> str:
    return value.strftime(TIME) if value else "-"


def summary(data: ClientMonth, lang: str) -> list[tuple[str, bool]]:
    """The summary's sentences, each with whether it reports a problem."""
    month = month_name(lang, data.start.date())
    client = data.client
    people = [s for s in data.staff if s.user != UNKNOWN_USER]
    out: list[tuple[str, bool]] = []
    if data.total:
        out.append((t(lang, "sum_people", n=len(people), people=len(people), client=client,
                      month=month, events=f"{data.total:,}"), False))
    else:
        out.append((t(lang, "sum_nobody", client=client, month=month), False))
    breachers = [s.user for s in data.staff if s.status == "not_assigned" and s.breaches]
    if breachers:
        out.append((t(lang, "sum_breach", n=len(breachers), client=client,
                      names=join_names(lang, breachers)), True))
    elif data.total:
        out.append((t(lang, "sum_no_breach", client=client), False))
    unknown = [s for s in data.staff if s.status == "not_staff"]
    if unknown:
        n = sum(s.events for s in unknown)
        out.append((t(lang, "sum_unknown", n=n, names=join_names(
            lang, [_who(lang, s.user) for s in unknown])), True))
    off = [s for s in data.staff if s.off_hours]
    if off:
        n = sum(s.off_hours for s in off)
        out.append((t(lang, "sum_off_hours", n=n, names=join_names(
            lang, [f"{_who(lang, s.user)} {s.off_hours:,}" for s in off])), True))
    else:
        out.append((t(lang, "sum_no_off_hours"), False))
    if data.alerts:
        still = sum(1 for a in data.alerts if a.status == "open")
        out.append((t(lang, "sum_alerts", n=len(data.alerts), open=still), True))
    else:
        out.append((t(lang, "sum_no_alerts"), False))
    if data.permissions:
        out.append((t(lang, "sum_perms", n=len(data.permissions), client=client), True))
    else:
        out.append((t(lang, "sum_no_perms", client=client), False))
    return out


def _status_cell(lang: str, s: StaffRow) -> tuple[str, str]:
    css = {"assigned": "ok", "not_assigned": "bad", "not_staff": "warn"}[s.status]
    return css, esc(t(lang, s.status))


def _staff_table(data: ClientMonth, lang: str) -> str:
    headers = [("", esc(t(lang, "col_user"))), ("", esc(t(lang, "col_status"))),
               ("n", esc(t(lang, "col_events"))), ("", esc(t(lang, "col_first"))),
               ("", esc(t(lang, "col_last"))), ("n", esc(t(lang, "col_off"))),
               ("n", esc(t(lang, "col_failed")))]
    rows = [[("", esc(_who(lang, s.user))), _status_cell(lang, s), ("n", f"{s.events:,}"),
             ("", esc(_time(s.first))), ("", esc(_time(s.last))), ("n", f"{s.off_hours:,}"),
             ("n", f"{s.failed:,}")] for s in data.staff]
    return table(headers, rows, t(lang, "none"))


def _actions_table(data: ClientMonth, lang: str) -> str:
    used = [g for g in GROUPS if any(s.by_group.get(g) for s in data.staff)]
    headers = [("", esc(t(lang, "col_user")))] + [("n", esc(t(lang, f"g_{g}"))) for g in used]
    rows = [[("", esc(_who(lang, s.user)))] + [("n", f"{s.by_group.get(g, 0):,}") for g in used]
            for s in data.staff]
    return table(headers, rows, t(lang, "none"))


def _off_hours_table(data: ClientMonth, lang: str) -> str:
    headers = [("", esc(t(lang, "col_day"))), ("", esc(t(lang, "col_user"))),
               ("n", esc(t(lang, "col_events"))), ("", esc(t(lang, "col_first"))),
               ("", esc(t(lang, "col_last")))]
    rows = [[("", esc(f"{r.day.isoformat()} {weekday(lang, r.day.weekday())}")),
             ("", esc(_who(lang, r.user))), ("n", f"{r.events:,}"),
             ("", esc(r.first.strftime("%H:%M:%S"))), ("", esc(r.last.strftime("%H:%M:%S")))]
            for r in data.off_hours]
    return table(headers, rows, t(lang, "none"))


def _alerts_table(data: ClientMonth, lang: str) -> str:
    headers = [("", esc(t(lang, "col_time"))), ("", esc(t(lang, "col_rule"))),
               ("", esc(t(lang, "col_severity"))), ("", esc(t(lang, "col_user"))),
               ("n", esc(t(lang, "col_count"))), ("", esc(t(lang, "col_path"))),
               ("", esc(t(lang, "col_outcome")))]
    rows = []
    for a in data.alerts:
        sev = t(lang, f"sev_{a.severity}") if has(lang, f"sev_{a.severity}") else a.severity
        css = "bad" if a.severity in ("high", "critical") else "warn"
        name = t(lang, f"rule_{a.rule_id}") if has(lang, f"rule_{a.rule_id}") else a.rule_name
        rows.append([("", esc(_time(a.time))),
                     ("", f"{esc(name)}<br><span class=\"muted\">{esc(a.rule_id)}</span>"),
                     (css, esc(sev)), ("", esc(a.user or "-")), ("n", f"{a.count:,}"),
                     ("path", esc(a.path or "-")), ("bad", esc(t(lang, f"status_{a.status}")))])
    return table(headers, rows, t(lang, "none"))


def _perms_table(data: ClientMonth, lang: str) -> str:
    headers = [("", esc(t(lang, "col_time"))), ("", esc(t(lang, "col_user"))),
               ("", esc(t(lang, "col_action"))), ("", esc(t(lang, "col_path"))),
               ("path", esc(t(lang, "col_change")))]
    rows = [[("", esc(_time(p.time))), ("", esc(_who(lang, p.user))),
             ("", esc(t(lang, f"a_{p.action}"))), ("path", esc(p.path)),
             ("path", esc(f"{p.before or '?'} → {p.after or '?'}"))]
            for p in data.permissions]
    return table(headers, rows, t(lang, "none"))


def _charts(data: ClientMonth, lang: str) -> str:
    names = {g: t(lang, f"g_{g}") for g in GROUPS}
    days = [(str(d.day), data.daily.get(d, {})) for d in data.days]
    used = [g for g in GROUPS if any(c.get(g) for _, c in days)] or ["read"]
    daily = charts.stacked_days(t(lang, "chart_daily"), days, used, names)
    heat = charts.heatmap(t(lang, "chart_heat"), data.heat,
                          [weekday(lang, i) for i in range(7)], data.working)
    bars = [(_who(lang, s.user), s.events, charts.STATUS_COLOURS[s.status])
            for s in data.staff]
    legend = [(t(lang, f"legend_{k}"), c) for k, c in charts.STATUS_COLOURS.items()]
    staff = charts.hbars(t(lang, "chart_staff"), bars, legend)
    return (f'<div class="charts"><figure><figcaption>{esc(t(lang, "chart_daily"))}</figcaption>'
            f"{daily}</figure>"
            f'<figure><figcaption>{esc(t(lang, "chart_heat"))}</figcaption>'
            f'<p class="note">{esc(t(lang, "chart_heat_note"))}</p>{heat}</figure>'
            f'<figure><figcaption>{esc(t(lang, "chart_staff"))}</figcaption>{staff}</figure>'
            "</div>")


def render(data: ClientMonth, lang: str) -> str:
    title = t(lang, "title", client=data.client)
    sub = t(lang, "subtitle", month=month_name(lang, data.start.date()), tz=str(data.tz),
            generated=data.generated.strftime("%Y-%m-%d %H:%M"))
    sentences = "".join(f'<p class="{"bad" if bad else ""}">{esc(text)}</p>'
                        for text, bad in summary(data, lang))
    body = [
        f'<header data-wallwatch-report="client"><h1>{esc(title)}</h1>'
        f'<div class="sub">{esc(sub)}</div></header>',
        f'<section id="summary"><h2>{esc(t(lang, "summary"))}</h2>'
        f'<div class="summary">{sentences}</div></section>',
        f'<section id="who"><h2>{esc(t(lang, "who"))}</h2>{_staff_table(data, lang)}</section>',
        f'<section id="what"><h2>{esc(t(lang, "what"))}</h2>{_actions_table(data, lang)}'
        "</section>",
        f'<section id="off-hours"><h2>{esc(t(lang, "off_hours"))}</h2>'
        f'<p class="note">{esc(t(lang, "off_hours_note"))}</p>{_off_hours_table(data, lang)}'
        "</section>",
        f'<section id="alerts"><h2>{esc(t(lang, "alerts"))}</h2>{_alerts_table(data, lang)}'
        "</section>",
        f'<section id="permissions"><h2>{esc(t(lang, "perms"))}</h2>'
        f"{_perms_table(data, lang)}</section>",
        f'<section id="charts"><h2>{esc(t(lang, "charts"))}</h2>{_charts(data, lang)}</section>',
        f'<footer>{esc(t(lang, "footer", host=data.host))}</footer>',
    ]
    return document(lang, title, body)

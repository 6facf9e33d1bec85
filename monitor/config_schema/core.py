"""Schema of the sections config.py and calendar.py read: host, timezone, store,
clients, shares, staff, rules, metrics, calendar; and sigma (read by the rules)."""

from __future__ import annotations

from datetime import date

from monitor.config_schema.model import Key, Section

HOST = Section("host", "Which storage host this daemon runs on.", (
    Key("name", "string", "Name of this host in every event (`host.name`) and alert.",
        example="fs01", default_doc="the machine's host name"),
))

TIMEZONE = Key(
    "timezone", "time zone", "IANA time zone of the firm: log times written without an "
    "offset, working hours and report dates are read in it.",
    example="Asia/Shanghai", default="Asia/Shanghai")

STORE = Section("store", "The local event log: an SQLite file that every consumer reads "
                "with its own cursor.", (
    Key("path", "path", "SQLite file of the event log (created on first run).",
        example="/var/lib/wallwatch/wallwatch.db", default="wallwatch.db"),
    Key("retention", "duration", "How long events are kept; the Cybersecurity Law asks "
        "for at least six months of access logs. Events not yet shipped to Elasticsearch "
        "stay until they are.",
        example="180d", default="180d"),
))

CLIENTS = Section("clients", "Where each client's folder is: the path of an event "
                  "gives its `wallwatch.client`.", (
    Key("paths", "list of strings", "Path patterns with one `{client}` (the client code); "
        "`**` matches anything below. Absolute paths.",
        example=["/srv/share/clients/{client}/**"], default=[]),
    Key("archived", "list of strings", "Client codes of offboarded clients: any access "
        "to their folders is suspicious.", example=["oldco"], default=[]),
    Key("ignore", "list of strings", "Folders in a `{client}` place that are not clients "
        "(templates, scans, the firm's own): their events get no `wallwatch.client`, so no "
        "client rule fires on them. Shell-style patterns, case-insensitive.",
        example=["_模板", "scans", "_*"], default=[]),
))

SHARES = Section("shares", "Samba share names and the folder each exports; an event "
                 "under the folder gets `wallwatch.share`.", (
    Key("<share>", "path", "The folder on disk the share exports.",
        example={"clients": "/srv/share/clients"}),
), kind="names")

STAFF_ENTRY = Section("staff.<user>", "The long form of a staff entry.", (
    Key("clients", "list of strings", "Client codes the person is assigned to; `\"*\"` "
        "is every client.", example=["*"], required=True),
    Key("except", "list of strings", "Client codes excluded from `clients` (a conflict of "
        "interest).", example=["umbrella"], default=[]),
    Key("left", "date", "Last working day; access after it is a departed user's.",
        example=date(2026, 6, 30)),
))

STAFF = Section("staff", "Who works for which clients: the simplest assignments table "
                "(see also `assignments`). User names are matched case-insensitively.", (
    Key("<user>", "list of strings, or a mapping",
        "The client codes the user is assigned to, or the long form below.",
        example={"zhang.wei": ["acme", "globex"], "li.na": ["initech"]},
        section=STAFF_ENTRY),
), kind="names", entry="wang.fang")

RULES = Section("rules", "Which rules run, and how long they wait for late events.", (
    Key("paths", "list of strings", "Rule files and folders (Wallwatch YAML and Sigma "
        "rules).", example=["rules/"], default_doc="the rules shipped with Wallwatch"),
    Key("lateness", "duration", "How long the rules wait for events that arrive out of "
        "order before they decide on a window.", example="30s", default="10s"),
    Key("max_future", "duration", "How far past this host's clock an event's time may be. "
        "A later one (a clock that jumped years ahead, a forged line) is evaluated at once as "
        "of the newest event time and counted in `wallwatch_future_events_total`, so it "
        "cannot make every later event late or hold a window open.", example="2h",
        default="1h"),
))

METRICS = Section("metrics", "Prometheus metrics and `/healthz` over HTTP.", (
    Key("enabled", "true/false", "Serve the metrics endpoint.", example=True, default=True),
    Key("listen", "host:port", "Address to listen on; loopback unless opened on purpose.",
        example="127.0.0.1:9108", default="127.0.0.1:9108"),
))

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WORKDAY = "09:00-18:00"
_DAY_DOC = "Working hours as quoted `\"HH:MM-HH:MM\"` spans, comma-separated, or `none`."


def _day(day: str) -> Key:
    off = day in ("sat", "sun")
    example = "09:00-12:00,13:30-18:00" if day == "mon" else "none" if off else _WORKDAY
    return Key(day, "time spans", _DAY_DOC, example=example,
               default="none" if off else _WORKDAY)


HOURS = Section("calendar.hours", "Working hours per weekday; days not listed keep their "
                "default. Unquoted 9:00 is a number in YAML: quote times.", (
    *(_day(day) for day in WEEKDAYS),
    Key("makeup", "time spans", "Hours of a make-up working day (调休上班).",
        example="09:00-17:00", default_doc="Monday's hours"),
))

CALENDAR = Section("calendar", "The business calendar behind `wallwatch.off_hours`: "
                   "weekday hours, public holidays and make-up working days.", (
    Key("country", "string or null", "Public holidays and official make-up days from the "
        "`holidays` package; `null` turns them off.", example="CN", default="CN",
        choices=("CN",)),
    Key("hours", "mapping", "Working hours per weekday.", section=HOURS),
    Key("holidays", "list of dates", "Extra days off (YYYY-MM-DD), e.g. an official "
        "schedule the package does not know yet.", example=[date(2027, 2, 5)], default=[]),
    Key("workdays", "list of dates", "Extra working days, worked with the make-up hours.",
        example=[date(2027, 2, 7)], default=[]),
))

SIGMA = Section("sigma", "Sigma rules: the field mappings they are compiled with.", (
    Key("mappings", "path", "A mapping file whose logsources are added to the shipped "
        "ones (a logsource of the same name replaces the shipped one).",
        example="sigma-mappings.yaml", default_doc="the shipped mappings only"),
))

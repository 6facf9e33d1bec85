"""The `notify:` section of wallwatch.yaml → immutable NotifyConfig. Errors name file:line:col.

    notify:
      language: zh-CN                 # zh-CN | en, the default for routes
      templates: /etc/wallwatch/templates   # optional: <lang>/<kind>.txt overrides
      kibana_discover: https://kibana.firm.local:5601/app/discover   # optional
      incident: {gap: 30m, update_every: 1h}
      retry: {attempts: 30, backoff: 5s, max_backoff: 5m}
      routes:
        - name: it-mail
          urls: ["mailto://…"]        # secrets: better in url_files / url_env
          url_files: [/etc/wallwatch/secrets/it-mail.url]   # one URL a line
          url_env: [WALLWATCH_WECOM_URL]
          match: {severity: high, rules: ["wall.*"], tags: [T1039], clients: [acme], hosts: [nas01]}
          language: en
          mode: immediate             # immediate | hourly | daily | digest (with every:)
          every: 15m
          mute: ["22:00-07:00", {days: [sat, sun]}]

URLs are read once, here, and live only in memory: the store never holds one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor import config_schema as schema
from monitor.config import Config
from monitor.config_read import check_section, choice, duration, err, str_list, sub, whole
from monitor.config_schema.sinks import LANGUAGES, MODES, WEEKDAYS
from monitor.errors import ConfigError
from monitor.event import SEVERITIES
from monitor.sinks.notify_mask import Masker, display_url, install_log_masking
from monitor.yamlloc import YDict, YList

SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Match:
    """Which alerts a route takes. Every given criterion must hold; each list is any-of."""

    min_severity: str = "low"
    rules: tuple[str, ...] = ()  # glob patterns on rule.id
    tags: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()  # glob patterns, case-insensitive
    hosts: tuple[str, ...] = ()  # glob patterns, case-insensitive


@dataclass(frozen=True)
class MuteWindow:
    """Recurring local time in which a route stays quiet: [start, end) minutes after
    midnight on the listed weekdays; end <= start crosses midnight into the next day."""

    days: frozenset[int]
    start: int
    end: int
    text: str

    def covers(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        return ((day in self.days and minute >= self.start)
                or ((day - 1) % 7 in self.days and minute < self.end))


@dataclass(frozen=True, repr=False)
class Route:
    name: str
    urls: tuple[str, ...]  # secret: never printed, see display_urls()
    match: Match = field(default_factory=Match)
    language: str = "zh-CN"
    mode: str = "immediate"
    every: timedelta | None = None  # digest period of the non-immediate modes
    mute: tuple[MuteWindow, ...] = ()
    line: int = 0

    @property
    def immediate(self) -> bool:
        return self.mode == "immediate"

    def display_urls(self) -> list[str]:
        return [display_url(u) for u in self.urls]

    def __repr__(self) -> str:  # a dataclass repr would print the URLs
        return f"Route({self.name!r}, mode={self.mode}, urls={self.display_urls()})"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 30  # 5s doubling to 5 min: about two hours before giving up
    backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=5)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failed try (1-based)."""
        base = self.backoff.total_seconds() * float(2 ** min(max(attempt - 1, 0), 30))
        return min(base, self.max_backoff.total_seconds())


@dataclass(frozen=True)
class NotifyConfig:
    routes: tuple[Route, ...]
    timezone: ZoneInfo
    config_path: str
    language: str = "zh-CN"
    gap: timedelta = timedelta(minutes=30)  # alerts closer than this form one incident
    update_every: timedelta = timedelta(hours=1)  # digest of a long incident at most this often
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    kibana_discover: str | None = None
    templates: str | None = None
    # how far behind the newest event time a decision waits, for late events and rules
    settle: timedelta = timedelta(seconds=15)
    # events dated further past the clock do not count as the newest (rules.max_future)
    max_future: timedelta = timedelta(hours=1)
    retention: timedelta = timedelta(days=180)  # the store's: finished deliveries go too

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def masker(self) -> Masker:
        return Masker(u for r in self.routes for u in r.urls)


def _duration(node: YDict, key: str, default: timedelta) -> timedelta:
    return duration(node, key, default, positive=True)


def parse_notify(config: Config,
                 validate_url: Callable[[str], bool] | None = None) -> NotifyConfig | None:
    """The notify section, or None when the config has none."""
    node = config.raw.get("notify")
    if node is None:
        return None
    if not isinstance(node, YDict):
        raise ConfigError("'notify' must be a mapping", config.path, hint="see notify: routes:")
    check_section(node, schema.section("notify"), "notify")
    if validate_url is None:
        validate_url = apprise_understands
    language = choice(node, "language", LANGUAGES, "zh-CN")
    incident = sub(node, "incident", schema.section("notify.incident"), "notify.incident")
    retry_node = sub(node, "retry", schema.section("notify.retry"), "notify.retry")
    attempts = whole(retry_node, "attempts", retry_node.get("attempts", 30), 1)
    retry = RetryPolicy(attempts, _duration(retry_node, "backoff", timedelta(seconds=5)),
                        _duration(retry_node, "max_backoff", timedelta(minutes=5)))
    base = Path(config.path).parent
    templates: str | None = None
    if "templates" in node:
        templates = os.path.abspath(base / str(node["templates"]))
        from monitor.sinks.notify_templates import check_template_dir

        problem = check_template_dir(templates)
        if problem:
            raise err(node, "templates", problem)
    kibana = node.get("kibana_discover")
    if kibana is not None and (not isinstance(kibana, str)
                               or not kibana.startswith(("http://", "https://"))):
        raise err(node, "kibana_discover", "'kibana_discover' must be an http(s) URL",
                  "e.g. https://kibana.firm.local:5601/app/discover")
    routes_node = node["routes"]
    if not isinstance(routes_node, YList) or not routes_node:
        raise err(node, "routes", "'routes' must be a non-empty list of routes")
    routes: list[Route] = []
    for i, item in enumerate(routes_node):
        if not isinstance(item, YDict):
            raise err(routes_node, i, "each route must be a mapping with 'name' and 'urls'")
        route = _route(item, language, base, validate_url)
        if any(r.name == route.name for r in routes):
            raise err(item, "name", f"two routes named {route.name!r}")
        routes.append(route)
    return NotifyConfig(
        routes=tuple(routes), timezone=config.timezone, config_path=config.path,
        language=language, gap=_duration(incident, "gap", timedelta(minutes=30)),
        update_every=_duration(incident, "update_every", timedelta(hours=1)), retry=retry,
        kibana_discover=kibana, templates=templates,
        settle=config.lateness + timedelta(seconds=5), max_future=config.max_future,
        retention=config.store.retention)


def _route(item: YDict, language: str, base: Path,
           validate_url: Callable[[str], bool]) -> Route:
    check_section(item, schema.section("notify.routes"), "route")
    name = item["name"]
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise err(item, "name", "a route 'name' must be a word without spaces")
    urls: list[str] = []
    for i, url in enumerate(str_list(item, "urls")):
        urls.append(_checked_url(item, "urls", url, f"URL #{i + 1}", validate_url))
    for file in str_list(item, "url_files"):
        path = Path(file) if os.path.isabs(file) else base / file
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise err(item, "url_files", f"cannot read URL file {path}: "
                      f"{getattr(exc, 'strerror', None) or exc}") from None
        for n, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                urls.append(_checked_url(item, "url_files", line.strip(), f"{path}:{n}",
                                         validate_url))
    for var in str_list(item, "url_env"):
        value = os.environ.get(var)
        if not value:
            raise err(item, "url_env", f"environment variable {var} is not set or empty",
                      "set it in the service's environment (systemd EnvironmentFile=)")
        urls.append(_checked_url(item, "url_env", value.strip(), f"${var}", validate_url))
    if not urls:
        raise ConfigError(f"route {name!r} has no URL", item.path, *item.pos,
                          "give urls, url_files or url_env")
    mode = choice(item, "mode", MODES, "immediate")
    every: timedelta | None = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}.get(mode)
    if mode == "digest":
        if "every" not in item:
            raise ConfigError(f"route {name!r}: mode digest needs 'every'", item.path,
                              *item.where("mode"), "e.g. every: 15m")
        every = _duration(item, "every", timedelta(hours=1))
    elif "every" in item:
        raise err(item, "every", "'every' goes with mode: digest",
                  "hourly and daily have their own period")
    return Route(name=name, urls=tuple(urls), match=_match(item),
                 language=choice(item, "language", LANGUAGES, language), mode=mode,
                 every=every, mute=_mutes(item), line=item.pos[0])


def _checked_url(item: YDict, key: str, url: str, what: str,
                 validate_url: Callable[[str], bool]) -> str:
    if not validate_url(url):
        # the message shows only what display_url() allows: the URL may be a secret
        raise err(item, key, f"{what} ({display_url(url)}) is not a URL apprise understands",
                  "see the apprise wiki for the service's URL form")
    return url


def apprise_understands(url: str) -> bool:
    import apprise  # imported here: configs without notify never pay for it

    install_log_masking(Masker([url]))  # apprise logs a URL it cannot parse, secrets and all
    return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None


def _match(item: YDict) -> Match:
    node = sub(item, "match", schema.section("notify.routes.match"), "match")
    severity = choice(node, "severity", SEVERITIES, "low")
    return Match(min_severity=severity, rules=str_list(node, "rules"),
                 tags=str_list(node, "tags"), clients=str_list(node, "clients"),
                 hosts=str_list(node, "hosts"))


def _minutes(text: str) -> int | None:
    hh, _, mm = text.strip().partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        return None
    value = int(hh) * 60 + int(mm)
    return value if 0 <= int(mm) < 60 and value <= DAY_MINUTES else None


def _mutes(item: YDict) -> tuple[MuteWindow, ...]:
    node = item.get("mute")
    if node is None:
        return ()
    if not isinstance(node, YList):
        raise err(item, "mute", "'mute' must be a list of windows",
                  'e.g. mute: ["22:00-07:00", {days: [sat, sun]}]')
    out = []
    all_days = frozenset(range(7))
    for i, entry in enumerate(node):
        days, hours = all_days, "00:00-24:00"
        if isinstance(entry, str):
            hours = entry
        elif isinstance(entry, YDict):
            check_section(entry, schema.section("notify.routes.mute"), "mute window")
            names = str_list(entry, "days") or WEEKDAYS
            bad = [d for d in names if d.lower() not in WEEKDAYS]
            if bad:
                raise err(entry, "days", f"unknown weekday {bad[0]!r}",
                          f"use {', '.join(WEEKDAYS)}")
            days = frozenset(WEEKDAYS.index(d.lower()) for d in names)
            hours = str(entry.get("hours", hours))
        else:
            raise err(node, i, 'a mute window is "HH:MM-HH:MM" or {days: [...], hours: ...}')
        start_text, dash, end_text = hours.partition("-")
        start, end = _minutes(start_text), _minutes(end_text)
        if not dash or start is None or end is None or start in (end, DAY_MINUTES):
            raise err(node, i, f"bad mute hours {hours!r}",
                      'quote times as "HH:MM-HH:MM"; "22:00-07:00" crosses midnight')
        label = ",".join(WEEKDAYS[d] for d in sorted(days))
        out.append(MuteWindow(days, start, end, f"{label} {hours.strip()}"))
    return tuple(out)

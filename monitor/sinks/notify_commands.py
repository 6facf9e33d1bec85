"""`wallwatch notify test|status` and `wallwatch silence add|list|rm`."""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import UTC, datetime

from monitor.config import Config, load_config
from monitor.durations import parse_duration
from monitor.errors import WallwatchError
from monitor.event import ts_to_us
from monitor.sinks.notify_config import NotifyConfig, parse_notify
from monitor.sinks.notify_mask import display_url, install_log_masking
from monitor.sinks.notify_messages import test_message
from monitor.sinks.notify_outbox import counts, ensure_schema, rows
from monitor.sinks.notify_sender import apprise_deliver
from monitor.sinks.notify_silences import add_silence, list_silences, remove_silence
from monitor.sinks.notify_templates import Templates
from monitor.sinks.notify_text import clean, short_time
from monitor.store import Store


def _load(args: argparse.Namespace) -> tuple[Config, NotifyConfig]:
    config = load_config(args.config)
    cfg = parse_notify(config)
    if cfg is None:
        raise WallwatchError("the config has no 'notify:' section", config.path)
    return config, cfg


def _notify_config(args: argparse.Namespace) -> NotifyConfig:
    return _load(args)[1]


def _store(args: argparse.Namespace) -> tuple[NotifyConfig, Store]:
    config, cfg = _load(args)
    store = Store(config.store.path)
    ensure_schema(store.db)
    return cfg, store


def _who() -> str:
    """The person behind the command (sudo keeps the real one in SUDO_USER)."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def cmd_notify_test(args: argparse.Namespace) -> int:
    cfg = _notify_config(args)
    route = cfg.route(args.route)
    if route is None:
        names = ", ".join(r.name for r in cfg.routes)
        raise WallwatchError(f"no route named {args.route!r} (routes: {names})", cfg.config_path)
    masker = cfg.masker()
    install_log_masking(masker)
    msg = test_message(cfg, Templates(cfg.templates), route)
    failures = 0
    for url in route.urls:
        ok, why = apprise_deliver(url, msg.title, msg.body)
        failures += not ok
        result = "delivered" if ok else "FAILED: " + masker(why)
        print(f"{route.name}: {display_url(url)}: {result}")
    return 1 if failures else 0


def cmd_notify_status(args: argparse.Namespace) -> int:
    cfg, store = _store(args)
    try:
        table = counts(store.db)
        failed = rows(store.db, "failed", limit=args.limit)
    finally:
        store.close()
    routes = sorted({r for r, _ in table} | {r.name for r in cfg.routes})
    print(f"{'route':<20} {'pending':>8} {'sent':>8} {'failed':>8} {'silenced':>9} {'muted':>6}")
    for name in routes:
        n = [table.get((name, s), 0) for s in ("pending", "sent", "failed", "silenced", "muted")]
        print(f"{clean(name, 20):<20} {n[0]:>8} {n[1]:>8} {n[2]:>8} {n[3]:>9} {n[4]:>6}")
    masker = cfg.masker()
    for row in failed:
        print(f"failed {row.kind} {row.subject} → {row.route} after {row.attempts} attempts: "
              f"{clean(masker(row.last_error or ''), 300)}")
    return 0


def cmd_silence_add(args: argparse.Namespace) -> int:
    cfg, store = _store(args)
    try:
        duration = parse_duration(args.duration)
    except ValueError as exc:
        raise WallwatchError(str(exc), "<command line>") from None
    if args.route is not None and cfg.route(args.route) is None:
        raise WallwatchError(f"no route named {args.route!r}", cfg.config_path)
    if not args.reason.strip():
        raise WallwatchError("--reason must say why (it is kept for the audit)", "<command line>")
    now = ts_to_us(datetime.now(UTC))
    ends = now + int(duration.total_seconds() * 1_000_000)
    try:
        with store.transaction():
            sid = add_silence(store.db, args.rule, args.route, now, ends, _who(), args.reason)
    finally:
        store.close()
    where = f" on route {args.route}" if args.route else " on every route"
    print(f"silence #{sid}: rule {args.rule}{where} until "
          f"{short_time(ends, cfg.timezone)} ({cfg.timezone.key})")
    return 0


def cmd_silence_list(args: argparse.Namespace) -> int:
    cfg, store = _store(args)
    now = ts_to_us(datetime.now(UTC))
    try:
        found = list_silences(store.db, None if args.all else now)
    finally:
        store.close()
    tz = cfg.timezone
    for s in found:
        state = ("lifted " + short_time(s.removed, tz) + f" by {clean(s.removed_by)}"
                 if s.removed is not None else "ended" if s.ends <= now else "active")
        print(f"#{s.id}  {clean(s.rule)}  route={clean(s.route or '*')}  "
              f"{short_time(s.starts, tz)} → {short_time(s.ends, tz)}  {state}  "
              f"by {clean(s.created_by)}: {clean(s.reason)}")
    if not found:
        print("no silences" if args.all else "no active silences")
    return 0


def cmd_silence_rm(args: argparse.Namespace) -> int:
    _cfg, store = _store(args)
    try:
        with store.transaction():
            ok = remove_silence(store.db, args.id, ts_to_us(datetime.now(UTC)), _who())
    finally:
        store.close()
    if not ok:
        raise WallwatchError(f"no active silence #{args.id}", "<command line>")
    print(f"silence #{args.id} lifted")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    notify = sub.add_parser("notify", help="notification commands")
    notify_sub = notify.add_subparsers(dest="notify_command", required=True)
    test = notify_sub.add_parser("test", help="send a test message through a route")
    test.add_argument("route", help="route name from notify.routes")
    test.set_defaults(func=cmd_notify_test)
    status = notify_sub.add_parser("status", help="deliveries per route and state")
    status.add_argument("--limit", type=int, default=20, help="failed deliveries to show")
    status.set_defaults(func=cmd_notify_status)

    silence = sub.add_parser("silence", help="mute a rule's notifications for a while")
    silence_sub = silence.add_subparsers(dest="silence_command", required=True)
    add = silence_sub.add_parser("add", help="silence a rule (glob) on one or every route")
    add.add_argument("--rule", required=True, help="rule id or glob, e.g. wall.* ")
    add.add_argument("--route", help="only this route (default: every route)")
    add.add_argument("--for", dest="duration", required=True, help="e.g. 30m, 2h, 1d")
    add.add_argument("--reason", required=True, help="why: kept with who and when")
    add.set_defaults(func=cmd_silence_add)
    lst = silence_sub.add_parser("list", help="active silences (--all: every one ever set)")
    lst.add_argument("--all", action="store_true")
    lst.set_defaults(func=cmd_silence_list)
    rm = silence_sub.add_parser("rm", help="lift a silence now (the record stays)")
    rm.add_argument("id", type=int)
    rm.set_defaults(func=cmd_silence_rm)

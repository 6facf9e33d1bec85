"""The `wallwatch` command: thin commands over the library."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitor import __version__
from monitor.config import Config, load_config
from monitor.durations import parse_duration
from monitor.errors import WallwatchError

DEFAULT_CONFIG = "/etc/wallwatch/wallwatch.yaml"
log = logging.getLogger("wallwatch")


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def _when(text: str | None, now: datetime) -> datetime | None:
    """`24h` means 24 hours ago; otherwise an ISO date or date-time (UTC if no offset)."""
    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise WallwatchError(f"bad time {text!r}: use e.g. 24h, 7d or 2026-11-01T08:00",
                             "<command line>") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.pipeline import Daemon

    config = _config(args)
    daemon = Daemon(config)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.start()
    daemon.prune()
    next_prune = datetime.now(UTC) + timedelta(hours=1)
    while not stopping.wait(1.0):
        if datetime.now(UTC) >= next_prune:
            daemon.prune()
            next_prune = datetime.now(UTC) + timedelta(hours=1)
        if not daemon.alive():
            log.error("a source thread died; stopping")
            daemon.stop()
            return 1
    daemon.stop()
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from monitor.search import format_json_lines, format_table, search
    from monitor.store import Store

    config = _config(args)
    now = datetime.now(UTC)
    since, until = _when(args.since, now), _when(args.until, now)
    store = Store(config.store.path)
    try:
        events = search(store, " ".join(args.query), since=since, until=until, limit=args.limit)
    finally:
        store.close()
    out = format_json_lines(events) if args.json else format_table(events, config.timezone)
    if out:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    config = _config(args)
    print(f"{config.path}: ok ({len(config.sources)} sources, {len(config.staff)} staff, "
          f"{len(config.client_paths)} client path patterns)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wallwatch", description=__doc__)
    parser.add_argument("--version", action="version", version=f"wallwatch {__version__}")
    parser.add_argument("-c", "--config", default=os.environ.get("WALLWATCH_CONFIG",
                                                                 DEFAULT_CONFIG),
                        help="config file (default: $WALLWATCH_CONFIG or %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon in the foreground")
    run.set_defaults(func=cmd_run)

    search = sub.add_parser("search", help="search stored events",
                            description="Query: field:value terms, AND/OR/NOT, (…), \"phrases\","
                                        " free text, * and ? in values.")
    search.add_argument("query", nargs="*", help="e.g. 'user.name:bob AND wallwatch.client:acme'")
    search.add_argument("--since", help="e.g. 24h, 7d or an ISO time")
    search.add_argument("--until", help="e.g. 1h or an ISO time")
    search.add_argument("--limit", type=int, default=100)
    search.add_argument("--json", action="store_true", help="one ECS JSON document per line")
    search.set_defaults(func=cmd_search)

    config = sub.add_parser("config", help="config commands")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate the config")
    check.set_defaults(func=cmd_config_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        return int(args.func(args))
    except WallwatchError as exc:
        print(f"wallwatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

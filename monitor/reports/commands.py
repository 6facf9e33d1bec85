"""`wallwatch report client|access|activity`."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from monitor.config import Config, load_config
from monitor.durations import parse_duration
from monitor.errors import WallwatchError
from monitor.reports import chromium
from monitor.reports.messages import LANGS
from monitor.store import Store

EXIT_EXCESS = 2  # `report access` found excess access (cron mails on a non-zero exit)
Command = Callable[[argparse.Namespace], int]


def _recorded(kind: str, fields: tuple[str, ...]) -> Callable[[Command], Command]:
    """Every report run is itself an audit event, like a search: who produced which
    report of which client (monitor/usage.py). It is recorded *before* the report is
    made: no report without its record (a store that cannot take it stops the
    command), and the report's own counts include it. A run that then fails adds a
    second event with outcome failure."""
    def wrap(func: Command) -> Command:
        @functools.wraps(func)
        def run(args: argparse.Namespace) -> int:
            details: dict[str, object] = {"report": kind,
                                          **{f: getattr(args, f, None) for f in fields}}
            _record(args.config, {**details, "outcome": "started"})
            code = 1
            try:
                code = func(args)
                return code
            finally:
                if code not in (0, EXIT_EXCESS):
                    _record(args.config, {**details, "outcome": "failure"})
        return run
    return wrap


def _record(config_path: str, details: dict[str, object]) -> None:
    from monitor.usage import record_usage

    try:
        config = load_config(config_path)
    except WallwatchError:
        return  # no usable config: the command has said so; there is no store to write
    if not os.path.exists(config.store.path):
        return  # never create a store from here: it belongs to the service's user
    store = Store(config.store.path)
    try:
        record_usage(store, config, "report", {k: "" if v is None else v
                                               for k, v in details.items()})
    finally:
        store.close()


def _store(config: Config, required: bool = True) -> Store | None:
    if not os.path.exists(config.store.path):
        if required:
            raise WallwatchError(f"no store at {config.store.path}: has `wallwatch run` run yet?",
                                 config.path)
        return None
    return Store(config.store.path)


def _previous_month(config: Config) -> str:
    first = datetime.now(config.timezone).date().replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _write(text: str, out: str | None) -> None:
    if out is None or out == "-":
        sys.stdout.write(text)
        return
    path = Path(out)
    # the report names who touched which client's files: owner-only, like the store
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


@_recorded("client", ("client", "month", "lang", "out", "pdf"))
def cmd_client(args: argparse.Namespace) -> int:
    from monitor.reports.client_data import gather
    from monitor.reports.client_html import render

    config = load_config(args.config)
    month = args.month or _previous_month(config)
    store = _store(config)
    assert store is not None
    try:
        data = gather(store, config, args.client, month)
        known = next(store.query("SELECT 1 FROM events WHERE client = ? LIMIT 1",
                                 (args.client,)), None)
    except ValueError as exc:
        raise WallwatchError(str(exc), "<command line>") from None
    finally:
        store.close()
    if known is None:  # an empty report for a misspelt client would look like good news
        print(f"note: the store has no event of a client named {args.client!r} at all",
              file=sys.stderr)
    html = render(data, args.lang)
    out = args.out or f"wallwatch-{args.client}-{month}-{args.lang}.html"
    if args.pdf and out == "-":
        raise WallwatchError("--pdf needs an --out file to put the PDF next to", "<command line>")
    _write(html, out)
    print(f"wrote {out}", file=sys.stderr)
    if args.pdf:
        if chromium.find() is None:
            print("PDF unavailable: Chromium is not installed (Debian: apt-get install "
                  "chromium); the HTML report was written", file=sys.stderr)
            return 1
        pdf = Path(out).with_suffix(".pdf")
        with tempfile.TemporaryDirectory(prefix="wallwatch-report-") as tmp:
            page = Path(tmp) / "report.html"
            page.write_text(html, encoding="utf-8")
            try:
                chromium.print_pdf(page, pdf)
            except (chromium.ChromiumUnavailable, OSError) as exc:
                print(f"PDF unavailable: {exc}", file=sys.stderr)
                return 1
        os.chmod(pdf, 0o600)
        print(f"wrote {pdf}", file=sys.stderr)
    return 0


@_recorded("access", ("client", "root", "json", "html"))
def cmd_access(args: argparse.Namespace) -> int:
    from monitor.reports.access_report import audit, format_html, format_text

    # 2 means "excess access" here, so a broken config must not look like it
    try:
        config = load_config(args.config)
        store = _store(config, required=False)
    except WallwatchError as exc:
        print(f"wallwatch: {exc}", file=sys.stderr)
        return 1
    if args.root is None and not config.client_paths:
        print("wallwatch: no clients.paths in the config and no --root: nothing to scan",
              file=sys.stderr)
        return 1
    try:
        result = audit(config, store, root=args.root, only=args.client)
    finally:
        if store is not None:
            store.close()
    if args.html:
        _write(format_html(result), args.html)
    if args.json:
        sys.stdout.write(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode()
                         + "\n")
    elif not args.html:
        sys.stdout.write(format_text(result))
    return EXIT_EXCESS if result.excess else 0


@_recorded("activity", ("since", "json"))
def cmd_activity(args: argparse.Namespace) -> int:
    from monitor.reports.activity import activity, format_text

    config = load_config(args.config)
    try:
        span = parse_duration(args.since)
    except ValueError as exc:
        raise WallwatchError(str(exc), "<command line>") from None
    store = _store(config)
    assert store is not None
    now = datetime.now(UTC)
    try:
        result = activity(store, now - span, now)
    finally:
        store.close()
    if args.json:
        sys.stdout.write(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode()
                         + "\n")
    else:
        sys.stdout.write(format_text(result))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="reports: per-client month, permission audit, "
                                           "IT activity")
    rsub = report.add_subparsers(dest="report_command", required=True)

    client = rsub.add_parser("client", help="one client's month as a self-contained HTML file")
    client.add_argument("client", help="client code, as in the folder name")
    client.add_argument("--month", help="YYYY-MM in the firm's timezone (default: last month)")
    client.add_argument("--lang", choices=LANGS, default="en")
    client.add_argument("--out", help="HTML file (default: wallwatch-CLIENT-MONTH-LANG.html;"
                                      " - for stdout)")
    client.add_argument("--pdf", action="store_true",
                        help="also print it to PDF next to the HTML (needs chromium)")
    client.set_defaults(func=cmd_client)

    access = rsub.add_parser("access", help="permission audit of the client folders "
                                            "(exit 2 on excess access)")
    access.add_argument("--client", help="only this client's folders")
    access.add_argument("--json", action="store_true", help="JSON on stdout")
    access.add_argument("--html", metavar="FILE", help="write an HTML report to FILE")
    access.add_argument("--root", metavar="PATH",
                        help="scan the folders directly under PATH as client folders "
                             "(default: the config's clients.paths)")
    access.set_defaults(func=cmd_access)

    act = rsub.add_parser("activity", help="for IT: events, alerts, dead letters, lags")
    act.add_argument("--since", default="7d", help="window, e.g. 24h or 7d (default 7d)")
    act.add_argument("--json", action="store_true")
    act.set_defaults(func=cmd_activity)

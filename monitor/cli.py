"""The `wallwatch` command: thin commands over the library."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

from monitor import __version__
from monitor.config import Config, load_config
from monitor.durations import parse_duration
from monitor.errors import QueryError, WallwatchError
from monitor.event import ts_to_us
from monitor.rules import sigma
from monitor.rules.loader import load_rule_files
from monitor.service import load_rules_or_report as _load_rules_or_report
from monitor.service import rule_paths as rule_paths

DEFAULT_CONFIG = "/etc/wallwatch/wallwatch.yaml"
# modules with `register(subparsers)` adding the commands of one area
COMMAND_MODULES: list[str] = [
    "monitor.sinks.notify_commands",
    "monitor.sinks.es_commands",
    "monitor.doctor_cli",
    "monitor.reports.commands",
    "monitor.init_cli",
]
log = logging.getLogger("wallwatch")


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    sigma.configure(config)  # the Sigma field mappings this config adds or replaces
    return config


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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.service import Service

    return Service(args.config).run()


def cmd_search(args: argparse.Namespace) -> int:
    from monitor.search import format_json_lines, format_table, search
    from monitor.store import Store
    from monitor.usage import record_usage

    config = _config(args)
    now = datetime.now(UTC)
    since, until = _when(args.since, now), _when(args.until, now)
    if not os.path.exists(config.store.path):
        raise WallwatchError(f"no store at {config.store.path}: has `wallwatch run` run yet?",
                             config.path)
    text = " ".join(args.query)
    store = Store(config.store.path)
    outcome = "failure"
    try:
        if args.backend == "es":  # every host's events, on the cluster
            from monitor.search.es_dsl import search_cluster

            events = search_cluster(config, text, since=since, until=until, limit=args.limit)
        else:
            events = search(store, text, since=since, until=until, limit=args.limit)
        outcome = "success"
    except QueryError as exc:
        if exc.col is not None:  # show where: the query, and a caret under the column
            print(f"  {text}\n  {' ' * (exc.col - 1)}^", file=sys.stderr)
        raise
    finally:  # who searched for what is itself recorded, found or not
        record_usage(store, config, "search", {"query": text, "since": args.since or "",
                                               "until": args.until or "", "limit": args.limit,
                                               "outcome": outcome, "backend": args.backend})
        store.close()
    out = format_json_lines(events) if args.json else format_table(events, config.timezone)
    if out:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def _config_or_none(args: argparse.Namespace) -> Config | None:
    try:
        return _config(args)
    except WallwatchError:
        if os.path.exists(args.config):
            raise
        return None  # no config on this machine: fall back to the shipped rules


def cmd_rules_check(args: argparse.Namespace) -> int:
    paths = rule_paths(_config_or_none(args), args.paths)
    rules, errors = load_rule_files(paths)
    for err in errors:
        print(err)
    print(f"{len(rules)} rules ok, {len(errors)} error(s)", file=sys.stderr)
    return 1 if errors else 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    from monitor.rules.testing import find_test_files, run_tests

    paths = rule_paths(_config_or_none(args), args.paths)
    rules, errors = load_rule_files(paths)
    for err in errors:
        print(err)
    results = run_tests(rules, find_test_files(paths))
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"FAIL {r.where}: {r.rule_id}: {r.name}: {r.detail}")
    passed = len(results) - len(failed)
    print(f"rules test: {passed} passed, {len(failed) + len(errors)} failed")
    return 1 if failed or errors else 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from monitor.backtest import (
        backtest,
        file_events,
        format_alert,
        print_progress,
        store_events,
    )

    config = _config(args)
    rules = _load_rules_or_report(rule_paths(config, args.rules or ()))
    if rules is None:
        return 1
    now = datetime.now(UTC)
    since, until = _when(args.since, now), _when(args.until, now)
    events = (file_events(args.files, config, args.type) if args.files
              else store_events(config, since, until))
    progress = print_progress if sys.stderr.isatty() else None
    alerts = backtest(events, rules, config, since, until, progress)
    if progress:
        sys.stderr.write("\n")
    for alert in alerts:
        print(orjson.dumps(alert.to_ecs()).decode() if args.json else format_alert(alert, config))
    print(f"{len(alerts)} alert(s)", file=sys.stderr)
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from monitor.store import Store

    config = _config(args)
    store = Store(config.store.path)
    try:
        docs = store.alerts(limit=args.limit)
    finally:
        store.close()
    for doc in docs:
        if args.json:
            print(orjson.dumps(doc).decode())
        else:
            group = " ".join(f"{k}={v}" for k, v in doc["wallwatch"]["alert"]["group"].items())
            print(f"{doc['@timestamp']}  [{doc['event']['severity_label']}] {doc['rule']['id']}"
                  f"  {group}  count={doc['wallwatch']['alert']['count']}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from monitor import chain
    from monitor.store import Store

    config = _config(args)
    since = _when(args.since, datetime.now(UTC))
    if not os.path.exists(config.store.path):
        raise WallwatchError(f"no store at {config.store.path}", config.path)
    store = Store(config.store.path)
    try:
        verdict = chain.verify(store.db, store.rows_of, ts_to_us(since) if since else None)
    finally:
        store.close()
    if not verdict.ok:
        print(f"TAMPERED: {verdict.problem} (the {verdict.batches} batches before it verify; "
              f"last good head {verdict.head})")
        return 1
    print(f"ok: {verdict.batches} batches, {verdict.rows} rows, chain head {verdict.head}")
    return _verify_against_cluster(config) if args.elasticsearch else 0


def _verify_against_cluster(config: Config) -> int:
    """The local links against their copies in Elasticsearch (a rewrite from scratch
    verifies locally but not against what the cluster already holds)."""
    from monitor.sinks.es_chain_check import compare, remote_links
    from monitor.sinks.es_client import make_client
    from monitor.sinks.es_config import parse_es_config
    from monitor.store import Store

    cfg = parse_es_config(config)
    if cfg is None:
        raise WallwatchError("--elasticsearch: the config has no 'elasticsearch:' section",
                             config.path)
    store = Store(config.store.path)
    try:
        local = {int(b): bytes(h) for b, h in store.db.execute("SELECT batch, hash FROM chain")}
    finally:
        store.close()
    client = make_client(cfg)
    try:
        remote = remote_links(client, cfg.namespace, config.host_name)
    finally:
        client.close()
    result = compare(local, min(local, default=0), remote)
    for problem in result.problems:
        print(f"TAMPERED: {problem}")
    if not result.ok:
        return 1
    print(f"ok: {result.checked} links match their copies in Elasticsearch"
          f" ({result.unshipped} not shipped yet)")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    from monitor.assignments.settings import parse_assignments

    config = _config(args)
    from monitor.sinks.es_config import parse_es_config

    providers = parse_assignments(config)  # sections parsed by their own modules, located too
    parse_es_config(config)
    print(f"{config.path}: ok ({len(config.sources)} sources, {len(config.staff)} staff, "
          f"{len(providers)} assignment providers, {len(config.client_paths)} client path "
          "patterns)")
    return 0


def cmd_config_docs(args: argparse.Namespace) -> int:
    from monitor.config_schema.markdown import render

    text = render().encode("utf-8")  # UTF-8 whatever the locale: the examples have Chinese
    if args.output:
        with open(args.output, "wb") as f:
            f.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
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
    search.add_argument("--limit", type=_positive, default=100, help="at most this many events")
    search.add_argument("--json", action="store_true", help="one ECS JSON document per line")
    search.add_argument("--backend", choices=("local", "es"), default="local",
                        help="where to search: the local store (default) or every host's"
                             " events on the Elasticsearch cluster")
    search.set_defaults(func=cmd_search)

    rules = sub.add_parser("rules", help="rule commands")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check_rules = rules_sub.add_parser("check", help="validate rule files (exit 1 on errors)")
    check_rules.add_argument("paths", nargs="*", help="files or folders (default: configured)")
    check_rules.set_defaults(func=cmd_rules_check)
    test_rules = rules_sub.add_parser("test", help="run every rule's sample events")
    test_rules.add_argument("paths", nargs="*")
    test_rules.set_defaults(func=cmd_rules_test)

    bt = sub.add_parser("backtest", help="run the rules over log files or the store")
    bt.add_argument("files", nargs="*", help="log files (default: the events in the store)")
    bt.add_argument("--from", dest="since", help="e.g. 30d or 2026-11-01")
    bt.add_argument("--to", dest="until", help="e.g. 1d or 2026-11-30")
    bt.add_argument("--type", help="source type of the files when they are not configured")
    bt.add_argument("--rules", action="append", help="rule file or folder (repeatable)")
    bt.add_argument("--json", action="store_true", help="alerts as ECS JSON lines")
    bt.set_defaults(func=cmd_backtest)

    verify = sub.add_parser("verify", help="check the store's hash chain for tampering")
    verify.add_argument("--since", help="recompute batches stored since (e.g. 7d); links are "
                                        "always checked")
    verify.add_argument("--elasticsearch", action="store_true",
                        help="also compare the chain with the copy of its links the daemon"
                             " shipped to Elasticsearch (catches a store rewritten from scratch)")
    verify.set_defaults(func=cmd_verify)

    alerts = sub.add_parser("alerts", help="list stored alerts")
    alerts.add_argument("--limit", type=_positive, default=100)
    alerts.add_argument("--json", action="store_true")
    alerts.set_defaults(func=cmd_alerts)

    for module in COMMAND_MODULES:  # each adds its subcommands: one line per area
        importlib.import_module(module).register(sub)

    config = sub.add_parser("config", help="config commands")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate the config")
    check.set_defaults(func=cmd_config_check)
    docs = config_sub.add_parser("docs", help="print the configuration reference (Markdown)",
                                 description="The reference of every config key, from the "
                                             "schema the config is read with.")
    docs.add_argument("--output", metavar="FILE", help="write it to FILE (e.g. "
                                                       "docs/CONFIGURATION.md)")
    docs.set_defaults(func=cmd_config_docs)
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

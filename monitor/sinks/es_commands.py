"""Commands `wallwatch es setup [--force]` and `wallwatch dashboards install`.

Credentials come from the config's `elasticsearch.auth` (files or environment
variables), never from the command line, and never appear in what is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.config import load_config
from monitor.errors import WallwatchError
from monitor.sinks.es_config import Auth, EsConfig, parse_es_config

# the Elasticsearch client and Kibana's HTTP code are imported by the commands that
# use them: every other `wallwatch` command starts without them
DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards" / "wallwatch.ndjson"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    es = sub.add_parser("es", help="Elasticsearch commands")
    es_sub = es.add_subparsers(dest="es_command", required=True)
    es_setup = es_sub.add_parser(
        "setup", help="install the ILM policy and index templates (safe to run again)",
        description="Installs the ILM policy, component templates and index templates for"
                    " the data streams logs-wallwatch.events-*, logs-wallwatch.alerts-* and"
                    " logs-wallwatch.chain-* (the hash chain's links)."
                    " Objects already in place are left alone; a different existing one is"
                    " reported as a conflict (exit 1) unless --force.")
    es_setup.add_argument("--force", action="store_true",
                          help="replace existing objects that differ from ours")
    es_setup.set_defaults(func=cmd_es_setup)

    dash = sub.add_parser("dashboards", help="Kibana dashboards")
    dash_sub = dash.add_subparsers(dest="dashboards_command", required=True)
    dash_install = dash_sub.add_parser(
        "install", help="import the data view and dashboards into Kibana (exit 1 on any error)")
    dash_install.add_argument("--kibana", required=True, metavar="URL",
                              help="e.g. https://kibana.firm.lan:5601")
    dash_install.add_argument("--space", help="Kibana space id (default: the default space)")
    dash_install.add_argument("--file", type=Path, default=DASHBOARDS,
                              help="saved objects to import (default: %(default)s)")
    dash_install.set_defaults(func=cmd_dashboards_install)


def _es_config(args: argparse.Namespace, required: bool) -> EsConfig | None:
    config = load_config(args.config)
    cfg = parse_es_config(config)
    if cfg is None and required:
        raise WallwatchError("the config has no 'elasticsearch:' section", config.path)
    return cfg


def cmd_es_setup(args: argparse.Namespace) -> int:
    from monitor.sinks.es_client import make_client
    from monitor.sinks.es_setup import setup

    cfg = _es_config(args, required=True)
    assert cfg is not None
    client = make_client(cfg)
    try:
        results = setup(client, cfg, force=args.force)
    finally:
        client.close()
    for result in results:
        print(result)
    failed = [r for r in results if r.failed]
    if failed:
        print(f"wallwatch: es setup: {len(failed)} problem(s)", file=sys.stderr)
    return 1 if failed else 0


def cmd_dashboards_install(args: argparse.Namespace) -> int:
    from monitor.sinks.es_kibana import install

    cfg = _es_config(args, required=False)
    if not args.file.is_file():
        raise WallwatchError(f"no saved objects at {args.file}", "<command line>")
    auth = cfg.auth if cfg is not None else Auth()
    try:
        results = install(args.kibana, args.space, args.file, auth,
                          ca_file=cfg.ca_file if cfg else None,
                          verify=cfg.verify if cfg else True)
    except WallwatchError as exc:  # Kibana unreachable or refusing: an error like any other
        print(f"wallwatch: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(result)
    failed = [r for r in results if r.failed]
    print(f"{len(results) - len(failed)} object(s) imported, {len(failed)} error(s)",
          file=sys.stderr)
    return 1 if failed or not results else 0

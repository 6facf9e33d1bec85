"""The Elasticsearch sink: ships the local store's events and alerts to a cluster.

The daemon calls `make_consumer` for every sink; without an `elasticsearch:`
section it returns None. The work is in es_ship.py (the consumer), es_config.py
(the section), es_templates.py and es_setup.py (`wallwatch es setup`) and
es_docs.py (documents both ways).
"""

from __future__ import annotations

from monitor.config import Config
from monitor.sinks.base import SinkContext
from monitor.sinks.es_config import parse_es_config
from monitor.sinks.es_docs import DocContext
from monitor.sinks.es_ship import CURSORS, Shipper
from monitor.store import Store


def make_consumer(ctx: SinkContext) -> Shipper | None:
    cfg = parse_es_config(ctx.config)
    if cfg is None:
        return None
    docs = DocContext(namespace=cfg.namespace, host_name=ctx.config.host_name,
                      timezone=ctx.config.timezone)
    return Shipper(cfg, ctx.store_path, docs, ctx.stop)


def keep_from_seq(config: Config, store: Store) -> int | None:
    """For Store.prune(keep_from_seq=...): the first event seq the shipper has not
    passed yet; such events are not in the cluster and must outlive retention.
    None when no cluster is configured."""
    if config.raw.get("elasticsearch") is None:
        return None
    return store.cursor(CURSORS["events"])[0] + 1

"""The hash chain's links as documents of their own data stream
(`logs-wallwatch.chain-<namespace>`), so a copy of every batch hash lives outside
the host: whoever can rewrite the local database cannot also rewrite what the
cluster already holds, and `wallwatch verify --elasticsearch` compares the two.

A link's document id is derived from the host and the batch number, so a replay
after a kill overwrites nothing (409 = already there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.event import event_id
from monitor.sinks.es_docs import DocContext
from monitor.sinks.es_templates import dataset
from monitor.store import Store

_LINKS = ("SELECT batch, kind, first_seq, last_seq, rows, max_ts, created, digest, hash"
          " FROM chain WHERE batch > ? ORDER BY batch LIMIT ?")


def link_id(host_name: str, batch: int) -> str:
    return event_id("chain", host_name, batch)


def chain_rows(store: Store, position: int, limit: int,
               ctx: DocContext) -> list[tuple[int, str, dict[str, Any]]]:
    """(batch, document id, document) of the links after batch `position`."""
    out = []
    for batch, kind, first, last, rows, max_ts, created, digest, hash_ in store.db.execute(
            _LINKS, (position, limit)):
        out.append((int(batch), link_id(ctx.host_name, int(batch)), link_doc(
            ctx, int(batch), str(kind), int(first), int(last), int(rows), int(max_ts),
            int(created), bytes(digest), bytes(hash_))))
    return out


def link_doc(ctx: DocContext, batch: int, kind: str, first: int, last: int, rows: int,
             max_ts: int, created: int, digest: bytes, hash_: bytes) -> dict[str, Any]:
    def iso(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).isoformat().replace("+00:00", "Z")

    return {
        "@timestamp": iso(created),
        "event": {"kind": "state", "dataset": dataset("chain"), "action": "chain-link",
                  "id": link_id(ctx.host_name, batch)},
        "host": {"name": ctx.host_name},
        "message": f"stored {kind} batch {batch} (seq {first}-{last}, {rows} rows)"
                   f" hash {hash_.hex()}",
        "wallwatch": {"chain": {"batch": batch, "kind": kind, "first_seq": first,
                                "last_seq": last, "rows": rows, "newest": iso(max_ts),
                                "digest": digest.hex(), "hash": hash_.hex()}},
        "data_stream": {"type": "logs", "dataset": dataset("chain"),
                        "namespace": ctx.namespace},
    }

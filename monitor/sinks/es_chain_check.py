"""`wallwatch verify --elasticsearch`: the local chain against the copy of its
links the shipper wrote to the cluster.

The local walk (monitor/chain.py) proves the database is consistent with
itself; it cannot tell a database rewritten from scratch — every row changed
and every hash recomputed — from the original. The cluster's copy can: a link
the cluster holds with another hash, or a batch the cluster has that the local
chain lost (above the retention anchor), means the local store was rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from monitor.sinks.es_templates import stream_name

PAGE = 5000


@dataclass
class ChainComparison:
    checked: int = 0  # links present on both sides and equal
    unshipped: int = 0  # local links the cluster does not have yet (the shipper's backlog)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def remote_links(client: Elasticsearch, namespace: str, host_name: str) -> dict[int, str]:
    """batch → hash (hex) of every link this host shipped, read page by page."""
    links: dict[int, str] = {}
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": PAGE, "sort": [{"wallwatch.chain.batch": "asc"}],
            "query": {"bool": {"filter": [{"term": {"host.name": host_name}}]}},
            "_source": ["wallwatch.chain.batch", "wallwatch.chain.hash"],
        }
        if after is not None:
            body["search_after"] = after
        answer = client.search(index=stream_name("chain", namespace), body=body,
                               ignore_unavailable=True)
        hits = answer["hits"]["hits"]
        for hit in hits:
            link = hit["_source"]["wallwatch"]["chain"]
            links[int(link["batch"])] = str(link["hash"])
        if len(hits) < PAGE:
            return links
        after = hits[-1]["sort"]


def compare(local: dict[int, bytes], first_kept: int, remote: dict[int, str]) -> ChainComparison:
    """`local`: batch → hash of the local chain; `first_kept`: the oldest batch
    retention left (older ones were pruned on purpose)."""
    result = ChainComparison()
    for batch, hash_hex in sorted(remote.items()):
        mine = local.get(batch)
        if mine is None:
            if batch >= first_kept:
                result.problems.append(f"batch {batch} is in Elasticsearch but missing from"
                                       " the local store")
        elif mine.hex() != hash_hex:
            result.problems.append(f"batch {batch}: local hash {mine.hex()[:16]}… differs"
                                   f" from the copy in Elasticsearch {hash_hex[:16]}…")
        else:
            result.checked += 1
    result.unshipped = sum(1 for batch in local if batch not in remote)
    return result

"""Sinks: consumers of the store that send events and alerts elsewhere
(Elasticsearch, notifications). Each is one module with a `make_consumer`,
registered here with one line. A sink that is not configured returns None."""

from __future__ import annotations

from collections.abc import Callable

from monitor.sinks.base import SinkContext
from monitor.sources.base import Runner

SinkFactory = Callable[[SinkContext], Runner | None]

SINKS: list[SinkFactory] = [
    lambda ctx: __import__("monitor.sinks.notify", fromlist=["_"]).make_consumer(ctx),
    lambda ctx: __import__("monitor.sinks.elasticsearch", fromlist=["_"]).make_consumer(ctx),
]

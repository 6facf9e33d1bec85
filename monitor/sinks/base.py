"""What a sink gets from the daemon."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from monitor.config import Config


@dataclass
class SinkContext:
    config: Config  # config.raw holds the sink's own section (a located YDict) to parse
    store_path: str  # open your own Store(store_path) in your thread
    stop: threading.Event  # set when the daemon drains: finish the batch in flight, return

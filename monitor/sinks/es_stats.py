"""What the Elasticsearch shipper has done, for metrics and `doctor`: documents
by stream and outcome, the backlog, and how long bulk requests take."""

from __future__ import annotations

from dataclasses import dataclass, field

# bulk request durations: a batch of a few thousand documents takes tens of ms on a
# healthy cluster and seconds on a struggling one
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class LatencyHistogram:
    """Cumulative-ready counts of bulk request durations per stream (seconds)."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: dict[str, list[int]] = field(default_factory=dict)  # per bucket, + the +Inf one
    sums: dict[str, float] = field(default_factory=dict)

    def observe(self, stream: str, seconds: float) -> None:
        counts = self.counts.setdefault(stream, [0] * (len(self.buckets) + 1))
        index = next((i for i, bound in enumerate(self.buckets) if seconds <= bound),
                     len(self.buckets))
        counts[index] += 1
        self.sums[stream] = self.sums.get(stream, 0.0) + seconds

    def cumulative(self, stream: str) -> list[tuple[str, int]]:
        """Prometheus buckets: (upper bound, observations at most that long)."""
        total, out = 0, []
        for bound, n in zip([*map(str, self.buckets), "+Inf"], self.counts[stream],
                            strict=True):
            total += n
            out.append((bound, total))
        return out


def _streams() -> dict[str, int]:
    return {"events": 0, "alerts": 0, "chain": 0}


@dataclass
class ShipperStats:
    """What the shipper has done; read by metrics and `doctor`."""

    shipped: dict[str, int] = field(default_factory=_streams)
    dead: int = 0
    retries: int = 0
    backlog: dict[str, int] = field(default_factory=_streams)
    bulk_seconds: LatencyHistogram = field(default_factory=LatencyHistogram)
    connected: bool = False
    error: str | None = None
    disk_used_percent: float = 0.0
    high_water: bool = False

"""Durations as people write them in config, rules and on the command line: 90s, 5m, 24h, 7d, 2w."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: object) -> timedelta:
    """Parse '15m' and the like; raises ValueError with the accepted forms."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"bad duration {text!r}: expected a number and a unit"
                         " s, m, h, d or w, e.g. 15m")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])

"""Configs for the assignments tests, written and loaded as a user's would be."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.config import Config, load_config

BASE = """\
timezone: Asia/Shanghai
host: {name: fs01}
store: {path: w.db}
clients: {paths: ["/srv/share/clients/{client}/**"], archived: [oldco]}
"""


def make_config(tmp_path: Path, text: str = "", base: str = BASE) -> Config:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(base + text)
    return load_config(path, source_types={})


def at(day: str, hour: int = 9) -> datetime:
    """A time on `day` (YYYY-MM-DD) as UTC: 09:00 UTC is 17:00 in Shanghai, same day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)

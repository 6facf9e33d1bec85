"""Sources: one module per log format, registered here with one line each."""

from __future__ import annotations

from monitor.sources import auditd, fswatch, samba, samba_auth, sshd, winlog
from monitor.sources.base import SourceType

SOURCES: dict[str, SourceType] = {s.name: s for s in (
    samba.SOURCE,
    auditd.SOURCE,
    winlog.SOURCE,
    fswatch.SOURCE,
    sshd.SOURCE,
    samba_auth.SOURCE,
)}

"""Joining the records of one audit event (same `audit(TIME:SERIAL)`).

The kernel writes an event's records one by one (SYSCALL, CWD, PATH…, PROCTITLE),
and records of concurrent events can interleave. Files written by auditd 3.x
carry no EOE record, so an event is known complete when:
- its EOE record arrives (when the log has them), or
- it is a user-space message (USER_LOGIN, CRED_ACQ…): one record, its own serial, or
- a record of a *later* event (greater serial or later time) has arrived and then
  LAG more records have — counted in records, not seconds, so replaying the same
  lines forms exactly the same events; or
- a record stamped LAG_SECONDS or more after the event's own time has arrived: the
  kernel writes an event's records within milliseconds, and waiting for LAG more
  records after a quiet spell would hold a file event for hours of event time
  while the single-record events after it go ahead (the rules would see it late);
  this too is on the records' own time stamps, so replays form the same events; or
- it has seen no record for MAX_IDLE records (clock steps, several nodes), or
  MAX_PENDING events are held (the oldest goes), or flush() is called.
A record for an event already emitted starts a new (incomplete) event: nothing is
dropped. Held-back events are parser state: snapshot() keeps their record texts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from monitor.sources.auditd_records import Record, RecordError, parse_record

LAG_RECORDS = 64
LAG_SECONDS = 2
MAX_IDLE_RECORDS = 1024
MAX_PENDING = 1000


@dataclass
class Pending:
    file_id: str  # of the event's first line: the event id comes from it
    offset: int
    host: str | None  # the syslog header's host, for records that came through syslog
    records: list[Record]
    first: int  # record sequence numbers (record order, not time)
    last: int
    later: int | None = None  # when a record of a later event first arrived

    @property
    def key(self) -> tuple[str, int, int, int]:
        return self.records[0].key


class Joiner:
    def __init__(self, lag: int = LAG_RECORDS) -> None:
        self.lag = lag
        self.seq = 0
        self.pending: OrderedDict[tuple[str, int, int, int], Pending] = OrderedDict()

    def add(self, rec: Record, file_id: str, offset: int,
            host: str | None) -> tuple[list[Pending], bool]:
        """Take one record; returns the events now complete (oldest first) and whether
        the record was used (a lone EOE whose event is gone adds nothing)."""
        self.seq += 1
        n = self.seq
        done: list[Pending] = []
        used = True
        key = rec.key
        pending = self.pending.get(key)
        if pending is not None:
            pending.last = n
            if rec.type == "EOE":
                done.append(self.pending.pop(key))
            else:
                pending.records.append(rec)
        elif rec.type == "EOE":
            used = False
        elif rec.single:
            done.append(Pending(file_id, offset, host, [rec], n, n))
        else:
            self.pending[key] = Pending(file_id, offset, host, [rec], n, n)
        for other in self.pending.values():
            if other.later is None and _later(rec, other.records[0]):
                other.later = n
        for other_key, other in list(self.pending.items()):
            if ((other.later is not None and n - other.later >= self.lag)
                    or n - other.last >= MAX_IDLE_RECORDS
                    or rec.sec - other.records[0].sec >= LAG_SECONDS):
                done.append(self.pending.pop(other_key))
        while len(self.pending) > MAX_PENDING:
            done.append(self.pending.popitem(last=False)[1])
        done.sort(key=lambda p: p.first)
        return done, used

    def flush(self) -> list[Pending]:
        done = list(self.pending.values())
        self.pending.clear()
        return done

    def snapshot(self) -> dict[str, Any]:
        return {"seq": self.seq, "pending": [
            {"file_id": p.file_id, "offset": p.offset, "host": p.host, "first": p.first,
             "last": p.last, "later": p.later, "records": [r.text for r in p.records]}
            for p in self.pending.values()]}

    def restore(self, state: dict[str, Any] | None) -> None:
        state = state or {}
        self.seq = int(state.get("seq", 0))
        self.pending.clear()
        for item in state.get("pending", []):
            records = []
            for text in item["records"]:
                try:
                    records.append(parse_record(text))
                except RecordError:  # parsed before, so only a damaged state does this
                    continue
            if not records:
                continue
            later = item.get("later")
            pending = Pending(str(item["file_id"]), int(item["offset"]), item.get("host"),
                              records, int(item["first"]), int(item["last"]),
                              None if later is None else int(later))
            self.pending[pending.key] = pending


def _later(rec: Record, first: Record) -> bool:
    """Does `rec` belong to an event after `first`'s? (serials and time both grow;
    either alone is enough, so a clock step or a reboot still counts)."""
    if rec.key == first.key:
        return False
    return rec.serial > first.serial or (rec.sec, rec.micro) > (first.sec, first.micro)

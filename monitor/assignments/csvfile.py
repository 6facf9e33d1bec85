"""A practice-management export as assignments: user, client, from, until.

One header row names the columns (their names are configurable). Dates are
days in the firm's time, both ends inclusive, empty for open-ended; 2026-01-31,
2026/01/31 and 2026.1.31 are all read. A file with any bad line is refused
whole, with every problem located: skipping a line could drop someone's
assignment and turn their daily work into alerts, so the last good copy of
the file stays in use until it is fixed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date

from monitor.assignments.book import Grant, Snapshot
from monitor.assignments.groups import ProviderError
from monitor.assignments.settings import CsvConfig

_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
MAX_REPORTED = 20


def parse_date(text: str) -> date | None:
    """'' → None (open-ended); raises ValueError on anything but a year-month-day date."""
    text = text.strip()
    if not text:
        return None
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"bad date {text!r}: use e.g. 2026-01-31")
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"bad date {text!r}: {exc}") from None


def read_csv(cfg: CsvConfig) -> Snapshot:
    try:
        with open(cfg.path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ProviderError(f"cannot read: {exc.strerror}", cfg.path) from None
    try:
        text = data.decode(cfg.encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ProviderError(f"not {cfg.encoding} text", cfg.path, line,
                            hint="set 'encoding' (e.g. gbk) for this provider") from None
    return parse_csv(text, cfg)


def parse_csv(text: str, cfg: CsvConfig) -> Snapshot:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=cfg.delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ProviderError(f"not CSV: {exc}", cfg.path, 1) from None
    if header is None:
        raise ProviderError("empty file: expected a header row", cfg.path, 1)
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for key, column in cfg.columns.items():
        if column.lower() in names:
            index[key] = names.index(column.lower())
        elif key in ("user", "client"):
            raise ProviderError(f"no column {column!r} in the header", cfg.path, 1,
                                hint=f"the header has: {', '.join(header)}")
    errors: list[ProviderError] = []
    pairs: list[tuple[str, Grant]] = []
    line = 1
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            errors.append(ProviderError(f"not CSV: {exc}", cfg.path, reader.line_num))
            break
        if row is None:
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            pairs.append(_row(row, index, cfg))
        except ValueError as exc:
            errors.append(ProviderError(str(exc), cfg.path, line))
    if errors:
        first = errors[0]
        more = len(errors) - 1
        where = ", ".join(str(e.line) for e in errors[1:MAX_REPORTED])
        raise ProviderError(first.message, cfg.path, first.line,
                            hint=f"{more} more bad line(s): {where}" if more else None)
    return Snapshot.build(pairs)


def _row(row: list[str], index: dict[str, int], cfg: CsvConfig) -> tuple[str, Grant]:
    def cell(key: str) -> str:
        i = index.get(key)
        if i is None:
            return ""
        if i >= len(row):
            raise ValueError(f"too few columns: no {cfg.columns[key]!r}")
        return row[i].strip()

    user, client = cell("user"), cell("client")
    if not user:
        raise ValueError(f"empty {cfg.columns['user']!r}")
    if not client:
        raise ValueError(f"empty {cfg.columns['client']!r}")
    if any(ch.isspace() for ch in user) or any(ch in client for ch in "/\\"):
        raise ValueError(f"bad user {user!r} or client {client!r}")
    start, end = _dated(cell, "from", cfg), _dated(cell, "until", cfg)
    if start and end and end < start:
        raise ValueError(f"'until' {end} is before 'from' {start}")
    return user, Grant(client, start, end)  # client may be ALL_CLIENTS: a partner


def _dated(cell: Callable[[str], str], key: str, cfg: CsvConfig) -> date | None:
    try:
        return parse_date(cell(key))
    except ValueError as exc:
        raise ValueError(f"column {cfg.columns[key]!r}: {exc}") from None

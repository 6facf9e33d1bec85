"""Read a report back the way a person would: the text of each section and its table rows."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Section:
    text: list[str] = field(default_factory=list)  # paragraphs and headings
    rows: list[list[str]] = field(default_factory=list)  # table rows, header row first
    svg_titles: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, Section] = {}
        self.current: Section | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.block: list[str] | None = None
        self.title: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.current = self.sections.setdefault(a.get("id") or "", Section())
        elif self.current is None:
            return
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")
        elif tag in ("p", "h2"):
            self.block = []
        elif tag == "title":
            self.title = []

    def handle_endtag(self, tag: str) -> None:
        if self.current is None:
            return
        if tag == "section":
            self.current = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.rows.append(self.row)
            self.row = None
        elif tag in ("p", "h2") and self.block is not None:
            self.current.text.append("".join(self.block).strip())
            self.block = None
        elif tag == "title" and self.title is not None:
            self.current.svg_titles.append("".join(self.title))
            self.title = None

    def handle_data(self, data: str) -> None:
        for part in (self.cell, self.block, self.title):
            if part is not None:
                part.append(data)


def sections(html: str) -> dict[str, Section]:
    reader = _Reader()
    reader.feed(html)
    return reader.sections


def table(section: Section) -> list[dict[str, str]]:
    """Rows as dicts keyed by the header cells."""
    if not section.rows:
        return []
    header, *rows = section.rows
    return [dict(zip(header, row, strict=True)) for row in rows]


class _Fetches(HTMLParser):
    FETCHING_TAGS = frozenset({"script", "link", "iframe", "object", "embed", "img", "video",
                               "audio", "source", "base", "frame"})
    FETCHING_ATTRS = frozenset({"src", "href", "action", "poster", "srcset", "data",
                                "background", "formaction"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.FETCHING_TAGS:
            self.found.append(f"<{tag}>")
        self.found += [f"{tag} {k}={v}" for k, v in attrs if k in self.FETCHING_ATTRS]
        self.found += [f"{tag} style url()" for k, v in attrs
                       if k == "style" and v and "url(" in v]
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style and ("url(" in data or "@import" in data):
            self.found.append("style sheet url()/@import")


def external_references(html: str) -> list[str]:
    """Tags and attributes that would make a browser fetch something: a report has none."""
    reader = _Fetches()
    reader.feed(html)
    return reader.found


def png_pixels(path: Path, max_rows: int) -> tuple[int, int, list[bytes]]:
    """Width, bytes per pixel and the first `max_rows` unfiltered rows of an 8-bit RGB or RGBA PNG
    (what Chromium writes): enough to tell a drawn page from a blank one, no imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"PNG depth {depth} colour type {colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(min(height, max_rows)):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, channels, rows

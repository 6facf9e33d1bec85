"""A durable tailer: follows one log file across rotation and remembers where it was.

The position it hands out (`Tailer.position()`) is the file's identity (device,
inode and a fingerprint of its first bytes) plus the byte offset after the last
complete line returned. The pipeline stores it in the same SQLite transaction
as the events made from those lines, so a crash re-reads exactly what was not
stored.

Rotation:
- rename (logrotate `create`): the path now names a new inode. The old file is
  read to its end first, then the new one from offset 0.
- copytruncate: the same inode shrinks (or its first bytes change). The lines
  between our offset and the truncation point are in the copy; we find it next
  to the file by its fingerprint and read them from there, then start at 0.
- while we were stopped: on start, if the stored identity no longer matches the
  path, the old file is looked for among the rotated names (by inode, then by
  fingerprint) and drained from the stored offset.
- more than one rotation since we looked (a weekend of daily rotations while
  the daemon was down, or a burst): the rotated files written after the one we
  were reading (later modification time) are read in full, oldest first, before
  the current file. Compressed rotations cannot be read and are not looked at.
A partial last line is never returned: it waits for its newline (or, when its
file has been rotated away and drained, is returned as it is).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FP_LEN = 256  # bytes of the file's head that identify it
MAX_LINE = 256 * 1024  # a longer line is cut here and flagged
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Line:
    offset: int  # byte offset of the line's start in its file
    data: bytes  # without the newline
    file_id: str  # fingerprint of the file it came from
    too_long: bool = False


@dataclass
class _Open:
    fd: int
    dev: int
    ino: int
    fp: str | None  # None until the file has a first byte
    fp_len: int
    offset: int
    skipping: bool = False  # inside an over-long line, discarding to its newline


def _fingerprint(fd: int, length: int) -> str:
    head = os.pread(fd, length, 0)
    return hashlib.blake2b(head, digest_size=8).hexdigest()


class Tailer:
    """Reads complete lines from `path`, resuming from a stored position."""

    def __init__(self, path: str, position: dict[str, Any] | None = None) -> None:
        self.path = path
        self.saved = position
        self.cur: _Open | None = None
        self.draining: list[_Open] = []  # rotated-away files still to finish, oldest first
        self.wake = threading.Event()

    # -- public ----------------------------------------------------------
    def position(self) -> dict[str, Any]:
        """Where to resume: the file being read (or drained) and the offset in it."""
        f = self.draining[0] if self.draining else self.cur
        if f is None:
            return dict(self.saved) if self.saved else {}
        return {"dev": f.dev, "ino": f.ino, "fp": f.fp, "fp_len": f.fp_len,
                "offset": f.offset, "skipping": f.skipping}

    def read_lines(self, max_bytes: int = CHUNK) -> list[Line]:
        """The complete lines available now (possibly none)."""
        if self.cur is None and not self._open_current():
            return []
        while self.draining:
            lines = self._read(self.draining[0], max_bytes, final=True)
            if lines:
                return lines
            os.close(self.draining.pop(0).fd)
        assert self.cur is not None
        self._check_identity(self.cur)
        if self.draining:  # copytruncate: the copy's missed lines come first
            return self.read_lines(max_bytes)
        lines = self._read(self.cur, max_bytes, final=False)
        if lines:
            return lines
        if self._detect_rotation():
            return self.read_lines(max_bytes)
        return []

    def lag(self) -> int:
        """Bytes between our offsets and the ends of the files still to read (the
        rotated-away ones being drained and the current one). Before the first read:
        the file at the path against the saved position (a rotated-away file that
        still has lines is found only by that read)."""
        if self.cur is None:
            try:
                st = os.stat(self.path)
            except OSError:
                return 0
            saved = self.saved or {}
            same = saved.get("dev") == st.st_dev and saved.get("ino") == st.st_ino
            return max(0, st.st_size - int(saved.get("offset", 0) if same else 0))
        behind = 0
        for f in [*self.draining, *([self.cur] if self.cur else [])]:
            with contextlib.suppress(OSError):  # a vanished file has nothing to read
                behind += max(0, os.fstat(f.fd).st_size - f.offset)
        return behind

    def close(self) -> None:
        for f in [*self.draining, *([self.cur] if self.cur else [])]:
            os.close(f.fd)
        self.draining, self.cur = [], None

    # -- opening and identity ---------------------------------------------
    def _open(self, path: str) -> _Open | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        st = os.fstat(fd)
        fp_len = min(st.st_size, FP_LEN)
        fp = _fingerprint(fd, fp_len) if fp_len else None
        return _Open(fd, st.st_dev, st.st_ino, fp, fp_len, 0)

    def _matches(self, f: _Open, saved: dict[str, Any]) -> bool:
        """Does open file f hold the content the saved position was taken in?"""
        if saved.get("fp") is None:
            return (f.dev, f.ino) == (saved.get("dev"), saved.get("ino"))
        size = os.fstat(f.fd).st_size
        fp_len = int(saved["fp_len"])
        return size >= int(saved["offset"]) and size >= fp_len and \
            _fingerprint(f.fd, fp_len) == saved["fp"]

    def _open_current(self) -> bool:
        cur = self._open(self.path)
        if cur is None:
            return False
        saved, self.saved = self.saved, None
        if saved and saved.get("offset") is not None:
            if self._matches(cur, saved):
                self._resume(cur, saved)
            else:
                old = self._find_rotated(saved, exclude=(cur.dev, cur.ino))
                if old is not None:
                    self._resume(old, saved)
                    self.draining.append(old)
                    self.draining.extend(self._missed_generations(old, cur))
                else:
                    log.warning("%s: the file read before was rotated away and not found; "
                                "lines written to it after offset %s are not read",
                                self.path, saved.get("offset"))
        self.cur = cur
        return True

    @staticmethod
    def _resume(f: _Open, saved: dict[str, Any]) -> None:
        f.offset = int(saved["offset"])
        f.skipping = bool(saved.get("skipping"))
        if saved.get("fp") is not None:
            f.fp, f.fp_len = saved["fp"], int(saved["fp_len"])

    def _rotated_candidates(self) -> list[str]:
        p = Path(self.path)
        try:
            names = os.listdir(p.parent)
        except OSError:
            return []
        compressed = (".gz", ".xz", ".bz2", ".zst")
        out = [str(p.parent / n) for n in names
               if n != p.name and n.startswith(p.name) and not n.endswith(compressed)]
        return sorted(out)

    def _find_rotated(self, saved: dict[str, Any], exclude: tuple[int, int]) -> _Open | None:
        """The rotated copy that holds the content a saved position points into."""
        found: _Open | None = None
        for name in self._rotated_candidates():
            f = self._open(name)
            if f is None:
                continue
            if (f.dev, f.ino) != exclude and self._matches(f, saved) and found is None:
                found = f
            else:
                os.close(f.fd)
        return found

    def _check_identity(self, f: _Open) -> None:
        """Catch copytruncate, including a truncation already written past our offset."""
        if f.fp is None:
            size = os.fstat(f.fd).st_size
            if size:
                f.fp_len = min(size, FP_LEN)
                f.fp = _fingerprint(f.fd, f.fp_len)
            return
        size = os.fstat(f.fd).st_size
        if size >= f.offset and size >= f.fp_len and _fingerprint(f.fd, f.fp_len) == f.fp:
            return
        self._truncated(f)

    def _truncated(self, f: _Open) -> None:
        saved = {"fp": f.fp, "fp_len": f.fp_len, "offset": f.offset, "skipping": f.skipping,
                 "dev": f.dev, "ino": f.ino}
        copy = self._find_rotated(saved, exclude=(f.dev, f.ino))
        if copy is not None:
            self._resume(copy, saved)
            self.draining.append(copy)
            self.draining.extend(self._missed_generations(copy, f))
        else:
            log.warning("%s: truncated; no rotated copy holds the lines after offset %d",
                        self.path, f.offset)
        size = os.fstat(f.fd).st_size
        f.offset, f.skipping = 0, False
        f.fp_len = min(size, FP_LEN)
        f.fp = _fingerprint(f.fd, f.fp_len) if f.fp_len else None

    def _detect_rotation(self) -> bool:
        """True when the path now names another file (which becomes current)."""
        assert self.cur is not None
        try:
            st = os.stat(self.path)
        except OSError:
            return False  # vanished: keep the old file until the path reappears
        if (st.st_dev, st.st_ino) == (self.cur.dev, self.cur.ino):
            return False
        new = self._open(self.path)
        if new is None:
            return False
        self.draining.append(self.cur)
        self.draining.extend(self._missed_generations(self.cur, new))
        self.cur = new
        return True

    def _missed_generations(self, old: _Open, cur: _Open) -> list[_Open]:
        """Rotated files written after `old` (which is being drained): whole
        generations that came and went since we last looked, oldest first."""
        try:
            since = os.fstat(old.fd).st_mtime_ns
        except OSError:
            return []
        skip = {(old.dev, old.ino), (cur.dev, cur.ino)} | {(d.dev, d.ino) for d in self.draining}
        found: list[tuple[int, _Open]] = []
        for name in self._rotated_candidates():
            f = self._open(name)
            if f is None:
                continue
            mtime = os.fstat(f.fd).st_mtime_ns
            if (f.dev, f.ino) not in skip and mtime > since and f.fp is not None:
                found.append((mtime, f))
            else:
                os.close(f.fd)
        found.sort(key=lambda item: item[0])
        if found:
            log.warning("%s: %d rotation(s) happened since the file was last read; reading "
                        "them in full", self.path, len(found))
        return [f for _, f in found]

    # -- reading -----------------------------------------------------------
    def _read(self, f: _Open, max_bytes: int, final: bool) -> list[Line]:
        data = os.pread(f.fd, max_bytes, f.offset)
        if not data:
            return []
        lines: list[Line] = []
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            if f.skipping:
                f.skipping = False
            elif nl - start > MAX_LINE:
                lines.append(Line(f.offset + start, data[start:start + MAX_LINE], f.fp or "",
                                  too_long=True))
            else:
                lines.append(Line(f.offset + start, data[start:nl], f.fp or ""))
            start = nl + 1
        rest = len(data) - start
        if rest >= MAX_LINE or (f.skipping and rest) or (final and rest and len(data) < max_bytes):
            # an over-long line, the middle of one, or the unterminated tail of a rotated file
            if not f.skipping:
                lines.append(Line(f.offset + start, data[start:start + MAX_LINE], f.fp or "",
                                  too_long=rest >= MAX_LINE))
            f.skipping = rest >= MAX_LINE or f.skipping
            start = len(data)
            if final and f.skipping and len(data) < max_bytes:
                f.skipping = False
        f.offset += start
        return lines

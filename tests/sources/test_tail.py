"""The durable tailer on real files in temp directories."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from monitor.sources.tail import MAX_LINE, Line, Tailer


def drain(t: Tailer, rounds: int = 50) -> list[Line]:
    out: list[Line] = []
    for _ in range(rounds):
        lines = t.read_lines()
        if not lines:
            lines = t.read_lines()  # a rotation is noticed on an empty read
            if not lines:
                break
        out.extend(lines)
    return out


def texts(lines: list[Line]) -> list[str]:
    return [line.data.decode() for line in lines]


def test_reads_complete_lines_and_holds_back_a_partial_one(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\ntwo\nthr")
    t = Tailer(str(log))
    assert texts(drain(t)) == ["one", "two"]
    with log.open("ab") as f:
        f.write(b"ee\n")
    assert texts(drain(t)) == ["three"]


def test_offsets_point_at_line_starts(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"ab\ncde\n")
    lines = drain(Tailer(str(log)))
    assert [line.offset for line in lines] == [0, 3]


def test_resumes_from_a_saved_position(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\ntwo\n")
    t = Tailer(str(log))
    drain(t)
    pos = t.position()
    t.close()
    with log.open("ab") as f:
        f.write(b"three\n")
    assert texts(drain(Tailer(str(log), pos))) == ["three"]


def test_follows_rename_rotation_reading_the_old_file_to_its_end(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\n")
    t = Tailer(str(log))
    assert texts(drain(t)) == ["one"]
    with log.open("ab") as f:
        f.write(b"two\n")
    log.rename(tmp_path / "a.log.1")
    log.write_bytes(b"three\n")
    assert texts(drain(t)) == ["two", "three"]


def test_copytruncate_reads_the_missed_lines_from_the_copy(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\n")
    t = Tailer(str(log))
    assert texts(drain(t)) == ["one"]
    with log.open("ab") as f:
        f.write(b"two\n")
    shutil.copyfile(log, tmp_path / "a.log.1")
    with log.open("r+b") as f:
        f.truncate(0)
    with log.open("ab") as f:
        f.write(b"three is longer than before\n")  # already past our old offset
    assert texts(drain(t)) == ["two", "three is longer than before"]


def rotated_while_stopped(tmp_path: Path, more: bytes, new: bytes) -> Tailer:
    """A tailer that read "one", then was stopped while `more` was appended, the file
    renamed to a.log.1 and a new a.log written with `new`; resumed from its position."""
    log = tmp_path / "a.log"
    log.write_bytes(b"one\n")
    t = Tailer(str(log))
    drain(t)
    pos = t.position()
    t.close()
    with log.open("ab") as f:
        f.write(more)
    log.rename(tmp_path / "a.log.1")
    log.write_bytes(new)
    return Tailer(str(log), pos)


def test_rotation_while_stopped_drains_the_rotated_file_first(tmp_path: Path) -> None:
    t = rotated_while_stopped(tmp_path, b"two\n", b"three\n")
    assert texts(drain(t)) == ["two", "three"]


def test_lag_counts_the_rotated_file_still_being_drained(tmp_path: Path) -> None:
    # the new file is empty: all that is left is in the old one
    t = rotated_while_stopped(tmp_path, b"two\nthree\n", b"")
    assert texts(t.read_lines(max_bytes=4)) == ["two"]
    assert t.lag() == len(b"three\n")
    assert texts(drain(t)) == ["three"]
    assert t.lag() == 0


def test_survives_the_file_vanishing_and_reappearing(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    t = Tailer(str(log))
    assert drain(t) == []  # not there yet
    log.write_bytes(b"one\n")
    assert texts(drain(t)) == ["one"]
    log.unlink()
    assert drain(t) == []
    log.write_bytes(b"two\n")
    assert texts(drain(t)) == ["two"]


def test_an_over_long_line_is_cut_and_flagged_and_the_next_line_is_intact(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"x" * (MAX_LINE * 4 + 7) + b"\nafter\n")
    lines = drain(Tailer(str(log)))
    assert [line.too_long for line in lines] == [True, False]
    assert len(lines[0].data) == MAX_LINE
    assert lines[1].data == b"after"


def test_every_line_exactly_once_under_rotation_while_appending(tmp_path: Path) -> None:
    """A writer appends as fast as it can; the file is rotated by rename and by
    copytruncate (the writer pausing, as logrotate's copy would be atomic to it)."""
    log = tmp_path / "a.log"
    log.touch()
    lock = threading.Lock()
    total = 20_000
    done = threading.Event()
    reading = threading.Event()

    def writer() -> None:
        f = log.open("ab", buffering=0)
        for i in range(total):
            with lock:
                f.write(f"line {i:06d}\n".encode())
            if i % 2000 == 1999:
                # a copytruncate before the reader read anything at all is undetectable
                # (size 0 at offset 0) and loses those lines for any reader: rotate
                # once it has read once
                reading.wait(30)
                with lock:
                    f.close()
                    rotations = i // 2000
                    rotated = tmp_path / f"a.log.{rotations}"
                    if rotations % 2:
                        os.rename(log, rotated)
                        log.touch()
                    else:
                        shutil.copyfile(log, rotated)
                        with log.open("r+b") as g:
                            g.truncate(0)
                    f = log.open("ab", buffering=0)
        f.close()
        done.set()

    t = Tailer(str(log))
    seen: list[str] = []
    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished = done.is_set()
        seen.extend(texts(t.read_lines()))
        if seen:
            reading.set()
        if finished and len(seen) >= total:
            break
        if finished:
            seen.extend(texts(drain(t)))
            break
    thread.join()
    assert len(seen) == total
    assert seen == [f"line {i:06d}" for i in range(total)]


def test_generations_rotated_while_stopped_are_read_in_order(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\n")
    t = Tailer(str(log))
    drain(t)
    pos = t.position()
    t.close()
    with log.open("ab") as f:
        f.write(b"two\n")
    for n, text in ((1, b"three\n"), (2, b"four\n")):  # two daily rotations while down
        for k in range(n, 0, -1):
            older = tmp_path / f"a.log.{k}"
            if older.exists():
                older.rename(tmp_path / f"a.log.{k + 1}")
        log.rename(tmp_path / "a.log.1")
        time.sleep(0.01)
        log.write_bytes(text)
    assert texts(drain(Tailer(str(log), pos))) == ["two", "three", "four"]

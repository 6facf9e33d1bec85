"""The daemon as a separate process: nothing lost, nothing twice, bad lines kept aside."""

from __future__ import annotations

import os
import random
import shutil
import threading
from datetime import datetime
from pathlib import Path

from monitor.config import load_config
from monitor.sources.reading import parse_file
from tests.daemon_process import Daemon, caught_up, count, query, wait_for, write_config
from tests.samba_lines import generate, record

SOURCE = {"type": "samba", "name": "smb", "prefix": "%u|%I|%m|%S"}


def setup(tmp_path: Path, log_name: str = "audit.log") -> tuple[Path, Path, Path]:
    log = tmp_path / log_name
    db = tmp_path / "w.db"
    config = write_config(tmp_path / "w.yaml", db, [{**SOURCE, "path": str(log)}])
    return log, db, config


def stored_ids(db: Path) -> list[str]:
    return [bytes(r[0]).hex() for r in query(db, "SELECT id FROM events")]


def expected_ids(config: Path) -> list[str]:
    cfg = load_config(config)
    return [ev.id for ev in parse_file(cfg.sources[0], cfg)]


def test_sigterm_saves_the_position_and_a_restart_continues(tmp_path: Path) -> None:
    log, db, config = setup(tmp_path)
    lines = generate(400, seed=1)
    log.write_text("".join(lines[:200]))
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: caught_up(db, "smb", log), 30, "first half", d)
        assert d.stop() == 0
    with log.open("a") as f:
        f.write("".join(lines[200:]))
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: caught_up(db, "smb", log), 30, "second half", d)
        assert d.stop() == 0
    ids = stored_ids(db)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected_ids(config))
    assert "positions saved" in (tmp_path / "d.log").read_text()


def test_sigkill_at_several_points_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    log, db, config = setup(tmp_path)
    log.write_text("".join(generate(100_000, seed=2)))  # 200k lines
    expected = expected_ids(config)
    rng = random.Random(5)
    kill_points = sorted(rng.sample(range(1_000, len(expected) - 1_000), 4))
    for point in kill_points:
        with Daemon(config, tmp_path / "d.log") as d:
            wait_for(lambda p=point: count(db) >= p, 120, f"{point} events", d)
            d.kill()
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: caught_up(db, "smb", log), 120, "catch-up", d)
        assert d.stop() == 0
    ids = stored_ids(db)
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)


def test_bad_lines_are_dead_letters_and_the_good_ones_around_them_are_stored(
        tmp_path: Path) -> None:
    log, db, config = setup(tmp_path)
    good = generate(300, seed=3)
    rng = random.Random(9)
    bad: list[bytes] = [
        b"[2026/11/02 10:00:00.000001,  1] ../../source3/modules/vfs_full_audit.c:643(do_log)\n"
        b"  alice|10.0.0.1|PC|clients|pread_re\n",          # truncated record
        bytes(rng.randrange(256) for _ in range(300)).replace(b"\n", b"") + b"\n",  # binary
        b"x" * (1024 * 1024) + b"\n",                         # 1 MB line
        b"completely random words here\n",
        b"\x00\x00\x00\n",
    ]
    with log.open("wb") as f:
        for i, line in enumerate(good):
            f.write(line.encode())
            if i % 60 == 30:
                f.write(bad[(i // 60) % len(bad)])
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: caught_up(db, "smb", log), 60, "ingest", d)
        assert d.alive()
        assert d.stop() == 0
    reasons = [r[0] for r in query(db, "SELECT reason FROM dead_letters ORDER BY offset")]
    assert len(reasons) == 5 and all(reasons)
    assert any("longer than" in r for r in reasons)
    clean = tmp_path / "clean.log"
    clean.write_text("".join(good))
    clean_config = write_config(tmp_path / "c.yaml", tmp_path / "c.db",
                                [{**SOURCE, "path": str(clean)}])
    got = query(db, "SELECT action, user_name, count FROM events ORDER BY ts, action")
    cfg = load_config(clean_config)
    want = sorted((e.action, e.user_name, e.count, e.timestamp) for e in parse_file(cfg.sources[0],
                                                                                     cfg))
    assert sorted(got) == sorted((a, u, c) for a, u, c, _ in want)


def test_rotation_while_appending_stores_every_record_once(tmp_path: Path) -> None:
    log, db, config = setup(tmp_path)
    total = 6_000
    lock = threading.Lock()

    def line(i: int) -> str:
        return record(datetime(2026, 11, 2, 9, 0, 0),
                      f"alice|10.0.0.1|PC|clients|mkdirat|ok|/srv/share/clients/acme/d{i}")

    log.write_text(line(0))

    def writer() -> None:
        f = log.open("a")
        for i in range(1, total):
            ts_line = line(i)
            with lock:
                f.write(ts_line)
                f.flush()
            if i % 1000 == 999:
                with lock:
                    f.close()
                    rotated = tmp_path / f"audit.log.{i // 1000}"
                    if (i // 1000) % 2:
                        os.rename(log, rotated)
                        log.touch()
                    else:
                        shutil.copyfile(log, rotated)
                        with log.open("r+") as g:
                            g.truncate(0)
                    f = log.open("a")
        f.close()

    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: count(db) == 1, 30, "the first record", d)  # it follows the file now
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join()
        wait_for(lambda: count(db) >= total, 60, "all records", d)
        wait_for(lambda: caught_up(db, "smb", log), 30, "catch-up", d)
        assert d.stop() == 0
    paths = [r[0] for r in query(db, "SELECT s.text FROM events e JOIN strings s"
                                      " ON s.id = e.path_id")]
    assert len(paths) == total
    assert sorted(paths) == sorted(f"/srv/share/clients/acme/d{i}" for i in range(total))


def test_sigterm_during_heavy_ingest_exits_0_within_10s_and_a_restart_loses_nothing(
        tmp_path: Path) -> None:
    import signal
    log, db, config = setup(tmp_path)
    log.write_text("".join(generate(60_000, seed=12)))  # 120k lines
    expected = expected_ids(config)
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: count(db) >= 2_000, 60, "ingest under way", d)
        d.signal(signal.SIGTERM)
        assert d.wait(10) == 0  # the drain bound the service promises systemd
    assert count(db) < len(expected)  # it really was stopped mid-way
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: caught_up(db, "smb", log), 120, "catch-up", d)
        assert d.stop() == 0
    ids = stored_ids(db)
    assert len(ids) == len(set(ids)) and set(ids) == set(expected)

"""Tamper evidence: `wallwatch verify` names the first batch that was edited,
removed or reordered, in a copy of a store a real daemon filled."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon_process import REPO, Daemon, caught_up, wait_for, write_config
from tests.samba_lines import generate


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("chain")
    log, db = tmp / "audit.log", tmp / "w.db"
    lines = generate(3000, seed=8)
    log.write_text("".join(lines[:1500]))
    config = write_config(tmp / "w.yaml", db, [{"type": "samba", "name": "smb",
                                                  "path": str(log), "prefix": "%u|%I|%m|%S"}])
    with Daemon(config, tmp / "d.log") as d:
        wait_for(lambda: caught_up(db, "smb", log), 60, "first half", d)
        with log.open("a") as f:
            f.write("".join(lines[1500:]))
        wait_for(lambda: caught_up(db, "smb", log), 60, "second half", d)
        assert d.stop() == 0
    return tmp


def verify(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(folder / "w.yaml"),
                           "verify"], cwd=REPO, capture_output=True, text=True)


def tampered(real_store: Path, tmp_path: Path, sql: Callable[[sqlite3.Connection], None]
             ) -> subprocess.CompletedProcess[str]:
    for name in ("w.db", "w.db-wal", "w.db-shm"):
        if (real_store / name).exists():
            shutil.copy(real_store / name, tmp_path / name)
    (tmp_path / "w.yaml").write_text((real_store / "w.yaml").read_text().replace(
        str(real_store / "w.db"), str(tmp_path / "w.db")))
    db = sqlite3.connect(tmp_path / "w.db")
    sql(db)
    db.commit()
    db.close()
    return verify(tmp_path)


def batch_of(db: sqlite3.Connection, seq: int) -> int:
    row = db.execute("SELECT batch FROM chain WHERE ? BETWEEN first_seq AND last_seq"
                     " AND kind = 'events'", (seq,)).fetchone()
    return int(row[0])


def test_an_untouched_store_verifies(real_store: Path) -> None:
    out = verify(real_store)
    assert out.returncode == 0, out.stdout
    assert out.stdout.startswith("ok: ") and "chain head" in out.stdout
    db = sqlite3.connect(real_store / "w.db")
    assert db.execute("SELECT count(*) FROM chain").fetchone()[0] >= 2


def test_an_edited_row_is_found_and_its_batch_named(real_store: Path, tmp_path: Path) -> None:
    found: dict[str, int] = {}

    def edit(db: sqlite3.Connection) -> None:
        found["batch"] = batch_of(db, 40)
        db.execute("UPDATE events SET user_name = 'nobody' WHERE seq = 40")

    out = tampered(real_store, tmp_path, edit)
    assert out.returncode == 1
    assert f"batch {found['batch']} " in out.stdout and "edited or reordered" in out.stdout


def test_an_edited_path_is_found_too(real_store: Path, tmp_path: Path) -> None:
    out = tampered(real_store, tmp_path, lambda db: db.execute(
        "UPDATE strings SET text = '/innocent' WHERE id = (SELECT path_id FROM events"
        " WHERE seq = 12)"))
    assert out.returncode == 1 and "edited or reordered" in out.stdout


def test_a_deleted_row_is_found(real_store: Path, tmp_path: Path) -> None:
    found: dict[str, int] = {}

    def delete(db: sqlite3.Connection) -> None:
        found["batch"] = batch_of(db, 77)
        db.execute("DELETE FROM events WHERE seq = 77")

    out = tampered(real_store, tmp_path, delete)
    assert out.returncode == 1
    assert f"batch {found['batch']} " in out.stdout and "1 row(s) removed" in out.stdout


def test_a_swapped_pair_is_found(real_store: Path, tmp_path: Path) -> None:
    def swap(db: sqlite3.Connection) -> None:
        a, b = (db.execute("SELECT * FROM events WHERE seq = ?", (s,)).fetchone()
                for s in (20, 21))
        cols = [c[1] for c in db.execute("PRAGMA table_info(events)")][1:]
        db.execute("UPDATE events SET id = randomblob(12) WHERE seq IN (20, 21)")
        for seq, row in ((20, b), (21, a)):
            db.execute(f"UPDATE events SET {', '.join(c + ' = ?' for c in cols)} WHERE seq = ?",
                       (*row[1:], seq))

    out = tampered(real_store, tmp_path, swap)
    assert out.returncode == 1 and "edited or reordered" in out.stdout


def test_a_removed_batch_breaks_the_next_link(real_store: Path, tmp_path: Path) -> None:
    def drop(db: sqlite3.Connection) -> None:
        first, last = db.execute("SELECT first_seq, last_seq FROM chain WHERE batch = 1"
                                 ).fetchone()
        db.execute("DELETE FROM events WHERE seq BETWEEN ? AND ?", (first, last))
        db.execute("DELETE FROM chain WHERE batch = 1")

    out = tampered(real_store, tmp_path, drop)
    assert out.returncode == 1 and "does not follow the previous batch" in out.stdout

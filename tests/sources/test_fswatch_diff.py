"""The filesystem watcher's pure parts: ACL xattrs (as setfacl writes them), the
snapshot diff (renames by inode, folded deletions), widening, config options."""

from __future__ import annotations

import os
import pwd
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ConfigError
from monitor.sources.fswatch import check_options
from monitor.sources.fswatch_acl import ACCESS_XATTR, DEFAULT_XATTR, decode_acl, display_acl
from monitor.sources.fswatch_diff import Change, diff_trees
from monitor.sources.fswatch_events import make_event, widened
from monitor.sources.fswatch_snapshot import Entry, Excluder, entry_of
from tests.sources.fswatch_helpers import Watcher

NOBODY = pwd.getpwnam("nobody").pw_uid


def entry(ino: int, kind: str = "file", mode: int = 0o640, size: int = 1, **kw: object) -> Entry:
    fields: dict[str, object] = {"uid": 0, "gid": 0, "acl": "", "dacl": "", "mtime_ns": 7}
    fields.update(kw)
    return Entry(kind, ino, mode, size=size if kind == "file" else 0, **fields)  # type: ignore[arg-type]


def test_acl_xattrs_written_by_setfacl_decode_to_short_text(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    folder.mkdir()
    subprocess.run(["setfacl", "-m", "u:nobody:r,g:nogroup:rwx", str(folder)], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:nobody:rx", str(folder)], check=True)
    access = decode_acl(os.getxattr(folder, ACCESS_XATTR), named_only=True)
    assert access == f"user:{NOBODY}:r--,group:65534:rwx"  # base entries are the mode
    assert display_acl(access) == "user:nobody:r--,group:nogroup:rwx"
    default = decode_acl(os.getxattr(folder, DEFAULT_XATTR), named_only=False)
    assert default.split(",") == ["user::rwx", f"user:{NOBODY}:r-x", "group::r-x", "mask::r-x",
                                  "other::r-x"]
    now = entry_of(str(folder))
    assert now is not None and (now.acl, now.dacl) == (access, default)


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_any_xattr_bytes_decode_without_raising(raw: bytes) -> None:
    text = decode_acl(raw, named_only=True)
    assert isinstance(display_acl(text), str)


_paths = st.sampled_from(["/r", "/r/a", "/r/a/x", "/r/a/y", "/r/b", "/r/b/x", "/r/c"])
_entries = st.builds(entry, st.integers(1, 6), st.sampled_from(["file", "dir"]),
                     st.sampled_from([0o640, 0o644, 0o750]), st.integers(0, 2))
_trees = st.dictionaries(_paths, _entries, max_size=7)


@settings(max_examples=400)
@given(_trees, _trees)
def test_the_diff_rewrites_the_snapshot_into_the_disk_state(
        stored: dict[str, Entry], current: dict[str, Entry]) -> None:
    diff = diff_trees(stored, current)
    after = {p: e for p, e in stored.items() if p not in diff.deletes}
    after.update(diff.upserts)
    assert after == current
    assert bool(diff.changes) == (stored != current)
    assert diff_trees(current, current).changes == []
    for change in diff.changes:  # every change becomes a storable event
        assert make_event("fs", change, 1, "rescan", datetime.now(UTC)).dataset == "fswatch"


def test_a_moved_directory_is_one_rename_and_its_content_follows() -> None:
    stored = {"/r/a": entry(1, "dir"), "/r/a/x": entry(2), "/r/a/s": entry(3, "dir"),
              "/r/a/s/y": entry(4)}
    current = {"/r/b": entry(1, "dir"), "/r/b/x": entry(2, mode=0o644),
               "/r/b/s": entry(3, "dir"), "/r/b/s/y": entry(4, size=9)}
    kinds = [(c.kind, c.path, c.target) for c in diff_trees(stored, current).changes]
    assert kinds == [("rename", "/r/a", "/r/b"), ("modify", "/r/b/s/y", None),
                     ("mode", "/r/b/x", None)]


def test_a_deleted_directory_is_one_deletion_counting_its_content() -> None:
    stored = {"/r/a": entry(1, "dir"), "/r/a/x": entry(2), "/r/a/s": entry(3, "dir"),
              "/r/a/s/y": entry(4), "/r/z": entry(5)}
    [change] = diff_trees(stored, {"/r/z": entry(5)}).changes
    assert (change.kind, change.path, change.removed) == ("delete", "/r/a", 3)


def test_a_reused_inode_with_other_content_is_not_a_rename() -> None:
    changes = diff_trees({"/r/old": entry(9, size=1)}, {"/r/new": entry(9, size=2)}).changes
    assert [(c.kind, c.path) for c in changes] == [("delete", "/r/old"), ("create", "/r/new")]


@pytest.mark.parametrize("before,after,wider", [
    (0o750, 0o754, True),     # other may read
    (0o700, 0o770, True),     # group may do everything
    (0o754, 0o750, False),    # narrowed
    (0o755, 0o1755, False),   # sticky bit takes nothing away and gives nothing
    (0o755, 0o4755, True),    # set-uid on a file
])
def test_a_mode_change_is_widened_when_it_grants_more(before: int, after: int,
                                                     wider: bool) -> None:
    assert widened(Change("mode", "/r/f", entry(1, mode=before), entry(1, mode=after))) is wider


def test_ownership_handed_to_root_is_not_a_widening() -> None:
    def owner(uid: int) -> Change:
        return Change("owner", "/r/f", entry(1, uid=1000), entry(1, uid=uid))

    assert widened(owner(NOBODY)) is True
    assert widened(owner(0)) is False


def test_acl_widening_looks_at_each_entry() -> None:
    def acl(old: str, new: str) -> Change:
        return Change("acl", "/r/f", entry(1, acl=old), entry(1, acl=new))

    assert widened(acl("", "user:1:r--")) is True
    assert widened(acl("user:1:r--", "user:1:rw-")) is True
    assert widened(acl("user:1:rw-,user:2:r--", "user:1:r--")) is False


def test_exclude_patterns_match_names_anywhere_and_paths_from_the_root() -> None:
    ex = Excluder("/srv/clients", ["~$*", "acme/tmp"])
    assert ex.inside("/srv/clients") and ex.inside("/srv/clients/acme/a.xlsx")
    assert not ex.inside("/srv/clients/acme/~$a.xlsx")
    assert not ex.inside("/srv/clients/acme/tmp/deep/file")
    assert ex.inside("/srv/clients/globex/tmp/file")
    assert not ex.inside("/srv/other")


def test_config_checks_the_fswatch_options(tmp_path: Path) -> None:
    assert check_options({"exclude": ["*.tmp"], "rescan_every": "6h"}) is None
    assert "exclude" in (check_options({"exclude": [1]}) or "")
    assert "rescan_every" in (check_options({"rescan_every": "often"}) or "")
    with pytest.raises(ConfigError, match="exclude"):
        Watcher(tmp_path, tmp_path, exclude={"a": 1})

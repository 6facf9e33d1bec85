"""What Samba 4.17's vfs_full_audit logs for each client action, record by record.

The sequences are those real smbd wrote for smbprotocol clients (tests/data/samba/
steps.txt and README.md): Samba's own look-ups first (`openat r <share>/`, the target,
its parent), the client's real open (`create_file`), the I/O, the closes. Each function
adds the records of one action (`op|status|args`, without the session prefix).
"""

from __future__ import annotations

import posixpath

from bench.firm import SHARE_ROOT
from bench.timeline import Steps

ENOENT = "fail (No such file or directory)"
E2BIG = "fail (Argument list too long)"
EPERM = "fail (Operation not permitted)"
IO_GAP = (300, 4_000)  # µs between SMB reads or writes


def listing(s: Steps, d: str, entries: list[str]) -> None:
    s.add(f"openat|ok|r|{SHARE_ROOT}")
    s.add(f"openat|ok|r|{d}")
    s.add(f"openat|ok|r|{d}")
    s.add(f"close|ok|{d}")
    s.add(f"create_file|ok|0x89|dir|open|{d}")
    s.add(f"close|ok|{SHARE_ROOT}")
    for name in (".", "..", *entries):
        s.add(f"openat|ok|r|{d}/{name}", (20, 120))
        s.add(f"close|ok|{d}/{name}", (10, 60))


def read(s: Steps, p: str, reads: int) -> None:
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"openat|ok|r|{p}")
    s.add(f"close|ok|{p}")
    s.add(f"create_file|ok|0x89|file|open|{p}")
    s.add(f"close|ok|{posixpath.dirname(p)}")
    for _ in range(reads):
        s.add(f"pread_send|ok|{p}", IO_GAP)
        s.add(f"pread_recv|ok|{p}", (50, 900))
    s.add(f"close|ok|{p}", (200, 2_000))


def create(s: Steps, p: str, writes: int) -> None:
    parent = posixpath.dirname(p)
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|{ENOENT}|r|{p}")
    s.add(f"openat|ok|r|{parent}")
    s.add(f"openat|ok|w|{p}")
    s.add(f"fset_dos_attributes|ok|{p}")
    s.add(f"create_file|ok|0x112|file|overwrite_if|{p}")
    s.add(f"close|ok|{parent}")
    _writes(s, p, writes)


def overwrite(s: Steps, p: str, writes: int) -> None:
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"openat|ok|w|{p}")
    s.add(f"close|ok|{p}")
    s.add(f"fset_dos_attributes|ok|{p}")
    s.add(f"create_file|ok|0x112|file|overwrite_if|{p}")
    s.add(f"close|ok|{posixpath.dirname(p)}")
    _writes(s, p, writes)


def modify(s: Steps, p: str, writes: int) -> None:
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"openat|ok|w|{p}")
    s.add(f"close|ok|{p}")
    s.add(f"create_file|ok|0x19b|file|open|{p}")
    s.add(f"close|ok|{posixpath.dirname(p)}")
    _writes(s, p, writes)


def _writes(s: Steps, p: str, writes: int) -> None:
    for _ in range(writes):
        s.add(f"pwrite_send|ok|{p}", IO_GAP)
        s.add(f"pwrite_recv|ok|{p}", (50, 900))
    s.add(f"close|ok|{p}", (200, 2_000))


def rename(s: Steps, old: str, new: str) -> None:
    """smbprotocol's probe of the new name, the open of the old one, the rename."""
    src, dst = posixpath.dirname(old), posixpath.dirname(new)
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|{ENOENT}|r|{new}")
    s.add(f"openat|ok|r|{dst}")
    s.add(f"create_file|{E2BIG}|0x20|file|open|{new}")
    s.add(f"close|ok|{dst}")
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{old}")
    s.add(f"create_file|ok|0x10000|file|open|{old}")
    s.add(f"close|ok|{src}")
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|{ENOENT}|r|{new}")
    s.add(f"openat|ok|r|{dst}")
    s.add(f"openat|ok|r|{src}")
    s.add(f"renameat|ok|{old}|{new}")
    s.add(f"fset_dos_attributes|ok|{new}")
    s.add(f"close|ok|{src}")
    s.add(f"close|ok|{dst}")
    s.add(f"close|ok|{new}")


def delete(s: Steps, p: str) -> None:
    parent = posixpath.dirname(p)
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"create_file|ok|0x10100|file|open|{p}")
    s.add(f"fset_dos_attributes|ok|{p}")
    s.add(f"openat|ok|r|{parent}")
    s.add(f"unlinkat|ok|{p}")
    s.add(f"close|ok|{parent}")
    s.add(f"close|ok|{p}")
    s.add(f"close|ok|{parent}")


def mkdir(s: Steps, d: str) -> None:
    parent = posixpath.dirname(d)
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|{ENOENT}|r|{d}")
    s.add(f"openat|ok|r|{parent}")
    s.add(f"mkdirat|ok|{d}")
    s.add(f"openat|ok|r|{d}")
    s.add(f"fset_dos_attributes|ok|{d}")
    s.add(f"openat|ok|r|{d}")
    s.add(f"close|ok|{d}")
    s.add(f"create_file|ok|0x112|dir|create|{d}")
    s.add(f"close|ok|{d}")
    s.add(f"close|ok|{parent}")


def copy(s: Steps, src: str, dst: str) -> None:
    """A server-side copy (copychunk): no pread/pwrite at all."""
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{src}")
    s.add(f"openat|ok|r|{src}")
    s.add(f"close|ok|{src}")
    s.add(f"create_file|ok|0x89|file|open|{src}")
    s.add(f"close|ok|{posixpath.dirname(src)}")
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|{ENOENT}|r|{dst}")
    s.add(f"openat|ok|r|{posixpath.dirname(dst)}")
    s.add(f"openat|ok|w|{dst}")
    s.add(f"fset_dos_attributes|ok|{dst}")
    s.add(f"create_file|ok|0x112|file|overwrite_if|{dst}")
    s.add(f"close|ok|{posixpath.dirname(dst)}")
    s.add(f"close|ok|{dst}", (500, 20_000))
    s.add(f"close|ok|{src}")


def set_readonly(s: Steps, p: str) -> None:
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"create_file|ok|0x100|file|open|{p}")
    s.add(f"fset_dos_attributes|ok|{p}")
    s.add(f"close|ok|{p}")
    s.add(f"close|ok|{posixpath.dirname(p)}")


def set_acl(s: Steps, p: str, sddl: str) -> None:
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"create_file|ok|0x60000|file|open|{p}")
    s.add(f"fset_nt_acl|ok|{p} [{sddl}]")
    s.add(f"close|ok|{p}")
    s.add(f"close|ok|{posixpath.dirname(p)}")


def take_ownership(s: Steps, p: str, uid: int) -> None:
    """Tried as the user (EPERM), retried as root with SeTakeOwnership."""
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|ok|r|{p}")
    s.add(f"create_file|ok|0xa0000|file|open|{p}")
    s.add(f"fchown|{EPERM}|{p}|{uid}|4294967295")
    s.add(f"fchown|ok|{p}|{uid}|4294967295")
    s.add(f"fset_nt_acl|ok|{p} [O:S-1-22-1-{uid}]")
    s.add(f"close|ok|{p}")
    s.add(f"close|ok|{posixpath.dirname(p)}")


def read_missing(s: Steps, p: str) -> None:
    parent = posixpath.dirname(p)
    s.add(f"openat|ok|r|{SHARE_ROOT}/")
    s.add(f"openat|{ENOENT}|r|{p}")
    s.add(f"openat|ok|r|{parent}")
    s.add(f"create_file|{ENOENT}|0x89|file|open|{p}")
    s.add(f"close|ok|{parent}")

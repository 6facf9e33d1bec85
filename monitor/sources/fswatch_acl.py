"""POSIX ACLs as the filesystem watcher keeps and shows them.

Linux stores an ACL in the `system.posix_acl_access` (and, on directories,
`system.posix_acl_default`) extended attribute: a little-endian u32 version (2)
followed by 8-byte entries `u16 tag, u16 perm, u32 id`.

The snapshot keeps a *canonical* text with numeric ids (`user:1001:r--`), so a
renamed or deleted account never looks like an ACL change; events show the
names (`user:bob:r--`). The access ACL's base entries (owner, owning group,
other, and the mask, which `stat` reports as the group bits) duplicate the
mode, so only the named entries are kept for it; a default ACL is kept whole,
since nothing else records it.
"""

from __future__ import annotations

import functools
import grp
import os
import pwd
import struct

ACCESS_XATTR = "system.posix_acl_access"
DEFAULT_XATTR = "system.posix_acl_default"

_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_TAGS = {_USER_OBJ: "user", _USER: "user", _GROUP_OBJ: "group", _GROUP: "group",
         _MASK: "mask", _OTHER: "other"}
_ORDER = {_USER_OBJ: 0, _USER: 1, _GROUP_OBJ: 2, _GROUP: 3, _MASK: 4, _OTHER: 5}
_BASE = frozenset({_USER_OBJ, _GROUP_OBJ, _MASK, _OTHER})
_PERM_BITS = (("r", 4), ("w", 2), ("x", 1))


def _perm_text(perm: int) -> str:
    return "".join(ch if perm & bit else "-" for ch, bit in _PERM_BITS)


def decode_acl(raw: bytes, *, named_only: bool) -> str:
    """The canonical text of an ACL xattr: `user:1001:r--,group:100:r-x`.

    `named_only` drops the base entries (for access ACLs, whose base entries
    are the mode). A malformed value is kept visibly (`invalid:<hex>`) rather
    than raising: a change to it is still a change.
    """
    if len(raw) < 4 or (len(raw) - 4) % 8 or struct.unpack_from("<I", raw)[0] != _VERSION:
        return "invalid:" + raw.hex()
    entries: list[tuple[int, int, str]] = []
    for tag, perm, ident in struct.iter_unpack("<HHI", raw[4:]):
        if tag not in _TAGS:
            return "invalid:" + raw.hex()
        if named_only and tag in _BASE:
            continue
        qualifier = str(ident) if tag in (_USER, _GROUP) else ""
        entries.append((_ORDER[tag], ident if tag in (_USER, _GROUP) else 0,
                        f"{_TAGS[tag]}:{qualifier}:{_perm_text(perm)}"))
    return ",".join(text for _order, _ident, text in sorted(entries))


def read_acl(path: str, name: str, *, named_only: bool) -> str:
    """The canonical ACL text of `path` ("" when it has none or it cannot be read).

    No ACL (ENODATA), a filesystem without ACLs (EOPNOTSUPP), a symlink (EPERM)
    and a file that vanished all mean "nothing to compare"; the daemon runs as
    root, so a denied read is not expected.
    """
    try:
        raw = os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return ""
    return decode_acl(raw, named_only=named_only)


@functools.lru_cache(maxsize=4096)
def acl_name(kind: str, ident: str) -> str:
    try:
        if kind == "user":
            return pwd.getpwuid(int(ident)).pw_name
        return grp.getgrgid(int(ident)).gr_name
    except (KeyError, ValueError, OverflowError):
        return ident  # an id without an account stays numeric


def display_acl(canonical: str) -> str:
    """The canonical text with account names where they resolve: `user:bob:r--`."""
    if not canonical or canonical.startswith("invalid:"):
        return canonical
    out: list[str] = []
    for entry in canonical.split(","):
        kind, ident, perm = entry.split(":", 2)
        out.append(f"{kind}:{acl_name(kind, ident) if ident else ''}:{perm}")
    return ",".join(out)


def _bits(canonical: str) -> dict[str, int]:
    if not canonical or canonical.startswith("invalid:"):
        return {}
    out: dict[str, int] = {}
    for entry in canonical.split(","):
        who, _, perm = entry.rpartition(":")
        out[who] = sum(bit for ch, bit in _PERM_BITS if ch in perm)
    return out


def acl_widened(before: str, after: str) -> bool:
    """Does `after` grant some entry a permission `before` did not?"""
    old = _bits(before)
    return any(bits & ~old.get(who, 0) for who, bits in _bits(after).items())

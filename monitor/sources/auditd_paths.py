"""Absolute paths for the PATH records of one audit event.

The kernel logs each name as the program passed it. An absolute name is the path.
A relative one is relative to the CWD record, unless the syscall took a directory
file descriptor (`openat(dirfd, "notes.txt")`, what Samba and `os.open(…, dir_fd=)`
do): then the name is relative to a directory the log never names, and the PARENT
record shows the *cwd* as its name (the kernel's guess) next to the right inode.

So, best effort: an `InodePaths` cache learns `device:inode -> path` from every
record whose path is certain, and a name relative to a directory fd is resolved
through the inode of its PARENT record (or its own inode, e.g. `fchmod(fd)` logs
`name=(null)` and the inode). What cannot be resolved stays relative and the event
says so (`auditd.path_resolved: false`) rather than guessing a wrong directory.
The cache is parser state: bounded, and part of snapshot()/restore().
"""

from __future__ import annotations

import posixpath
from collections import OrderedDict
from typing import Any

from monitor.sources.auditd_records import known

AT_FDCWD = ("ffffff9c", "ffffffffffffff9c")  # -100: "relative to the cwd"
MAX_INODES = 1024

# syscall -> the arguments that are directory fds for its names
DIRFD_ARGS: dict[str, tuple[str, ...]] = {
    **{name: ("a0",) for name in (
        "openat", "openat2", "mkdirat", "mknodat", "unlinkat", "fchmodat", "fchmodat2",
        "fchownat", "newfstatat", "fstatat", "faccessat", "faccessat2", "utimensat",
        "futimesat", "readlinkat", "execveat", "statx", "name_to_handle_at", "setxattrat",
        "getxattrat", "removexattrat", "listxattrat")},
    "renameat": ("a0", "a2"), "renameat2": ("a0", "a2"), "linkat": ("a0", "a2"),
    "symlinkat": ("a1",),
}


class InodePaths:
    """Bounded LRU of device:inode -> absolute path."""

    def __init__(self) -> None:
        self.paths: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str | None) -> str | None:
        if key is None:
            return None
        path = self.paths.get(key)
        if path is not None:
            self.paths.move_to_end(key)
        return path

    def learn(self, key: str | None, path: str) -> None:
        if key is None:
            return
        self.paths[key] = path
        self.paths.move_to_end(key)
        while len(self.paths) > MAX_INODES:
            self.paths.popitem(last=False)

    def forget(self, key: str | None) -> None:
        if key is not None:
            self.paths.pop(key, None)

    def snapshot(self) -> list[list[str]]:
        return [[k, v] for k, v in self.paths.items()]

    def restore(self, state: Any) -> None:
        self.paths.clear()
        for item in state or []:
            self.paths[str(item[0])] = str(item[1])


def inode_key(rec: dict[str, str]) -> str | None:
    inode, dev = known(rec.get("inode")), known(rec.get("dev"))
    return f"{dev}:{inode}" if inode and dev else None


def uses_dirfd(syscall: str | None, fields: dict[str, str]) -> bool:
    """True when a name may be relative to a directory fd rather than the cwd."""
    args = DIRFD_ARGS.get(syscall or "", ())
    return any(fields.get(a, "ffffff9c").lower() not in AT_FDCWD for a in args)


def resolve(paths: list[dict[str, str]], cwd: str | None, dirfd: bool,
            cache: InodePaths, success: bool) -> list[str | None]:
    """The absolute path of each PATH record (None where it cannot be known), and
    teach the cache what this event showed for certain."""
    out: list[str | None] = []
    parents: list[str | None] = []
    child_index = 0
    for rec in paths:
        kind = (rec.get("nametype") or rec.get("objtype") or "").upper()
        name = known(rec.get("name"))
        key = inode_key(rec)
        path: str | None
        if kind == "PARENT":
            if dirfd:  # the kernel printed the cwd here; only the inode is right
                path = cache.get(key)
            elif name is not None and name.startswith("/"):
                path = _norm(name)
            else:
                path = _norm(posixpath.join(cwd, name or "")) if cwd else None
            parents.append(path)
        elif name is None:  # an fd-based call (fchmod, fsetxattr…): only the inode
            path = cache.get(key)
        elif name.startswith("/"):
            path = _norm(name)
        elif not dirfd:
            path = _norm(posixpath.join(cwd, name)) if cwd else None
        else:
            parent = (parents[child_index] if child_index < len(parents)
                      else parents[-1] if parents else None)
            path = (_norm(posixpath.join(parent, posixpath.basename(name.rstrip("/"))))
                    if parent else cache.get(key))
        if kind != "PARENT":
            child_index += 1
        out.append(path)
    if success:
        for rec, path in zip(paths, out, strict=True):
            kind = (rec.get("nametype") or rec.get("objtype") or "").upper()
            if kind == "DELETE":
                cache.forget(inode_key(rec))
            elif path is not None:
                cache.learn(inode_key(rec), path)
        # a rename moved the inode: it lives at its CREATE path now (learned last)
    return out


def _norm(path: str) -> str:
    return posixpath.normpath(path) if path else path

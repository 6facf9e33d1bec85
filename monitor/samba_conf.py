"""Read smb.conf the way smbd does (enough of it to check vfs_full_audit), and learn which
operation names the installed vfs_full_audit accepts.

Why not `testparm`: it checks syntax but not full_audit's operation names (an unknown one
makes every tree connect to the share fail), and `testparm -s` drops the per-class part
of `log level` (`1 full_audit:1@FILE` prints as `1`), which says where the records go.

The valid names are the `vfs_op_names[]` table compiled into full_audit.so: an array of
{enum value, name} pairs numbered 0, 1, 2 … in `.data.rel.ro`, whose name pointers are
filled in by R_*_RELATIVE relocations. Plain `strings` is not enough, because the linker
merges a name into the tail of a longer one ("connect" lives inside "durable_disconnect").
When the library cannot be read that way, the table of Samba 4.17 is used.
"""

from __future__ import annotations

import glob
import os
import re
import struct
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# vfs_op_names[] of Samba 4.17.12 (Debian 12), read from its full_audit.so as above.
_OPS_4_17_TEXT = """
connect disconnect disk_free get_quota set_quota get_shadow_copy_data statvfs
fs_capabilities get_dfs_referrals create_dfs_pathat read_dfs_pathat fdopendir readdir seekdir
telldir rewinddir mkdirat closedir open openat create_file close read pread pread_send
pread_recv write pwrite pwrite_send pwrite_recv lseek sendfile recvfile renameat fsync
fsync_send fsync_recv stat fstat lstat fstatat get_alloc_size unlinkat fchmod fchown lchown
chdir getwd ntimes fntimes ftruncate fallocate lock filesystem_sharemode fcntl
linux_setlease getlock symlinkat readlinkat linkat mknodat realpath fchflags file_id_create
fs_file_id fstreaminfo get_real_filename get_real_filename_at connectpath brl_lock_windows
brl_unlock_windows strict_lock_check translate_name parent_pathname fsctl offload_read_send
offload_read_recv offload_write_send offload_write_recv fget_compression set_compression
snap_check_path snap_create snap_delete get_dos_attributes_send get_dos_attributes_recv
fget_dos_attributes fset_dos_attributes fget_nt_acl fset_nt_acl audit_file sys_acl_get_fd
sys_acl_blob_get_fd sys_acl_set_fd sys_acl_delete_def_fd getxattrat_send getxattrat_recv
fgetxattr flistxattr removexattr fremovexattr fsetxattr aio_force is_offline set_offline
durable_cookie durable_disconnect durable_reconnect freaddir_attr
"""
OPS_4_17: tuple[str, ...] = tuple(_OPS_4_17_TEXT.split())

# Names smbd 4.17 accepts but never logs (the VFS calls behind them are gone), and what
# logs the same thing now.
NEVER_LOGGED: dict[str, tuple[str, ...]] = {
    "open": ("openat", "create_file"),
    "read": ("pread_recv",),
    "pread": ("pread_recv",),
    "write": ("pwrite_recv",),
    "pwrite": ("pwrite_recv",),
}

_RELATIVE = {62: 8, 183: 1027}  # e_machine → R_X86_64_RELATIVE, R_AARCH64_RELATIVE


def ops_from_library(data: bytes) -> tuple[str, ...] | None:
    """vfs_op_names[] from a 64-bit little-endian full_audit.so, or None."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    machine = struct.unpack_from("<H", data, 18)[0]
    if machine not in _RELATIVE:
        return None
    try:
        shoff = struct.unpack_from("<Q", data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                    for i in range(shnum)]
        names_off = sections[shstrndx][4]

        def name(sec: tuple[int, ...]) -> str:
            start = names_off + sec[0]
            return data[start:data.index(b"\0", start)].decode()

        by_name = {name(s): s for s in sections}
        relocs: dict[int, int] = {}
        rela = by_name[".rela.dyn"]
        for off in range(rela[4], rela[4] + rela[5], 24):
            where, info, addend = struct.unpack_from("<QQq", data, off)
            if info & 0xFFFFFFFF == _RELATIVE[machine]:
                relocs[where] = addend

        def string_at(vaddr: int) -> str | None:
            for sec in sections:  # sh_addr, sh_offset, sh_size; not NOBITS
                if sec[1] != 8 and sec[3] and sec[3] <= vaddr < sec[3] + sec[5]:
                    start = sec[4] + vaddr - sec[3]
                    raw = data[start:data.index(b"\0", start)]
                    text = raw.decode("ascii", "replace")
                    return text if re.fullmatch(r"[a-z0-9_]+", text) else None
            return None

        table = by_name[".data.rel.ro"]
        best: list[str] = []
        for start in range(table[3], table[3] + table[5], 8):
            run: list[str] = []
            addr = start
            while addr + 16 <= table[3] + table[5]:
                index = struct.unpack_from("<I", data, table[4] + addr - table[3])[0]
                text = string_at(relocs[addr + 8]) if addr + 8 in relocs else None
                if index != len(run) or text is None:
                    break
                run.append(text)
                addr += 16
            if len(run) > len(best):
                best = run
    except (KeyError, ValueError, IndexError, struct.error):
        return None
    # the table starts with connect/disconnect and has ~100 entries; anything else is noise
    return tuple(best) if len(best) > 50 and best[:2] == ["connect", "disconnect"] else None


def find_full_audit_library() -> Path | None:
    candidates: list[str] = []
    try:
        out = subprocess.run(["smbd", "-b"], capture_output=True, text=True, timeout=10).stdout
        match = re.search(r"MODULESDIR:\s*(\S+)", out)
        if match:
            candidates.append(os.path.join(match.group(1), "vfs", "full_audit.so"))
    except (OSError, subprocess.SubprocessError):
        pass
    candidates += sorted(glob.glob("/usr/lib/*/samba/vfs/full_audit.so"))
    candidates += ["/usr/lib/samba/vfs/full_audit.so", "/usr/lib64/samba/vfs/full_audit.so"]
    return next((Path(c) for c in candidates if os.path.isfile(c)), None)


def samba_version() -> str | None:
    try:
        out = subprocess.run(["smbd", "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"Version\s+(\S+)", out)
    return match.group(1) if match else None


def valid_ops() -> tuple[frozenset[str], str]:
    """The operation names the installed full_audit accepts, and where they came from."""
    library = find_full_audit_library()
    if library is not None:
        try:
            found = ops_from_library(library.read_bytes())
        except OSError:
            found = None
        if found:
            return frozenset(found), f"{library}"
    return frozenset(OPS_4_17), "the built-in table of Samba 4.17"


# ------------------------------------------------------------------------- smb.conf

_SYNONYMS = {"vfs object": "vfs objects", "debuglevel": "log level", "debug level": "log level",
             "max log size": "max log size"}


def _key(name: str) -> str:
    key = " ".join(name.lower().split())
    key = re.sub(r"\s*:\s*", ":", key)
    return _SYNONYMS.get(key, key)


@dataclass
class SmbConf:
    path: str
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    includes_skipped: list[str] = field(default_factory=list)

    @property
    def globals(self) -> dict[str, str]:
        return self.sections.get("global", {})

    def shares(self) -> list[str]:
        return [s for s in self.sections if s != "global"]

    def get(self, share: str, key: str) -> str | None:
        """A share's value, else the [global] one (how smbd looks up share parameters)."""
        value = self.sections.get(share, {}).get(key)
        return value if value is not None else self.globals.get(key)


def parse_smb_conf(path: str, _seen: set[str] | None = None,
                   conf: SmbConf | None = None, section: str = "global") -> SmbConf:
    """Sections and `name = value` lines; `include =` files are read in place (those
    with %-variables cannot be resolved here and are listed as skipped)."""
    conf = conf if conf is not None else SmbConf(path)
    seen = _seen if _seen is not None else set()
    real = os.path.realpath(path)
    if real in seen:
        return conf
    seen.add(real)
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    for line in _logical_lines(text):
        if line.startswith("[") and "]" in line:
            section = line[1:line.index("]")].strip().lower()
            if section == "globals":
                section = "global"
            conf.sections.setdefault(section, {})
            continue
        name, eq, value = line.partition("=")
        if not eq:
            continue
        key, value = _key(name), value.strip()
        if key == "include":
            if "%" in value:
                conf.includes_skipped.append(value)
            elif os.path.isfile(value):
                parse_smb_conf(value, seen, conf, section)
            continue
        conf.sections.setdefault(section, {})[key] = value
    return conf


def _logical_lines(text: str) -> Iterable[str]:
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):  # continuation: smbd joins it with the next line
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def split_list(value: str | None) -> list[str]:
    """A Samba list parameter: separated by spaces, tabs, commas or semicolons."""
    return [item for item in re.split(r"[\s,;]+", value or "") if item]


def class_log_files(log_level: str | None) -> dict[str, tuple[int, str | None]]:
    """`log level = 1 full_audit:1@/var/log/samba/audit.log auth_audit:3@…` → per debug
    class, its level and file ("all" for the bare number)."""
    out: dict[str, tuple[int, str | None]] = {}
    for item in split_list(log_level):
        name, colon, rest = item.partition(":")
        if not colon:
            if name.isdigit():
                out["all"] = (int(name), None)
            continue
        level, at, file = rest.partition("@")
        if level.isdigit():
            out[name.lower()] = (int(level), file if at else None)
    return out

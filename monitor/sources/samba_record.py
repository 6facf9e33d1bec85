"""One Samba `vfs_full_audit` record: `prefix|op|ok|args…` or `prefix|op|fail (errno)|args…`.

The prefix is whatever `full_audit:prefix` says (Samba's default `%u|%I`;
`%u|%I|%m|%S` adds the client's machine name and the share). We take the same
template in config and split the record by it. A path may itself contain `|`,
so the path is taken as the rest of the line, and the two paths of `renameat`
are split where the second absolute path starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# full_audit prefix substitutions we give a meaning to
PREFIX_FIELDS = {
    "%u": "user", "%U": "user", "%I": "ip", "%m": "machine", "%M": "client_name",
    "%S": "share", "%P": "share_path", "%D": "domain", "%d": "pid", "%T": "time",
}
DEFAULT_PREFIX = "%u|%I"


class RecordError(ValueError):
    """The record does not have the shape the prefix and operation need."""


@dataclass(frozen=True, slots=True)
class Record:
    timestamp: datetime
    ts_us: int  # the same instant in µs: the grouping compares it for every record
    offset: int
    file_id: str
    op: str
    ok: bool
    error: str | None
    args: tuple[str, ...]
    prefix: dict[str, str] = field(default_factory=dict)

    @property
    def session(self) -> tuple[str, str, str, str]:
        p = self.prefix
        return (p.get("user", ""), p.get("ip", ""), p.get("machine", ""), p.get("share", ""))


def prefix_names(template: str) -> list[str]:
    names = []
    for i, token in enumerate(template.split("|")):
        names.append(PREFIX_FIELDS.get(token.strip(), f"prefix_{i}"))
    return names


def split_record(body: str, names: list[str], ts: datetime, ts_us: int, offset: int,
                 file_id: str) -> Record:
    parts = body.split("|")
    n = len(names)
    if len(parts) < n + 2:
        raise RecordError(f"expected {n} prefix fields ({'|'.join(names)}), an operation and"
                          f" a result; found {len(parts)} fields")
    prefix = dict(zip(names, parts[:n], strict=True))
    op, result = parts[n].strip(), parts[n + 1]
    if not op or not op.replace("_", "").isalnum():
        raise RecordError(f"bad operation name {op[:40]!r}")
    if result == "ok":
        ok, error = True, None
    elif result.startswith("fail"):
        ok = False
        error = result[4:].strip().removeprefix("(").removesuffix(")") or None
    else:
        raise RecordError(f"result must be 'ok' or 'fail (…)', found {result[:40]!r}")
    return Record(ts, ts_us, offset, file_id, op, ok, error, tuple(parts[n + 2:]), prefix)


def path_arg(args: tuple[str, ...], fixed_before: int = 0, fixed_after: int = 0) -> str:
    """The path among an op's args: what is left after the fixed fields, joined back."""
    end = len(args) - fixed_after
    if end <= fixed_before:
        raise RecordError("the record has no path")
    return "|".join(args[fixed_before:end])


def two_paths(args: tuple[str, ...]) -> tuple[str, str]:
    """renameat's `old|new`, where either may contain `|`."""
    joined = "|".join(args)
    cut = joined.find("|/")
    if cut < 0:
        raise RecordError("renameat needs two paths")
    return joined[:cut], joined[cut + 1:]

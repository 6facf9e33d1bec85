"""Did a permission change open an object to everyone? Read from the old and new
security descriptors (SDDL) that 4670 (permissions on an object changed) and
5143 (share modified) carry.

`widened_to(old, new)` lists the broad principals (Everyone, Anonymous,
Authenticated Users, the Users / Guests groups, Domain Users / Guests, Network,
Interactive) that the new DACL allows a right the old DACL did not allow them;
a NULL DACL (`D:NO_ACCESS_CONTROL`) allows everyone everything. Deny ACEs are
not subtracted: an added allow is reported even when a deny also covers it.
Generic rights are expanded to a file's specific rights before comparing, so
`GA` and `FA` are the same grant. An old descriptor without a DACL counts as
granting nothing (reporting a grant we cannot compare is better than missing
it). It is undecidable (None) when the new descriptor has no DACL or either
does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.sources.winlog_tables import FILE_GENERIC

# SDDL aliases of broad principals, and their SIDs
BROAD_ALIASES = {"WD": "S-1-1-0", "AN": "S-1-5-7", "AU": "S-1-5-11", "BU": "S-1-5-32-545",
                 "BG": "S-1-5-32-546", "NU": "S-1-5-2", "IU": "S-1-5-4", "DU": "", "DG": ""}
_ALIAS_OF_SID = {sid: alias for alias, sid in BROAD_ALIASES.items() if sid}
_DOMAIN_USERS = re.compile(r"^S-1-5-21-\d+-\d+-\d+-51[34]$")  # Domain Users / Guests
RIGHT_CODES = {
    "GA": 0x10000000, "GR": 0x80000000, "GW": 0x40000000, "GX": 0x20000000,
    "RC": 0x20000, "SD": 0x10000, "WD": 0x40000, "WO": 0x80000,
    "RP": 0x10, "WP": 0x20, "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "LO": 0x80,
    "DT": 0x40, "CR": 0x100, "FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116,
    "FX": 0x1200A0, "KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019,
    "NR": 0x1, "NW": 0x2, "NX": 0x4,
}
ALLOW_TYPES = frozenset({"A", "OA", "XA", "ZA"})
MAX_SDDL = 64 * 1024  # a longer descriptor is not worth scanning


class SddlError(ValueError):
    pass


@dataclass(frozen=True)
class Dacl:
    null: bool  # NO_ACCESS_CONTROL: everyone may do everything
    allows: dict[str, int]  # principal (alias or SID) -> rights allowed, generics expanded


def sections(sddl: str) -> dict[str, str]:
    """`O:BAG:SYD:P(A;;FA;;;SY)` -> {"O": "BA", "G": "SY", "D": "P(A;;FA;;;SY)"}."""
    if len(sddl) > MAX_SDDL:
        raise SddlError("security descriptor too long")
    text = sddl.strip()
    starts: list[tuple[str, int]] = []
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SddlError("unbalanced parentheses")
        elif ch == ":" and depth == 0 and i > 0 and text[i - 1] in "OGDS":
            starts.append((text[i - 1], i + 1))
    if depth != 0:
        raise SddlError("unbalanced parentheses")
    if not starts or starts[0][1] != 2:
        raise SddlError("does not start with O:, G:, D: or S:")
    out: dict[str, str] = {}
    for n, (letter, start) in enumerate(starts):
        end = starts[n + 1][1] - 2 if n + 1 < len(starts) else len(text)
        out[letter] = text[start:end]
    return out


def parse_dacl(sddl: str) -> Dacl | None:
    """The DACL of a descriptor, or None when it has none (only owner or SACL changed)."""
    body = sections(sddl).get("D")
    if body is None:
        return None
    cut = body.find("(")
    flags, aces = (body, "") if cut < 0 else (body[:cut], body[cut:])
    if "NO_ACCESS_CONTROL" in flags.upper():
        return Dacl(True, {})
    allows: dict[str, int] = {}
    for ace in _split_aces(aces):
        fields = ace.split(";")
        if len(fields) < 6:
            raise SddlError(f"ACE with {len(fields)} fields: ({ace[:40]})")
        if fields[0].strip().upper() in ALLOW_TYPES:
            who = principal(fields[5])
            allows[who] = allows.get(who, 0) | _rights(fields[2])
    return Dacl(False, allows)


def owner(sddl: str) -> str | None:
    value = sections(sddl).get("O")
    return principal(value) if value else None


def widened_to(old: str | None, new: str | None) -> list[str] | None:
    if not isinstance(new, str) or not new.strip() or new.strip() == "-":
        return None
    try:
        after = parse_dacl(new)
        before = parse_dacl(old) if isinstance(old, str) and old.strip() not in ("", "-") \
            else None
    except SddlError:
        return None
    if after is None:
        return None
    before = before or Dacl(False, {})
    if before.null:
        return []
    if after.null:
        return ["WD"]
    return sorted(p for p, rights in after.allows.items()
                  if is_broad(p) and rights & ~before.allows.get(p, 0))


def principal(text: str) -> str:
    """An alias (`WD`) or SID; a broad principal's SID becomes its alias."""
    value = text.strip().upper()
    return _ALIAS_OF_SID.get(value, value)


def is_broad(who: str) -> bool:
    return who in BROAD_ALIASES or bool(_DOMAIN_USERS.match(who))


def _split_aces(text: str) -> list[str]:
    aces: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                aces.append(text[start:i])
        elif depth == 0 and not ch.isspace():
            raise SddlError(f"text between ACEs: {text[i:i + 20]!r}")
    return aces


def _rights(text: str) -> int:
    value = text.strip().upper()
    if value.startswith("0X"):
        try:
            mask = int(value, 16)
        except ValueError:
            raise SddlError(f"bad rights {text!r}") from None
    elif value.isdigit():
        mask = int(value)
    else:
        if len(value) % 2:
            raise SddlError(f"bad rights {text!r}")
        mask = 0
        for i in range(0, len(value), 2):
            code = RIGHT_CODES.get(value[i:i + 2])
            if code is None:
                raise SddlError(f"unknown right {value[i:i + 2]!r}")
            mask |= code
    for bit, specific in FILE_GENERIC.items():
        if mask & bit:
            mask = (mask & ~bit) | specific
    return mask

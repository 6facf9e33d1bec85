"""What the numbers in Windows Security events mean.

Access masks (4656, 4663, 5140, 5145): the low 16 bits mean different things
per object type (bit 0 is ReadData on a file, "Query key value" on a registry
key), the standard rights (DELETE, WRITE_DAC…) are common to all. The raw
AccessList is message ids (`%%4416`) from msobjs.dll, one per right; the
descriptions below are that table's text, as Elastic's Windows integration
renders them. Each right also gets a short name of ours (`read`, `write`,
`append`, `delete`, `permission-change`…): the list of them is
`wallwatch.access`, and the strongest one names the event's action.

Logon failures (4625): Status / SubStatus NTSTATUS codes and the FailureReason
message id, decoded to text as Elastic's integration does.
"""

from __future__ import annotations

import re
from typing import Any

# (bit, msobjs.dll description, our name)
Right = tuple[int, str, str]
STANDARD_RIGHTS: tuple[Right, ...] = (
    (0x10000, "DELETE", "delete"),
    (0x20000, "READ_CONTROL", "read-permissions"),
    (0x40000, "WRITE_DAC", "permission-change"),
    (0x80000, "WRITE_OWNER", "owner-change"),
    (0x100000, "SYNCHRONIZE", "synchronize"),
    (0x1000000, "ACCESS_SYS_SEC", "access-system-security"),
    (0x2000000, "MAX_ALLOWED", "maximum-allowed"),
)
FILE_RIGHTS: tuple[Right, ...] = (
    (0x1, "ReadData (or ListDirectory)", "read"),
    (0x2, "WriteData (or AddFile)", "write"),
    (0x4, "AppendData (or AddSubdirectory or CreatePipeInstance)", "append"),
    (0x8, "ReadEA", "read-ea"),
    (0x10, "WriteEA", "write-ea"),
    (0x20, "Execute/Traverse", "execute"),
    (0x40, "DeleteChild", "delete-child"),
    (0x80, "ReadAttributes", "read-attributes"),
    (0x100, "WriteAttributes", "write-attributes"),
)
KEY_RIGHTS: tuple[Right, ...] = (
    (0x1, "Query key value", "query-value"),
    (0x2, "Set key value", "set-value"),
    (0x4, "Create sub-key", "create-subkey"),
    (0x8, "Enumerate sub-keys", "enumerate-subkeys"),
    (0x10, "Notify about changes to keys", "notify"),
    (0x20, "Create Link", "create-link"),
)
# msobjs.dll message id of the first right of each table (ids are consecutive bits)
_LIST_BASE = {1537: STANDARD_RIGHTS, 4416: FILE_RIGHTS, 4432: KEY_RIGHTS}
# GENERIC_READ/WRITE/EXECUTE/ALL as a file's specific rights (FILE_GENERIC_*)
FILE_GENERIC = {0x80000000: 0x120089, 0x40000000: 0x120116, 0x20000000: 0x1200A0,
                0x10000000: 0x1F01FF}

# priority order: (our names, action on a file, action on another object, event type)
_VERBS: tuple[tuple[frozenset[str], str, str, str], ...] = (
    (frozenset({"write", "append", "set-value", "create-subkey", "create-link"}),
     "write", "write", "change"),
    (frozenset({"delete", "delete-child"}), "delete", "delete", "deletion"),
    (frozenset({"permission-change"}), "changed-file-acl-of", "changed-acl-of", "change"),
    (frozenset({"owner-change"}), "changed-file-ownership-of", "changed-ownership-of", "change"),
    (frozenset({"write-attributes", "write-ea"}), "changed-file-attributes-of",
     "changed-attributes-of", "change"),
    (frozenset({"read", "query-value", "enumerate-subkeys", "notify"}), "read", "read", "access"),
    (frozenset({"execute"}), "execute", "execute", "access"),
)

_CODE = re.compile(r"%%(\d+)")


def rights_table(object_type: str | None) -> tuple[Right, ...]:
    kind = (object_type or "File").strip().lower()
    if kind in ("file", "directory", ""):
        return FILE_RIGHTS
    if kind == "key":
        return KEY_RIGHTS
    return ()


def parse_mask(value: Any) -> int | None:
    """`0x17019f`, `0x17019F`, `1507743` or an int; None when it is none of those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 0xFFFFFFFF else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    try:
        mask = int(text, 16) if text.startswith("0x") else int(text, 10)
    except ValueError:
        return None
    return mask if 0 <= mask <= 0xFFFFFFFF else None


def decode_mask(mask: int, object_type: str | None) -> list[Right]:
    """The rights a mask holds, standard rights first, as Windows lists them."""
    specific = rights_table(object_type)
    if specific is FILE_RIGHTS:
        for bit, rights in FILE_GENERIC.items():
            if mask & bit:
                mask = (mask & ~bit) | rights
    if not specific:  # an object type whose specific rights we do not know
        specific = tuple((1 << i, f"Unknown specific access (bit {i})", f"specific-bit-{i}")
                         for i in range(16))
    return ([r for r in STANDARD_RIGHTS if mask & r[0]]
            + [r for r in specific if mask & r[0]])


def decode_access_list(value: Any) -> tuple[list[str], list[Right]]:
    """AccessList (`%%1537 %%4416`) -> (descriptions, the rights we know)."""
    if not isinstance(value, str):
        return [], []
    descriptions: list[str] = []
    rights: list[Right] = []
    for code in map(int, _CODE.findall(value)):
        for base, table in _LIST_BASE.items():
            if base <= code < base + len(table):
                rights.append(table[code - base])
                descriptions.append(table[code - base][1])
                break
        else:
            descriptions.append(f"%%{code}")
    return descriptions, rights


def verb(names: list[str], is_file: bool) -> tuple[str, str]:
    """(event.action, event.type) for the strongest of the rights: writing before
    deleting (copy tools ask for DELETE with every write), metadata-only access is `stat`."""
    present = set(names)
    for group, file_action, other_action, etype in _VERBS:
        if present & group:
            return (file_action if is_file else other_action), etype
    return "stat", "info"


LOGON_TYPES = {
    "2": "Interactive", "3": "Network", "4": "Batch", "5": "Service", "7": "Unlock",
    "8": "NetworkCleartext", "9": "NewCredentials", "10": "RemoteInteractive",
    "11": "CachedInteractive", "12": "CachedRemoteInteractive", "13": "CachedUnlock",
}

# NTSTATUS codes of 4625 / 4776 (Microsoft's event-4625 documentation)
LOGON_STATUS = {
    0xC000005E: "There are currently no logon servers available to service the logon request.",
    0xC0000064: "User logon with misspelled or bad user account",
    0xC000006A: "User logon with misspelled or bad password",
    0xC000006D: "This is either due to a bad username or authentication information",
    0xC000006E: "Unknown user name or bad password.",
    0xC000006F: "User logon outside authorized hours",
    0xC0000070: "User logon from unauthorized workstation",
    0xC0000071: "User logon with expired password",
    0xC0000072: "User logon to account disabled by administrator",
    0xC00000DC: "Indicates the Sam Server was in the wrong state to perform the desired operation.",
    0xC000010B: "The logon type is not valid (STATUS_INVALID_LOGON_TYPE)",
    0xC0000133: "Clocks between DC and other computer too far out of sync",
    0xC000015B: "The user has not been granted the requested logon type (aka logon right) at "
                "this machine",
    0xC000018C: "The logon request failed because the trust relationship between the primary "
                "domain and the trusted domain failed.",
    0xC0000192: "An attempt was made to logon, but the Netlogon service was not started.",
    0xC0000193: "User logon with expired account",
    0xC0000224: "User is required to change password at next logon",
    0xC0000225: "Evidently a bug in Windows and not a risk",
    0xC0000234: "User logon with account locked",
    0xC00002EE: "Failure Reason: An Error occurred during Logon",
    0xC0000371: "The local account store does not contain secret material for the specified "
                "account",
    0xC0000413: "Logon Failure: The machine you are logging onto is protected by an "
                "authentication firewall. The specified account is not allowed to authenticate "
                "to the machine.",
}
# FailureReason message ids (msobjs.dll)
FAILURE_REASONS = {
    2304: "An Error occured during Logon.",
    2305: "The specified user account has expired.",
    2306: "The NetLogon component is not active.",
    2307: "Account locked out.",
    2308: "The user has not been granted the requested logon type at this machine.",
    2309: "The specified account's password has expired.",
    2310: "Account currently disabled.",
    2311: "Account logon time restriction violation.",
    2312: "User not allowed to logon at this computer.",
    2313: "Unknown user name or bad password.",
    2314: "Domain sid inconsistent.",
    2315: "Smartcard logon is required and was not used.",
}


def describe_failure_reason(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    m = _CODE.search(value)
    if m is None:
        return value.strip() or None  # already rendered text
    return FAILURE_REASONS.get(int(m.group(1)))


# event id -> (category, type, action) for the events without a builder of their
# own; names follow Elastic's Windows Security integration
EVENT_KINDS: dict[int, tuple[str, str, str]] = {
    1100: ("process", "end", "logging-service-shutdown"),
    1102: ("iam", "change", "audit-log-cleared"),
    1104: ("iam", "info", "logging-full"),
    4616: ("configuration", "change", "system-time-changed"),
    4634: ("authentication", "end", "logged-out"),
    4647: ("authentication", "end", "logged-out"),
    4648: ("authentication", "start", "logged-in-explicit"),
    4657: ("registry", "change", "registry-value-modified"),
    4658: ("host", "info", "object-handle-closed"),
    4660: ("file", "deletion", "object-deleted"),
    4662: ("iam", "change", "object-operation-performed"),
    4672: ("iam", "admin", "logged-in-special"),
    4673: ("iam", "admin", "privileged-service-called"),
    4674: ("iam", "admin", "privileged-operation"),
    4688: ("process", "start", "created-process"),
    4689: ("process", "end", "exited-process"),
    4697: ("configuration", "change", "service-installed"),
    4698: ("configuration", "creation", "scheduled-task-created"),
    4699: ("configuration", "deletion", "scheduled-task-deleted"),
    4702: ("configuration", "change", "scheduled-task-updated"),
    4719: ("configuration", "change", "changed-audit-config"),
    4720: ("iam", "creation", "added-user-account"),
    4722: ("iam", "change", "enabled-user-account"),
    4723: ("iam", "change", "changed-password"),
    4724: ("iam", "change", "reset-password"),
    4725: ("iam", "change", "disabled-user-account"),
    4726: ("iam", "deletion", "deleted-user-account"),
    4728: ("iam", "change", "added-member-to-group"),
    4729: ("iam", "change", "removed-member-from-group"),
    4732: ("iam", "change", "added-member-to-group"),
    4733: ("iam", "change", "removed-member-from-group"),
    4735: ("iam", "change", "modified-group-account"),
    4738: ("iam", "change", "modified-user-account"),
    4740: ("iam", "change", "locked-out-user-account"),
    4756: ("iam", "change", "added-member-to-group"),
    4757: ("iam", "change", "removed-member-from-group"),
    4767: ("iam", "change", "unlocked-user-account"),
    4768: ("authentication", "start", "kerberos-authentication-ticket-requested"),
    4769: ("authentication", "start", "kerberos-service-ticket-requested"),
    4771: ("authentication", "start", "kerberos-preauth-failed"),
    4776: ("authentication", "start", "credential-validated"),
    4778: ("session", "start", "session-reconnected"),
    4779: ("session", "end", "session-disconnected"),
    4907: ("configuration", "change", "audit-setting-changed"),
    5142: ("configuration", "creation", "network-share-added"),
    5143: ("configuration", "change", "network-share-modified"),
    5144: ("configuration", "deletion", "network-share-deleted"),
}

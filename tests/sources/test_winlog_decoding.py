"""Decoding tables of the Windows source: access masks and lists, and whether an
SDDL change widened a DACL (monitor/sources/winlog_tables.py, winlog_sddl.py)."""

from __future__ import annotations

import pytest

from monitor.sources.winlog_sddl import widened_to
from monitor.sources.winlog_tables import decode_access_list, decode_mask, parse_mask, verb


@pytest.mark.parametrize("mask,object_type,names", [
    (0x1, "File", ["read"]),
    (0x1, "Key", ["query-value"]),
    (0x6, "File", ["write", "append"]),
    (0x17019F, "File", ["delete", "read-permissions", "permission-change", "synchronize", "read",
                        "write", "append", "read-ea", "write-ea", "read-attributes",
                        "write-attributes"]),
    (0x80000000, "File", ["read-permissions", "synchronize", "read", "read-ea",
                          "read-attributes"]),  # GENERIC_READ
    (0x10000000, "File", ["delete", "read-permissions", "permission-change", "owner-change",
                          "synchronize", "read", "write", "append", "read-ea", "write-ea",
                          "execute", "delete-child", "read-attributes", "write-attributes"]),
    (0x40001, "Token", ["permission-change", "specific-bit-0"]),
    (0x0, "File", []),
])
def test_access_mask_decoding_table(mask: int, object_type: str, names: list[str]) -> None:
    assert [r[2] for r in decode_mask(mask, object_type)] == names


def test_access_list_codes_and_mask_spellings() -> None:
    text, rights = decode_access_list("%%4417\r\n\t\t\t\t%%1539\n%%9999")
    assert text == ["WriteData (or AddFile)", "WRITE_DAC", "%%9999"]
    assert [r[2] for r in rights] == ["write", "permission-change"]
    assert [parse_mask(v) for v in ("0x17019F", "1507743", 7, "zz", None, True, "0x1" * 20)] \
        == [0x17019F, 1507743, 7, None, None, None, None]
    assert verb(["read", "delete"], True) == ("delete", "deletion")
    assert verb(["set-value"], False) == ("write", "change")


@pytest.mark.parametrize("old,new,widened", [
    ("D:(A;;FA;;;SY)(A;;FA;;;BA)", "D:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;WD)", ["WD"]),
    ("D:(A;;FA;;;SY)", "D:(A;;0x1200a9;;;S-1-1-0)", ["WD"]),
    ("D:(A;;FR;;;WD)", "D:(A;;FR;;;WD)(A;;FA;;;BA)", []),
    ("D:(A;;FR;;;WD)", "D:(A;;FA;;;WD)", ["WD"]),  # read -> full control
    ("D:(A;;GA;;;AU)", "D:(A;;FA;;;AU)", []),  # GA and FA are the same grant
    ("D:PAI(A;OICI;FA;;;SY)", "D:PAI(A;OICI;FA;;;SY)(A;OICI;0x1301bf;;;DU)", ["DU"]),
    ("D:(A;;FA;;;SY)", "D:(A;;FA;;;S-1-5-21-1-2-3-513)", ["S-1-5-21-1-2-3-513"]),
    ("D:(A;;FA;;;SY)", "D:NO_ACCESS_CONTROL", ["WD"]),
    ("D:NO_ACCESS_CONTROL", "D:(A;;FA;;;WD)", []),
    ("D:(A;;FA;;;SY)", "D:(D;;FA;;;WD)(A;;FA;;;SY)", []),  # a deny grants nothing
    (None, "O:BAD:(A;;FR;;;BU)", ["BU"]),  # no old DACL: counted as granting nothing
    ("O:BAG:SYD:(A;;FA;;;SY)S:(AU;SA;FA;;;WD)", "O:BAG:SYD:(A;;FA;;;SY)S:(AU;FA;FA;;;WD)", []),
    ("D:(A;;FA;;;SY)", "O:BA", None),  # no DACL in the new descriptor: undecidable
    ("D:(A;;FA;;;SY)", "D:(A;;QQ;;;WD)", None),  # unknown right: undecidable
    ("D:(A;;FA;;;SY)", "D:(A;;FA;;;WD", None),
    ("D:(A;;FA;;;SY)", "-", None),
])
def test_sddl_widening(old: str | None, new: str, widened: list[str] | None) -> None:
    assert widened_to(old, new) == widened

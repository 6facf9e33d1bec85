"""How search results are shown: aligned table and JSON lines."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from monitor.search import format_json_lines, format_table
from monitor.search.output import HEADER, display_width
from tests.search.corpus import EVENTS, make

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _cell_starts(line: str) -> list[int]:
    """Display columns where each cell of a table line starts."""
    starts, width, gap = [0], 0, 0
    for c in line:
        if c == " ":
            gap += 1
        else:
            if gap >= 2:
                starts.append(width + gap)
            width += gap + display_width(c)
            gap = 0
    return starts


def test_wide_characters_count_two_columns() -> None:
    assert display_width("发票a") == 5
    assert display_width("e\u0301") == 1


def test_table_columns_line_up_even_with_chinese_paths() -> None:
    events = [EVENTS["invoice"], EVENTS["rename"], EVENTS["logon"], EVENTS["space"]]
    lines = format_table(events, SHANGHAI).splitlines()
    assert lines[0].split() == list(HEADER)
    header_starts = _cell_starts(lines[0])
    for line in lines[1:]:
        # every row's ASSIGNED and PATH cells start where the header's do
        starts = _cell_starts(line.replace("2024-03-04 ", "2024-03-04_"))
        assert starts[5:7] == header_starts[5:7], line


def test_table_shows_local_time_and_the_rename_target() -> None:
    text = format_table([EVENTS["rename"]], SHANGHAI)
    row = text.splitlines()[1]
    assert row.startswith("2024-03-04 17:01:00  alice")
    assert "/srv/share/clients/acme/draft.docx → /srv/share/clients/acme/final.docx" in row
    assert row.endswith("10.0.0.6")
    assert "  no  " in row


def test_table_marks_missing_values_with_a_dash() -> None:
    row = format_table([EVENTS["logon"]], ZoneInfo("UTC")).splitlines()[1]
    assert row.split()[5:8] == ["-", "-", "-"]


def test_table_lines_have_no_trailing_spaces_and_end_with_a_newline() -> None:
    text = format_table(list(EVENTS.values()), ZoneInfo("UTC"))
    assert text.endswith("\n")
    assert all(line == line.rstrip() for line in text.splitlines())
    assert len(text.splitlines()) == len(EVENTS) + 1


def test_terminal_escapes_and_bidi_overrides_in_file_names_are_shown_escaped() -> None:
    event = make("evil", 0, file_path="/srv/a\x1b[2Jb\u202etxt.exe", user_name="x\ny")
    row = "".join(format_table([event], ZoneInfo("UTC")).splitlines()[1:])
    assert "\x1b" not in row and "\u202e" not in row
    assert "\\x1b[2J" in row and "\\u202e" in row and "x\\x0ay" in row


def test_json_lines_are_ecs_documents_keeping_chinese_text() -> None:
    text = format_json_lines([EVENTS["invoice"], EVENTS["rename"]])
    lines = text.splitlines()
    assert len(lines) == 2 and text.endswith("\n")
    assert "2024年发票汇总.xlsx" in lines[0]
    assert json.loads(lines[0]) == EVENTS["invoice"].to_ecs()
    assert json.loads(lines[1])["file"]["target_path"] == "/srv/share/clients/acme/final.docx"


def test_json_lines_escape_c1_control_characters() -> None:
    event = make("c1", 0, file_path="/srv/a\x9b31mb")
    line = format_json_lines([event])
    assert "\x9b" not in line
    assert json.loads(line)["file"]["path"] == "/srv/a\x9b31mb"


def test_no_events_give_empty_output() -> None:
    assert format_table([], ZoneInfo("UTC")) == ""
    assert format_json_lines([]) == ""

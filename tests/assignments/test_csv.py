"""The practice-management CSV export: columns by header, dates, and a refused file
whose every bad line is named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.assignments.book import Grant
from monitor.assignments.csvfile import read_csv
from monitor.assignments.groups import ProviderError
from monitor.assignments.settings import CsvConfig


def export(tmp_path: Path, text: str, encoding: str = "utf-8",
           columns: dict[str, str] | None = None) -> CsvConfig:
    path = tmp_path / "assignments.csv"
    path.write_bytes(text.encode(encoding))
    if columns is None:
        return CsvConfig("pm", str(path))
    return CsvConfig("pm", str(path), columns=columns)


def test_rows_become_time_bounded_grants(tmp_path: Path) -> None:
    cfg = export(tmp_path, "user,client,from,until\n"
                           "alice,acme,2026-01-01,2026-06-30\n"
                           "alice,globex,,\n"
                           "\n"
                           "FIRM\\Bob,Initech,2026/3/1,\n"
                           "partner,*,,\n")
    snap = read_csv(cfg)
    assert snap.grants["alice"] == {Grant("acme", date(2026, 1, 1), date(2026, 6, 30)),
                                    Grant("globex")}
    assert snap.grants["bob"] == {Grant("initech", date(2026, 3, 1), None)}
    assert snap.grants["partner"] == {Grant("*")}


def test_columns_are_found_by_header_in_any_order_with_an_excel_bom(tmp_path: Path) -> None:
    cfg = export(tmp_path, "\ufeff客户,备注,员工\nacme,年审,alice\n",
                 columns={"user": "员工", "client": "客户", "from": "开始", "until": "结束"})
    assert read_csv(cfg).grants == {"alice": {Grant("acme")}}


def test_a_gbk_export_is_read_when_the_encoding_is_given(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("user,client\n张三,acme\n".encode("gbk"))
    cfg = CsvConfig("pm", str(path), encoding="gbk")
    assert read_csv(cfg).grants == {"张三": {Grant("acme")}}


def test_every_bad_line_is_located_and_the_whole_file_refused(tmp_path: Path) -> None:
    cfg = export(tmp_path, "user,client,from,until\n"
                           "alice,acme,2026-01-01,\n"
                           "bob,,2026-01-01,\n"            # line 3: no client
                           "carol,acme,31/01/2026,\n"      # line 4: not year-month-day
                           "dave,acme,2026-02-30,\n"       # line 5: no such day
                           "erin,acme,2026-03-01,2026-02-01\n")  # line 6: ends before start
    with pytest.raises(ProviderError) as err:
        read_csv(cfg)
    assert (err.value.path, err.value.line) == (cfg.path, 3)
    assert "empty 'client'" in err.value.message
    assert err.value.hint == "3 more bad line(s): 4, 5, 6"


@pytest.mark.parametrize(("text", "line", "message"), [
    ("", 1, "empty file"),
    ("name,client\nalice,acme\n", 1, "no column 'user'"),
    ("user,client,from\nalice,acme,soon\n", 2, "column 'from': bad date 'soon'"),
    ("user,client,from\nalice\n", 2, "too few columns"),
    ("user,client\nal ice,acme\n", 2, "bad user"),
])
def test_problems_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    cfg = export(tmp_path, text)
    with pytest.raises(ProviderError) as err:
        read_csv(cfg)
    assert message in err.value.message
    assert err.value.line == line


def test_text_in_the_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    cfg = export(tmp_path, "user,client\nalice,acme\n张三,acme\n", encoding="gbk")
    with pytest.raises(ProviderError) as err:
        read_csv(cfg)
    assert err.value.line == 3 and "gbk" in (err.value.hint or "")


def test_a_missing_file_is_a_provider_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="cannot read"):
        read_csv(CsvConfig("pm", str(tmp_path / "nowhere.csv")))

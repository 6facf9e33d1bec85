"""Searches against a real store: what each kind of term finds."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import QueryError
from monitor.search import compile_where, parse_query, search
from monitor.search.fields import KNOWN_FIELDS
from tests.search.corpus import ALL, EVENTS, T0, Corpus

ACME_FILES = {"invoice", "rename", "lookalike", "short", "space"}


def test_an_empty_query_finds_every_event(corpus: Corpus) -> None:
    assert corpus.find("") == ALL


def test_user_name_matches_whole_names_ignoring_case(corpus: Corpus) -> None:
    assert corpus.find("user.name:bob") == {"invoice", "globex", "short"}
    assert corpus.find("user.name:BOB") == {"invoice", "globex", "short"}
    assert corpus.find("user.name:bo") == set()


def test_client_matches_ignoring_case(corpus: Corpus) -> None:
    assert corpus.find("wallwatch.client:ACME") == ACME_FILES
    assert corpus.find("wallwatch.client:globex") == {"globex"}


def test_user_wildcards_ignore_case_too(corpus: Corpus) -> None:
    assert corpus.find("user.name:B*") == {"invoice", "globex", "short"}
    assert corpus.find("user.name:?ave") == {"lookalike"}


def test_other_text_fields_match_exactly_and_with_case(corpus: Corpus) -> None:
    assert corpus.find("event.action:rename") == {"rename"}
    assert corpus.find("event.action:RENAME") == set()
    assert corpus.find("event.action:logon-*") == {"logon"}
    assert corpus.find("source.ip:10.0.0.5") == {"invoice", "globex"}
    assert corpus.find("related.ip:192.0.2.7") == {"logon"}
    assert corpus.find("related.user:ALICE") == {"rename"}


def test_file_path_exact_matches_one_path(corpus: Corpus) -> None:
    assert corpus.find("file.path:/srv/share/clients/acme/2024年发票汇总.xlsx") == {"invoice"}
    assert corpus.find("file.path:/srv/share/clients/acme") == set()


def test_file_path_wildcards_are_case_sensitive_globs(corpus: Corpus) -> None:
    assert corpus.find("file.path:/srv/*/acme/*") == ACME_FILES
    assert corpus.find("file.path:/srv/*/ACME/*") == set()
    assert corpus.find("file.path:*Q1?report*") == {"globex", "lookalike"}
    assert corpus.find("file.path:*.pd?") == {"globex", "lookalike", "short"}


def test_file_path_wildcards_shorter_than_three_characters_still_match(corpus: Corpus) -> None:
    assert corpus.find("file.path:*发票*") == {"invoice", "short", "space"}
    assert corpus.find("file.path:*单*") == {"space"}


def test_escaped_star_and_brackets_in_a_path_pattern_are_literal(corpus: Corpus) -> None:
    assert corpus.find(r"file.path:*/a\*b*") == {"star"}
    assert corpus.find("file.path:*[v2]*") == {"star"}
    assert corpus.find("file.path:*/a?b*") == {"star"}


def test_a_quoted_path_value_is_literal_even_with_a_star(corpus: Corpus) -> None:
    assert corpus.find('file.path:"/srv/share/clients/initech/a*b [v2].txt"') == {"star"}
    assert corpus.find('file.path:"/srv/*"') == set()


def test_target_path_finds_renames_by_their_new_name(corpus: Corpus) -> None:
    assert corpus.find("file.target_path:*final*") == {"rename"}
    assert corpus.find("file.target_path:*") == {"rename"}


def test_file_name_is_the_last_path_component(corpus: Corpus) -> None:
    assert corpus.find("file.name:draft.docx") == {"rename"}
    assert corpus.find("file.name:发票.pdf") == {"short"}
    assert corpus.find("file.name:*.pdf") == {"globex", "lookalike", "short"}
    assert corpus.find("file.name:acme") == set()
    assert corpus.find("file.name:*acme*") == set()


def test_file_directory_is_the_folder_holding_the_file(corpus: Corpus) -> None:
    assert corpus.find("file.directory:/srv/share/clients/acme") == ACME_FILES - {"space"}
    assert corpus.find("file.directory:/srv/share/clients/acme/") == ACME_FILES - {"space"}
    assert corpus.find("file.directory:/srv/share/clients") == set()
    assert corpus.find("file.directory:/srv/*/initech") == {"percent", "star"}
    assert corpus.find('file.directory:"/srv/share/clients/acme/2024年 发票"') == {"space"}


def test_free_text_finds_a_chinese_substring_of_a_file_name(corpus: Corpus) -> None:
    assert corpus.find("发票汇总") == {"invoice"}
    assert corpus.find("发票") == {"invoice", "short", "space"}
    assert corpus.find("票") == {"invoice", "short", "space"}


def test_a_phrase_keeps_its_space(corpus: Corpus) -> None:
    assert corpus.find('"2024年 发票"') == {"space"}
    assert corpus.find("2024年 发票") == {"invoice", "space"}


def test_free_text_also_searches_rename_targets_and_user_names(corpus: Corpus) -> None:
    assert corpus.find("final") == {"rename"}
    assert corpus.find("caro") == {"logon"}


def test_free_text_ignores_ascii_case(corpus: Corpus) -> None:
    assert corpus.find("DRAFT") == {"rename"}


def test_free_text_treats_like_metacharacters_literally(corpus: Corpus) -> None:
    assert corpus.find("q1_report") == {"globex"}
    assert corpus.find("100%done") == {"percent"}
    assert corpus.find("0%d") == {"percent"}
    assert corpus.find("_") == {"globex"}


def test_free_text_wildcards(corpus: Corpus) -> None:
    assert corpus.find("q1*report") == {"globex", "lookalike"}
    assert corpus.find(r"a\*b") == {"star"}


def test_and_or_not_combine(corpus: Corpus) -> None:
    assert corpus.find("user.name:bob AND wallwatch.client:acme") == {"invoice", "short"}
    assert corpus.find("user.name:alice OR user.name:carol") == {"rename", "logon"}
    assert corpus.find("NOT wallwatch.client:acme") == ALL - ACME_FILES
    assert corpus.find("-user.name:bob -user.name:alice") == ALL - {
        "invoice", "globex", "short", "rename"}


def test_and_binds_tighter_than_or_in_results(corpus: Corpus) -> None:
    query = "user.name:alice OR user.name:bob wallwatch.client:globex"
    assert corpus.find(query) == {"rename", "globex"}
    query = "(user.name:alice OR user.name:bob) wallwatch.client:acme"
    assert corpus.find(query) == {"rename", "invoice", "short"}


def test_not_binds_tighter_than_and_in_results(corpus: Corpus) -> None:
    assert corpus.find("NOT user.name:bob wallwatch.client:acme") == {
        "rename", "lookalike", "space"}


def test_not_finds_events_where_the_field_is_absent(corpus: Corpus) -> None:
    assert corpus.find("NOT file.path:*") == {"logon"}
    assert corpus.find("-wallwatch.assigned:true") == {"rename", "globex", "logon", "lookalike"}
    assert corpus.find("NOT NOT wallwatch.off_hours:true") == {"globex"}


def test_boolean_fields_match_true_false_and_known(corpus: Corpus) -> None:
    assert corpus.find("wallwatch.assigned:false") == {"rename", "globex"}
    assert corpus.find("wallwatch.assigned:true") == {"invoice", "percent", "short", "star",
                                                      "space"}
    assert corpus.find("wallwatch.assigned:*") == ALL - {"logon", "lookalike"}
    assert corpus.find("wallwatch.off_hours:true") == {"globex"}


def test_numeric_fields_match_exactly_and_by_comparison(corpus: Corpus) -> None:
    assert corpus.find("source.port:50123") == {"logon"}
    assert corpus.find("source.port:>50000") == {"logon"}
    assert corpus.find("source.port:<50123") == set()
    assert corpus.find("source.port:<=50123") == {"logon"}
    assert corpus.find("wallwatch.count:>=2") == {"star"}
    assert corpus.find("source.port:501*") == {"logon"}


def test_numbers_beyond_64_bits_compare_instead_of_failing(corpus: Corpus) -> None:
    huge = "9" * 30
    assert corpus.find(f"source.port:{huge}") == set()
    assert corpus.find(f"source.port:<{huge}") == {"logon"}
    assert corpus.find(f"winlog.event_id:<{huge}") == {"logon"}
    assert corpus.find(f"winlog.event_id:-{huge}") == set()


def test_source_fields_are_found_in_the_json_extra(corpus: Corpus) -> None:
    assert corpus.find("samba.operation:renameat") == {"rename"}
    assert corpus.find("samba.operation:*re*") == {"invoice", "rename"}
    assert corpus.find("samba.operation:*") == {"invoice", "rename"}
    assert corpus.find("NOT samba.operation:*") == ALL - {"invoice", "rename"}
    assert corpus.find("winlog.event_data.LogonType:3") == {"logon"}


def test_json_numbers_and_numeric_strings_both_match_a_number(corpus: Corpus) -> None:
    assert corpus.find("winlog.event_id:4625") == {"logon"}
    assert corpus.find("winlog.event_id:4663") == {"percent"}
    assert corpus.find("winlog.event_id:46*") == {"logon", "percent"}
    assert corpus.find("winlog.event_id:>4000") == {"logon"}


def test_a_json_list_matches_when_any_item_does(corpus: Corpus) -> None:
    assert corpus.find("tags.list:q1") == {"lookalike"}
    assert corpus.find("tags.list:aud*") == {"lookalike"}


def test_since_is_inclusive_and_until_exclusive(corpus: Corpus) -> None:
    found = corpus.find("", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5))
    assert found == {"globex", "logon", "lookalike"}


def test_results_are_newest_first_and_limited(corpus: Corpus) -> None:
    assert corpus.names("", limit=3) == ["space", "star", "short"]
    assert corpus.names("", limit=2, newest_first=False) == ["invoice", "rename"]
    assert corpus.names("wallwatch.client:acme") == ["space", "short", "lookalike", "rename",
                                                     "invoice"]


def test_search_returns_the_stored_events_whole(corpus: Corpus) -> None:
    [found] = search(corpus.store, "file.target_path:*final.docx", limit=10)
    assert found == EVENTS["rename"]


def test_a_limit_below_one_is_a_programming_error(corpus: Corpus) -> None:
    with pytest.raises(ValueError):
        search(corpus.store, "", limit=0)


def test_search_raises_query_errors_from_the_parser(corpus: Corpus) -> None:
    with pytest.raises(QueryError):
        search(corpus.store, "user.name:(bob", limit=10)


@pytest.mark.parametrize("negate", ["NOT ", "-", ""])
def test_the_deepest_nesting_allowed_still_fits_sqlites_parser(corpus: Corpus,
                                                               negate: str) -> None:
    # SQLite 3.40's parser stack holds 100 entries; naive SQL for this overflows
    heavy = "file.directory:/srv/*/acme"
    query = heavy
    for level in range(50 if not negate else 25):
        op = "OR" if level % 2 else "AND"
        query = f"({heavy} {op} {negate}{query})"
    assert corpus.find(query) <= ALL


@pytest.mark.parametrize("field", sorted(KNOWN_FIELDS))
def test_every_known_field_compiles_to_sql_the_store_accepts(corpus: Corpus, field: str) -> None:
    corpus.find(f"{field}:*")
    value = {"int": "1", "bool": "true"}.get(KNOWN_FIELDS[field].type, "x")
    corpus.find(f"{field}:{value}")


@pytest.mark.parametrize("value", [
    "bob' OR 1=1 --", "bob\" OR \"1\"=\"1", "') OR 1=1; DROP TABLE events; --", "%", "*",
    "\\", "bob' --",
])
def test_quotes_and_sql_in_a_quoted_value_are_just_text(corpus: Corpus, value: str) -> None:
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert corpus.find(f"user.name:{quoted}") == set()
    assert corpus.find(f"samba.operation:{quoted}") == set()
    assert corpus.find(f"file.path:{quoted}") == set()
    assert corpus.store.count() == len(EVENTS)


def test_sql_in_an_unquoted_query_is_a_query_error_or_finds_nothing(corpus: Corpus) -> None:
    for query in ("user.name:bob' OR 1=1 --", "user.name:bob'); DROP TABLE events; --",
                  "user.name:bob' OR '1'='1"):
        with contextlib.suppress(QueryError):
            assert corpus.find(query) == set()
    assert corpus.store.count() == len(EVENTS)


def test_user_values_only_ever_reach_sql_as_parameters() -> None:
    quoted = _quote("zz'q\"uote")
    for query in (f"user.name:{quoted}", "file.path:*zz'q*", quoted, "zz'q",
                  f"samba.operation:{quoted}", "samba.operation:zz'q*", f"file.name:{quoted}",
                  "file.directory:/zz'q*", "user.name:zz'q*", "event.action:zz'q*"):
        sql, params = compile_where(parse_query(query))
        assert "zz" not in sql
        assert "'q" not in sql
        assert any("zz" in str(p) for p in params)


def _fold(text: str) -> str:
    """Lowercase ASCII only, as SQLite's LIKE and NOCASE do."""
    return text.translate({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TEXT = st.text(
    alphabet=st.one_of(st.characters(exclude_categories=("Cc", "Cs")),
                       st.sampled_from("'\"\\%_*?[]:()-发票aAbB/ .")),
    min_size=1, max_size=12)


_FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # the module-scoped store is read only


@settings(max_examples=150, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(value=_TEXT)
def test_a_quoted_value_means_exactly_that_text(corpus: Corpus, value: str) -> None:
    users = {n for n, e in EVENTS.items() if e.user_name and _fold(e.user_name) == _fold(value)}
    assert corpus.find(f"user.name:{_quote(value)}") == users
    substring = {n for n, e in EVENTS.items()
                 if any(_fold(value) in _fold(text or "")
                        for text in (e.file_path, e.file_target_path, e.user_name))}
    assert corpus.find(_quote(value)) == substring


@settings(max_examples=300, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from([
    "a", "发票", " ", "(", ")", '"', "\\", ":", "*", "?", "-", ">", "<=", "'", "%", "_", "[",
    "AND", "OR", "NOT", "user.name", "file.path", "file.name", "file.directory", "x.y",
    "source.port", "wallwatch.assigned", "true", "1", ";", "--", "9" * 25, ".5", "winlog.x"]),
    max_size=25).map("".join)))
def test_any_text_searches_or_raises_a_query_error(corpus: Corpus, text: str) -> None:
    try:
        result = search(corpus.store, text, limit=5)
    except QueryError:
        return
    except sqlite3.Error as err:  # pragma: no cover - the failure we guard against
        pytest.fail(f"{text!r} reached SQLite as bad SQL: {err}")
    assert len(result) <= 5

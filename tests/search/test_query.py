"""The query language: what parses to what, and where errors point."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import QueryError
from monitor.search import And, Not, Or, Term, parse_query
from monitor.search.query import MATCH_ALL, MAX_LENGTH, MAX_TERMS


def t(field: str | None, value: str, kind: str = "exact") -> Term:
    return Term(field, value, kind)  # type: ignore[arg-type]


def test_a_field_term_is_field_colon_value() -> None:
    assert parse_query("user.name:bob") == t("user.name", "bob")
    assert parse_query("wallwatch.client:acme") == t("wallwatch.client", "acme")


def test_a_term_records_the_column_where_it_starts() -> None:
    node = parse_query("a  user.name:bob")
    assert isinstance(node, And)
    assert [item.col for item in node.items if isinstance(item, Term)] == [1, 4]


def test_adjacent_terms_are_anded_like_explicit_and() -> None:
    expected = And((t("user.name", "bob"), t("event.action", "rename")))
    assert parse_query("user.name:bob event.action:rename") == expected
    assert parse_query("user.name:bob AND event.action:rename") == expected


def test_and_binds_tighter_than_or() -> None:
    assert parse_query("a OR b c") == Or((t(None, "a"), And((t(None, "b"), t(None, "c")))))
    assert parse_query("a b OR c") == Or((And((t(None, "a"), t(None, "b"))), t(None, "c")))


def test_not_binds_tighter_than_and() -> None:
    assert parse_query("NOT a b") == And((Not(t(None, "a")), t(None, "b")))


def test_parentheses_override_precedence() -> None:
    assert parse_query("(a OR b) c") == And((Or((t(None, "a"), t(None, "b"))), t(None, "c")))
    assert parse_query("NOT (a b)") == Not(And((t(None, "a"), t(None, "b"))))


def test_a_leading_minus_negates_a_term_or_group() -> None:
    assert parse_query("-user.name:bob") == Not(t("user.name", "bob"))
    assert parse_query("-(a OR b)") == Not(Or((t(None, "a"), t(None, "b"))))
    assert parse_query('-"x y"') == Not(t(None, "x y", "phrase"))


def test_a_minus_inside_a_word_is_just_a_character() -> None:
    assert parse_query("event.action:logon-failed") == t("event.action", "logon-failed")


def test_lowercase_keywords_are_ordinary_words() -> None:
    assert parse_query("a or b") == And((t(None, "a"), t(None, "or"), t(None, "b")))


def test_an_empty_or_blank_query_matches_everything() -> None:
    assert parse_query("") == MATCH_ALL
    assert parse_query("  \t ") == MATCH_ALL


def test_a_quoted_phrase_keeps_spaces_and_unescapes_quote_and_backslash() -> None:
    assert parse_query('"2024年 发票"') == t(None, "2024年 发票", "phrase")
    assert parse_query(r'"say \"hi\" C:\\x \n"') == t(None, 'say "hi" C:\\x \\n', "phrase")


def test_a_field_takes_a_quoted_value_literally() -> None:
    assert parse_query('file.path:"/srv/a b/*.txt"') == t("file.path", "/srv/a b/*.txt", "phrase")


def test_star_and_question_mark_make_a_wildcard_pattern() -> None:
    assert parse_query("file.path:/srv/*/acme/?.txt") == t(
        "file.path", "/srv/*/acme/?.txt", "wildcard")


def test_escaped_star_is_literal_and_stays_escaped_in_a_pattern() -> None:
    assert parse_query(r"file.path:/a\*b") == t("file.path", "/a*b")
    assert parse_query(r"file.path:/a\*b*") == t("file.path", r"/a\*b*", "wildcard")


def test_escapes_let_a_word_hold_spaces_parens_and_colons() -> None:
    assert parse_query(r"a\ \(b\)\:c") == t(None, "a (b):c")


def test_a_quoted_keyword_is_a_phrase_not_an_operator() -> None:
    assert parse_query('"AND"') == t(None, "AND", "phrase")


def test_backslashes_before_ordinary_characters_stay_so_windows_paths_work() -> None:
    assert parse_query(r"winlog.event_data.ObjectName:C:\Share\x") == t(
        "winlog.event_data.ObjectName", r"C:\Share\x")


def test_a_word_whose_colon_prefix_is_not_a_field_name_is_free_text() -> None:
    assert parse_query("10.0.0.5:445") == t(None, "10.0.0.5:445")


def test_a_value_may_contain_colons() -> None:
    assert parse_query("source.ip:fe80::1") == t("source.ip", "fe80::1")


def test_boolean_values_are_normalised_to_lowercase() -> None:
    assert parse_query("wallwatch.assigned:FALSE") == t("wallwatch.assigned", "false")


def test_numeric_fields_take_comparisons() -> None:
    assert parse_query("source.port:>=1024") == t("source.port", "1024", "ge")
    assert parse_query("winlog.event_id:<4700") == t("winlog.event_id", "4700", "lt")


def test_unknown_dotted_names_are_fields_of_a_source() -> None:
    assert parse_query("samba.operation:renameat") == t("samba.operation", "renameat")


@pytest.mark.parametrize(("query", "col", "message", "hint"), [
    ("(user.name:bob", 1, "unbalanced '('", "')'"),
    ("a (b (c) d", 3, "unbalanced '('", "')'"),
    ("user.name:bob)", 14, "unbalanced ')'", "'('"),
    (")", 1, "unbalanced ')'", "'('"),
    ("( )", 3, "empty parentheses", "term"),
    ("a AND", 3, "AND has nothing after it", "AND"),
    ("(a OR) b", 4, "OR has nothing after it", "OR"),
    ("OR a", 1, "OR has nothing before it", "OR"),
    ("(AND a)", 2, "AND has nothing before it", "AND"),
    ("a OR OR b", 6, "OR cannot follow OR", "between"),
    ("NOT", 1, "NOT has nothing after it", "NOT"),
    ("a - b", 3, "'-' must be followed", "\\-"),
    ("user.nmae:bob", 1, "unknown field 'user.nmae'", "user.name"),
    ("a user:bob", 3, "unknown field 'user'", "user.name"),
    ("client:acme", 1, "unknown field 'client'", "wallwatch.client"),
    ("wallwatch.clinet:acme", 1, "unknown field", "wallwatch.client"),
    ("@timestamp:2024", 1, "unknown field", "--since"),
    ("user.name:", 10, "empty value for user.name", "no space"),
    ("user.name: bob", 10, "empty value for user.name", "no space"),
    ("user.name:(a OR b)", 10, "empty value", "(user.name:a OR user.name:b)"),
    ('user.name:""', 11, "empty value for user.name", "quotes"),
    ('a ""', 3, "empty phrase", "quotes"),
    ('a "2024年 发票', 3, "unterminated quote", '\\"'),
    ('user.name:"bob', 11, "unterminated quote", '\\"'),
    ('"a \\"', 1, "unterminated quote", '\\"'),
    ("wallwatch.assigned:maybe", 20, "true or false", "wallwatch.assigned:true"),
    ("wallwatch.assigned:tr*", 20, "true or false", "wallwatch.assigned:*"),
    ("source.port:abc", 13, "whole numbers", "source.port:445"),
    ("user.name:>3", 11, "cannot be compared", "numeric"),
    ("source.port:>=x1", 15, ">= needs a number", "source.port:>=10"),
    ("ab\x00c", 3, "control character U+0000", "remove"),
    ("a\x1b[31m", 2, "control character U+001B", "remove"),
])
def test_mistakes_raise_query_error_pointing_at_the_offending_column(
        query: str, col: int, message: str, hint: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    err = caught.value
    assert (err.path, err.line, err.col) == ("<query>", 1, col)
    assert message in err.message
    assert err.hint is not None and hint in err.hint
    assert str(err).startswith(f"<query>:1:{col}: ")


def test_nesting_deeper_than_fifty_is_refused_at_the_fifty_first_level() -> None:
    parse_query("(" * 50 + "a" + ")" * 50)
    with pytest.raises(QueryError) as caught:
        parse_query("(" * 51 + "a" + ")" * 51)
    assert caught.value.col == 51
    with pytest.raises(QueryError) as caught:
        parse_query("NOT " * 51 + "a")
    assert caught.value.col == 201
    with pytest.raises(QueryError) as caught:
        parse_query("-" * 60 + "a")
    assert caught.value.col == 51


def test_a_query_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("a" * (MAX_LENGTH + 1))
    assert caught.value.col == MAX_LENGTH + 1


def test_too_many_terms_are_refused_at_the_first_one_over() -> None:
    parse_query("a " * MAX_TERMS)
    with pytest.raises(QueryError) as caught:
        parse_query("a " * (MAX_TERMS + 1))
    assert caught.value.col == 2 * MAX_TERMS + 1


_SYNTAX = st.sampled_from([
    "a", "发票", " ", "  ", "(", ")", '"', "\\", ":", "*", "?", "-", "<", ">=", "=", "'", "%", "_",
    "AND", "OR", "NOT", "user.name", "file.path", "wallwatch.assigned", "true", "x.y", "1",
    ";", "--", "/*", "\t", "\x00", "\u202e",
])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_SYNTAX, max_size=30).map("".join)))
def test_any_text_either_parses_or_raises_a_located_query_error(text: str) -> None:
    try:
        parse_query(text)
    except QueryError as err:
        assert err.col is not None and 1 <= err.col <= len(text) + 1

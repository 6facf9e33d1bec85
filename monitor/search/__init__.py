"""`wallwatch search`: a small query language over the local event log."""

from monitor.search.output import format_json_lines, format_table
from monitor.search.query import And, Node, Not, Or, Term, parse_query
from monitor.search.sql import compile_where, search

__all__ = [
    "And",
    "Node",
    "Not",
    "Or",
    "Term",
    "compile_where",
    "format_json_lines",
    "format_table",
    "parse_query",
    "search",
]

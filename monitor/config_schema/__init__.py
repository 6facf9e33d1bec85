"""The schema of wallwatch.yaml: every section and key, with type, default, allowed
values, a one-line description and an example.

The readers take the keys they accept from here (`section("elasticsearch.auth")`),
`wallwatch config docs` renders it as docs/CONFIGURATION.md, and the tests load
every example through the readers. To add a key: document it here first.
"""

from __future__ import annotations

from monitor.config_schema import assignments, core, sinks, sources
from monitor.config_schema.model import NOTHING, Key, OneOf, Section, sections, walk

__all__ = ["NOTHING", "ROOT", "Key", "OneOf", "Section", "section", "sections", "walk"]


def _top(sub: Section, type_: str, doc: str, default_doc: str | None = None) -> Key:
    return Key(sub.name, type_, doc, section=sub, default_doc=default_doc)


ROOT = Section("wallwatch.yaml", "The top level: one key per section.", (
    _top(core.HOST, "mapping", "This storage host."),
    core.TIMEZONE,
    _top(core.STORE, "mapping", "The local event log."),
    _top(sources.SOURCES, "list", "The logs and folders this host reads.", "none"),
    _top(core.CLIENTS, "mapping", "Where client folders are."),
    _top(core.SHARES, "mapping", "Samba share names and their folders.", "none"),
    _top(core.STAFF, "mapping", "Who is assigned to which clients.", "nobody"),
    _top(core.RULES, "mapping", "Which rules run."),
    _top(core.CALENDAR, "mapping", "Working days and hours, holidays."),
    _top(sinks.ELASTICSEARCH, "mapping", "Shipping to Elasticsearch.", "off"),
    _top(sinks.NOTIFY, "mapping", "Notifications to people.", "off"),
    _top(core.METRICS, "mapping", "Prometheus metrics."),
    _top(assignments.ASSIGNMENTS, "list", "Assignment providers: LDAP, groups, CSV.", "none"),
    _top(core.SIGMA, "mapping", "Sigma rule field mappings."),
))

_BY_NAME: dict[str, Section] = {s.name: s for s in sections(ROOT)}


def section(name: str) -> Section:
    """A section by its dotted name: "store", "notify.routes", "sources[samba]"."""
    return _BY_NAME[name]

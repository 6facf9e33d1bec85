"""The schema as Markdown: docs/CONFIGURATION.md, written by `wallwatch config docs`.

The output depends on the schema only (not on the machine, the time or a config
file), so the checked-in reference can be compared with a fresh rendering.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.config_schema import ROOT
from monitor.config_schema.examples import compose, document, inline, to_yaml, variant_item
from monitor.config_schema.model import NOTHING, Key, Section

REGENERATE = "wallwatch config docs --output docs/CONFIGURATION.md"

INTRO = f"""\
# Configuration reference

<!-- Generated from monitor/config_schema/ by `{REGENERATE}`.
     Do not edit: change the schema and run the command again. -->

Wallwatch reads one YAML file: `/etc/wallwatch/wallwatch.yaml`, or the file given
with `-c FILE` or `$WALLWATCH_CONFIG`. `wallwatch config check` validates it; an
error names `file:line:col`, and for a misspelt key the keys allowed there. The
daemon reads the file again on SIGHUP and keeps running with the old one if the
new one is wrong.

- Relative paths are relative to the folder the config file is in.
- Secrets (Elasticsearch credentials, the LDAP password, notification URLs) come
  from files or environment variables; the config only names them.
- Durations are a number and a unit: `90s`, `15m`, `24h`, `7d`, `2w`.
- Dates are `YYYY-MM-DD`. Quote times (`"09:00-18:00"`): unquoted, YAML 1.1 reads
  `9:00` as a number. Unquoted `yes`, `no`, `on`, `off` are true and false.
- A key written twice in one mapping is an error, not a silent overwrite.
- A section that is absent takes the defaults below; `elasticsearch`, `notify`
  and `assignments` are off when absent.
"""


def render() -> str:
    parts = [INTRO, _contents(), _top_level()]
    for key in ROOT.keys:
        if key.section is not None:
            parts.append(_section(key, key.section))
    parts.append("## A complete example\n\nEvery key above, with its example value "
                 "(the alternatives of keys that exclude each other are in the tables).\n\n"
                 + _yaml(document(ROOT)))
    return "\n".join(parts)


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def _contents() -> str:
    lines = ["## Contents\n", "- [Top level](#top-level)"]
    for key in ROOT.keys:
        if key.section is not None:
            lines.append(f"- [`{key.name}`](#{anchor(key.name)})")
    lines.append("- [A complete example](#a-complete-example)")
    return "\n".join(lines) + "\n"


def _top_level() -> str:
    rows = ["## Top level\n", "| Key | Type | Default | Description | Example |",
            "| --- | --- | --- | --- | --- |"]
    for key in ROOT.keys:
        name = f"[`{key.name}`](#{anchor(key.name)})" if key.section else f"`{key.name}`"
        example = "see below" if key.section else _code(key.example)
        rows.append(f"| {name} | {_type(key)} | {_default(key)} | {_cell(key.doc)} | "
                    f"{example} |")
    return "\n".join(rows) + "\n"


def _section(top: Key, section: Section) -> str:
    out = [f"## `{top.name}`\n", section.doc + "\n", _table(section)]
    if section.variants:
        for variant in section.variants:
            merged = section.variant(variant.name)
            own = Section(merged.name, variant.doc, variant.keys, one_of=variant.one_of,
                          any_of=variant.any_of)
            out.append(f"### `{top.name}` of type `{variant.name}`\n")
            out.append(variant.doc + "\n")
            out.append(_table(own))
            out.extend(_nested(own))
            out.append(_yaml({top.name: [variant_item(section, variant.name)]}))
    else:
        out.extend(_nested(section))
        out.append(_yaml({top.name: compose(section)}))
    return "\n".join(out)


def _nested(section: Section) -> list[str]:
    out: list[str] = []
    for key in section.keys:
        if key.section is not None:
            out.append(f"### `{key.section.name}`\n")
            out.append(key.section.doc + "\n")
            out.append(_table(key.section))
            out.extend(_nested(key.section))
    return out


def _table(section: Section) -> str:
    rows = ["| Key | Type | Default | Description | Example |",
            "| --- | --- | --- | --- | --- |"]
    for key in section.keys:
        example = "see below" if key.example is NOTHING else _code(key.example)
        rows.append(f"| `{key.name}` | {_type(key)} | {_default(key)} | {_cell(key.doc)} | "
                    f"{example} |")
    notes = [choice.text() for choice in section.one_of]
    if section.any_of:
        notes.append("Give at least one of: " + ", ".join(f"`{k}`" for k in section.any_of)
                     + ".")
    return "\n".join(rows) + "\n" + "".join(f"\n{note}\n" for note in notes)


def _type(key: Key) -> str:
    if key.choices:
        return f"{_cell(key.type)}: " + ", ".join(f"`{c}`" for c in key.choices)
    return _cell(key.type)


def _default(key: Key) -> str:
    if key.required:
        return "**required**"
    if key.has_default:
        return _code(key.default)
    if key.default_doc is not None:
        return _cell(key.default_doc)
    if key.section is not None and key.section.kind == "mapping":
        return "see below"  # each of its keys has its own default
    return "—"


def _code(value: Any) -> str:
    return f"`{_cell(inline(value))}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _yaml(value: Any) -> str:
    return f"```yaml\n{to_yaml(value)}```\n"


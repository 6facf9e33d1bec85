"""The fenced code blocks of a quick start, with the test markers that precede them.

A marker is an HTML comment on the line(s) just before a fence (Markdown renders nothing
for it), e.g. `<!-- test: internet -->` or `<!-- test: until="wall.cross-client-access" -->`.
What each marker means is in test_quickstart.py's docstring. Comments inside the blocks are
the only part a translation changes, so `same_code()` compares blocks without them.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MARKER = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->\s*$")
_OPTION = re.compile(r'([a-z-]+)(?:="([^"]*)"|=(\S+))?')
KNOWN = {"internet", "systemd", "kernel-audit", "until", "append", "output", "cluster"}


@dataclass(frozen=True)
class Block:
    lang: str  # sh, yaml, text
    code: str
    line: int  # of the opening fence, 1-based
    markers: dict[str, str] = field(default_factory=dict)

    def where(self, doc: Path) -> str:
        return f"{doc.name}:{self.line}"


def parse_markers(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in _OPTION.finditer(text):
        name = match.group(1)
        if name not in KNOWN:
            raise ValueError(f"unknown test marker {name!r} (known: {', '.join(sorted(KNOWN))})")
        out[name] = match.group(2) if match.group(2) is not None else (match.group(3) or "")
    return out


def blocks(path: Path) -> list[Block]:
    out: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    pending: dict[str, str] = {}
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line)
        if marker:
            pending.update(parse_markers(marker.group(1)))
        elif line.startswith("```"):
            lang, start, body = line[3:].strip(), i + 1, []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"{path.name}:{start}: code block never closed")
            if not lang:
                raise ValueError(f"{path.name}:{start}: say the block's language (sh, yaml, "
                                 "text)")
            out.append(Block(lang, "\n".join(body) + "\n", start, pending))
            pending = {}
        elif line.strip() and pending:
            raise ValueError(f"{path.name}:{i + 1}: a test marker must come right before its "
                             "code block")
        i += 1
    return out


def without_comments(block: Block) -> Any:
    """What a block does, translation aside: shell words without comments, YAML data.
    Output shown in text blocks is the program's and stays as it is."""
    if block.lang == "sh":
        lexer = shlex.shlex(block.code, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    if block.lang == "yaml":
        return yaml.safe_load(block.code)
    return block.code


def same_code(a: list[Block], b: list[Block]) -> list[str]:
    """Differences between two translations' blocks (empty when they do the same)."""
    problems: list[str] = []
    if len(a) != len(b):
        problems.append(f"{len(a)} code blocks against {len(b)}")
    for x, y in zip(a, b, strict=False):
        if (x.lang, x.markers) != (y.lang, y.markers):
            problems.append(f"line {x.line} ({x.lang} {x.markers}) against line {y.line} "
                            f"({y.lang} {y.markers})")
        elif without_comments(x) != without_comments(y):
            problems.append(f"line {x.line} against line {y.line}: the code differs")
    return problems

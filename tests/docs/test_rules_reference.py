"""docs/RULES.md against the code it describes.

Its YAML blocks are the example files under docs/examples/ byte for byte; the examples
pass the real `wallwatch rules test`, each with cases that must and must not fire; its
console blocks show what the real commands print; and every rule kind, modifier and key
the loader accepts — read off the code, not listed here — is documented and used in an
example that runs.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from monitor.rules import condition, loader, testing
from monitor.rules.condition import KNOWN_FIELDS, MODIFIERS
from monitor.rules.kinds import STATES
from monitor.rules.loader import load_rules
from monitor.rules.model import KINDS
from monitor.rules.testing import find_test_files

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "RULES.md"
EXAMPLES = REPO / "docs" / "examples"
EXAMPLE_DIRS = ("rules", "rule-errors", "rule-test-failures")  # what RULES.md shows
RULES_DIR = EXAMPLES / "rules"  # the examples that must pass
SHOWN = re.compile(r"# (docs/examples/\S+)")


# -- reading the document -------------------------------------------------------------

def fenced_blocks(text: str) -> list[tuple[str, str, int]]:
    """(info string, body, line of the opening fence) of every ``` block."""
    blocks = []
    info: str | None = None
    body: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        if info is None and line.startswith("```"):
            info, body, start = line[3:].strip(), [], n
        elif info is not None and line.rstrip("\n") == "```":
            blocks.append((info, "".join(body), start))
            info = None
        elif info is not None:
            body.append(line)
    assert info is None, f"RULES.md: the block opened at line {start} is not closed"
    return blocks


def prose(text: str) -> str:
    """The document without its fenced blocks: where things are explained."""
    return re.sub(r"^```.*?^```$", "", text, flags=re.M | re.S)


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def example_files() -> set[str]:
    return {str(p.relative_to(REPO)) for d in EXAMPLE_DIRS for p in (EXAMPLES / d).rglob("*")
            if p.suffix in (".yaml", ".yml")}


# -- the real command line ------------------------------------------------------------

def cli() -> list[str]:
    script = Path(sys.executable).with_name("wallwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def run_cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # no config on purpose: rule commands then use the paths they are given, nothing else
    env = {**os.environ, "WALLWATCH_CONFIG": str(tmp_path / "absent.yaml")}
    return subprocess.run([*cli(), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


# -- what the code accepts --------------------------------------------------------------

def _tree(module: Any) -> ast.Module:
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


def loader_keys() -> set[str]:
    """Every key a rule file may hold: the loader's tables, the literal sets it passes to
    `_check_keys` (throttle, sequence steps, the file's top level), and the words a
    condition compares its keys with (`not`, `any`, `all`) or its value maps
    (`{list: NAME}`)."""
    keys = set(loader.COMMON).union(*loader.KIND_KEYS.values())
    literal: set[str] = set()
    for node in ast.walk(_tree(loader)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "_check_keys" and len(node.args) > 1
                and isinstance(node.args[1], ast.Set)):
            literal |= {str(e.value) for e in node.args[1].elts if isinstance(e, ast.Constant)}
    words: set[str] = set()
    for node in ast.walk(_tree(condition)):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            if any(isinstance(p, ast.Name) and p.id == "key" for p in parts):
                words |= {str(p.value) for p in parts
                          if isinstance(p, ast.Constant) and isinstance(p.value, str)}
            for p in parts:
                if isinstance(p, ast.Set):
                    words |= {str(e.value) for e in p.elts if isinstance(e, ast.Constant)}
    assert literal and words, "the loader's or the condition compiler's shape changed"
    return keys | literal | words


def rules_test_file_keys() -> set[str]:
    """Keys of a `rules test` file (`X.get("k")` / `X["k"]` in testing.py) and the alert
    fields `expect:` may name."""
    keys: set[str] = set()
    for node in ast.walk(_tree(testing)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            keys.add(node.args[0].value)
        if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            keys.add(node.slice.value)
        if isinstance(node, ast.FunctionDef) and node.name == "_alert_fields":
            for inner in ast.walk(node):
                if isinstance(inner, ast.Dict):
                    keys |= {str(k.value) for k in inner.keys if isinstance(k, ast.Constant)}
    assert {"rule", "cases"} <= keys, "testing.py's shape changed"
    return keys


def keys_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(map(str, node)).union(*(keys_in(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(keys_in(v) for v in node))
    return set()


def native_example_rules() -> list[Any]:
    """The parsed YAML of the example rule files in Wallwatch's own language."""
    out = []
    for path in sorted(RULES_DIR.glob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        if not re.search(r"^(detection|correlation|filter)\s*:", text, re.M):
            out.append(yaml.safe_load(text))
    return out


# -- the tests ----------------------------------------------------------------------------

def test_every_yaml_block_of_the_reference_is_its_example_file_byte_for_byte() -> None:
    yaml_blocks = [b for b in fenced_blocks(doc_text()) if b[0] in ("yaml", "yml")]
    assert len(yaml_blocks) >= 30
    problems = []
    for _, body, line in yaml_blocks:
        first = body.split("\n", 1)[0]
        named = SHOWN.match(first)
        if named is None:
            problems.append(f"RULES.md:{line}: a YAML block must start with '# docs/examples/…'"
                            f" naming its file, not {first!r}")
            continue
        path = REPO / named.group(1)
        if not path.is_file():
            problems.append(f"RULES.md:{line}: {named.group(1)} does not exist")
        elif path.read_bytes() != body.encode("utf-8"):
            problems.append(f"RULES.md:{line}: differs from {named.group(1)}")
    assert problems == []


def test_every_example_file_is_shown_in_the_reference() -> None:
    shown = {m.group(1) for _, body, _ in fenced_blocks(doc_text())
             if (m := SHOWN.match(body.split("\n", 1)[0]))}
    assert example_files() - shown == set()


def test_the_examples_pass_the_real_rules_test_command(tmp_path: Path) -> None:
    done = run_cli(["rules", "test", str(RULES_DIR.relative_to(REPO))], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    cases = sum(len(yaml.safe_load(f.read_text(encoding="utf-8"))["cases"])
                for f in find_test_files([RULES_DIR]))
    # every case ran (none skipped), plus nothing else: no coverage failure either
    assert f"rules test: {cases} passed, 0 failed" in done.stdout


def test_every_example_rule_has_cases_that_fire_and_cases_that_must_not() -> None:
    rules = {r.id: r for r in load_rules([RULES_DIR])}
    expected: dict[str, list[int]] = {}
    for path in find_test_files([RULES_DIR]):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        expected.setdefault(data["rule"], []).extend(c["alerts"] for c in data["cases"])
    assert set(expected) <= set(rules), "a test file names a rule that is not there"
    # a Sigma rule a correlation consumes is disabled: it may go without sample events
    assert {r for r in rules if rules[r].enabled} <= set(expected), "a rule without cases"
    for rule_id, counts in expected.items():
        if rules[rule_id].enabled:
            assert any(n > 0 for n in counts) and 0 in counts, rule_id
        else:  # a building block of a correlation never alerts: quiet cases only make sense
            assert counts and set(counts) == {0}, rule_id


def test_the_console_blocks_show_what_the_commands_print(tmp_path: Path) -> None:
    blocks = [b for b in fenced_blocks(doc_text()) if b[0] == "console"]
    assert len(blocks) >= 4
    for _, body, line in blocks:
        runs = re.split(r"^\$ ", body, flags=re.M)
        assert runs[0] == "", f"RULES.md:{line}: a console block starts with '$ wallwatch …'"
        for run in runs[1:]:
            command, _, expected = run.partition("\n")
            args = shlex.split(command)
            assert args[0] == "wallwatch", f"RULES.md:{line}: {command}"
            done = run_cli(args[1:], tmp_path)
            assert done.stdout + done.stderr == expected, f"RULES.md:{line}: $ {command}"


def test_the_reference_explains_every_kind_modifier_and_key_the_code_accepts() -> None:
    text = doc_text()
    explained = prose(text)
    headings = set(re.findall(r"^### `([a-z_]+)`$", text, re.M))
    assert set(KINDS) | set(STATES) <= headings
    assert {m for m in MODIFIERS if f"`|{m}`" not in explained} == set()
    assert {k for k in loader_keys() if f"`{k}`" not in explained} == set()
    assert {k for k in rules_test_file_keys() if f"`{k}`" not in explained} == set()


def test_the_examples_use_every_kind_modifier_and_key_the_loader_accepts() -> None:
    used = set().union(*(keys_in(doc) for doc in native_example_rules()))
    names = {k.split("|")[0] for k in used}
    modifiers = {m for k in used for m in k.split("|")[1:]}
    assert loader_keys() - names == set()
    assert MODIFIERS - modifiers == set()
    assert set(KINDS) | set(STATES) <= {r.kind for r in load_rules([RULES_DIR])}


def test_every_link_to_a_section_lands_on_a_heading() -> None:
    text = doc_text()
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", prose(text), re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) >= 10
    assert [a for a in links if a not in anchors] == []


def test_the_reference_lists_every_field_a_rule_may_name() -> None:
    explained = prose(doc_text())
    assert {f for f in KNOWN_FIELDS if f"`{f}`" not in explained} == set()

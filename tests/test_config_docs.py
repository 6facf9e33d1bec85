"""docs/CONFIGURATION.md is `wallwatch config docs`'s output, and every example in
it is a config the readers accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from monitor import config_schema as schema
from monitor.cli import main
from monitor.config_schema.examples import document, variant_count
from monitor.config_schema.markdown import REGENERATE, render
from monitor.config_schema.model import NOTHING, sections, walk
from tests.config_schema_support import nodes_at, provide_examples, read_everything, write

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "CONFIGURATION.md"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_the_checked_in_reference_is_what_config_docs_writes(tmp_path: Path) -> None:
    out = tmp_path / "CONFIGURATION.md"
    assert main(["config", "docs", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render()
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        f"docs/CONFIGURATION.md is stale: run `.venv/bin/{REGENERATE}` and commit it")


def test_config_docs_prints_the_reference_without_a_config_file(
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["-c", "/nonexistent/wallwatch.yaml", "config", "docs"]) == 0
    assert capsysbinary.readouterr().out.decode("utf-8") == render()


def test_every_yaml_example_in_the_reference_loads(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    provide_examples(tmp_path, monkeypatch)
    blocks = YAML_BLOCK.findall(REFERENCE.read_text(encoding="utf-8"))
    # one per section without types, one per source and provider type, the whole file
    assert len(blocks) >= len(schema.ROOT.keys)
    for block in blocks:
        read_everything(write(tmp_path, block))
    assert yaml.safe_load(blocks[-1]) == document(schema.ROOT)  # the complete example


def test_every_example_of_the_schema_is_in_a_document_that_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provide_examples(tmp_path, monkeypatch)
    docs = [document(schema.ROOT, alt) for alt in range(variant_count(schema.ROOT))]
    for doc in docs:
        read_everything(write(tmp_path, doc))
    common = {id(k) for s in sections(schema.ROOT) if s.variants for k in s.keys}
    for path, key in walk(schema.ROOT):
        if key.example is NOTHING or (key.name == "type" and path[-2].startswith("[")):
            continue  # a list item's `type` is the type whose keys it shows
        if path[-1:] == ("*",):  # an example of a names table is some of its entries
            assert any(isinstance(table, dict) and key.example.items() <= table.items()
                       for doc in docs for table in nodes_at(doc, path[:-1])), path
        else:
            if id(key) in common:  # shown once, in the first item of a list of types
                path = tuple("[]" if p.startswith("[") else p for p in path)
            assert any(key.example in nodes_at(doc, path) for doc in docs), (
                f"the example of {'.'.join(path)} is in no example document")

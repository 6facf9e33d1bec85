"""Every rule of the public Sigma corpus (shared/corpus/sigma) loads or is reported
with its reason, and each loaded rule fires on an event built from its own
detection and not on its near misses — compared, event by event, with a slow
reference evaluator of pySigma's condition tree (tests/rules/sigma/oracle.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rule_files
from monitor.rules.sigma import SigmaSet
from monitor.rules.sigma.convert import rule_id
from tests.rules.sigma.helpers import CORPUS, corpus_files, mapping_for, run, sigma_rules
from tests.rules.sigma.oracle import cases, oracle

DETECTION_FILES = [p.relative_to(CORPUS).as_posix() for p in
                   sorted(CORPUS.rglob("*.yml")) if "correlation" not in p.parts] \
    if CORPUS.exists() else []


def test_every_corpus_rule_loads_or_is_reported_with_a_reason(
        caplog: pytest.LogCaptureFixture) -> None:
    files = corpus_files()
    rules, errors = load_rule_files([CORPUS])
    detection = [p for p in files if "correlation" not in p.parts]
    assert len([r for r in rules if r.kind == "match"]) == len(detection) == 20
    assert all(r.enabled and r.ruleset == "sigma" for r in rules)
    # the four correlation files are the specification's schema examples: the rules
    # they name are not in the corpus, and each says so where it names them
    assert sorted(Path(e.path or "").name for e in errors) == [
        "event_count.yml", "temporal.yml", "temporal_ordered.yml", "value_count.yml"]
    for err in errors:
        assert "not among the loaded rules" in err.message and err.line and err.col


def test_corpus_rules_keep_level_tags_references_and_falsepositives() -> None:
    [rule] = [r for r in load_rule_files([CORPUS / "windows"])[0]
              if r.id == "b210394c-ba12-4f89-9117-44a2464b9511"]
    assert rule.title == "SMB Create Remote File Admin Share"
    assert rule.severity == "high"
    assert rule.tags == ("attack.lateral-movement", "attack.t1021.002", "T1021.002")
    assert rule.references[0].startswith("https://github.com/OTRF/")
    assert rule.falsepositives == ("Unknown",)
    [info] = [r for r in load_rule_files([CORPUS / "linux_auditd"])[0]
              if r.id == "1f358e2e-cb63-43c3-b575-dfb072a6814f"]
    assert info.severity == "low"  # level: informational


@pytest.mark.parametrize("name", DETECTION_FILES)
def test_corpus_rule_fires_on_its_own_detection_and_not_on_near_misses(name: str) -> None:
    path = CORPUS / name
    [compiled] = SigmaSet().add(path, path.read_text())
    [sigma] = sigma_rules(path)
    mapping = mapping_for(sigma)
    built = cases(sigma, mapping)
    assert built is not None, "no event could be built from the detection"
    hit, near = built
    assert len(run([compiled], [hit])) == 1, hit
    assert near, "no near miss could be built"
    misses = 0
    for case in near:
        expected = oracle(sigma, mapping, case.event)
        assert compiled.when.test(case.event) == expected, (case.name, case.event)
        misses += not expected
    assert misses >= 1


@pytest.mark.parametrize("name", DETECTION_FILES)
def test_compiled_rule_agrees_with_the_reference_on_every_other_corpus_rules_events(
        name: str) -> None:
    """Cross-check: the events built for every rule, run through this rule."""
    path = CORPUS / name
    [compiled] = SigmaSet().add(path, path.read_text())
    [sigma] = sigma_rules(path)
    mapping = mapping_for(sigma)
    for other in DETECTION_FILES:
        [other_sigma] = sigma_rules(CORPUS / other)
        built = cases(other_sigma, mapping_for(other_sigma))
        assert built is not None
        hit, near = built
        for ev in [hit] + [c.event for c in near]:
            assert compiled.when.test(ev) == oracle(sigma, mapping, ev), (other, ev)


def test_a_sigma_folder_next_to_wallwatch_rules_loads_both(tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "windows", tmp_path / "sigma")
    shipped = Path(__file__).resolve().parents[3] / "rules"
    rules, errors = load_rule_files([shipped, tmp_path / "sigma"])
    assert errors == []
    assert {r.ruleset for r in rules} == {"wallwatch", "sigma"}
    RuleEngine(rules)  # every kind has its state
    assert len({r.id for r in rules}) == len(rules)


def test_rule_ids_are_the_sigma_ids_or_names_or_the_file_name(tmp_path: Path) -> None:
    text = (CORPUS / "windows" / "win_security_admin_share_access.yml").read_text()
    (tmp_path / "a.yml").write_text(text.replace("id: 098d7118-55bc-4912-a836-dc6483a8d150\n",
                                                 "name: Admin_Share\n"))
    (tmp_path / "Odd File.yml").write_text(
        text.replace("id: 098d7118-55bc-4912-a836-dc6483a8d150\n", ""))
    rules, errors = load_rule_files([tmp_path])
    assert errors == []
    assert sorted(r.id for r in rules) == ["admin_share", "odd-file"]
    assert rule_id  # the function the loader uses, importable for reports

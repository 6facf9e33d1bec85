"""The public Windows Security events (shared/corpus/windows, OTRF) through our
Windows source parser and the Windows Sigma rules of the corpus: the matches are
pinned, rule by rule and line by line (1-based, as otrf_selected_provenance.tsv
numbers them)."""

from __future__ import annotations

from monitor.rules.loader import load_rules
from tests.rules.sigma.helpers import CORPUS, WINDOWS_EVENTS, corpus_files, run, winlog_events

SMB_CREATE_ADMIN_SHARE = "b210394c-ba12-4f89-9117-44a2464b9511"


def corpus_events() -> list:  # type: ignore[type-arg]
    corpus_files("windows")
    return winlog_events(WINDOWS_EVENTS.read_bytes().splitlines())


def test_which_corpus_events_each_windows_rule_matches() -> None:
    rules = load_rules([CORPUS / "windows"])
    events = corpus_events()
    assert len(rules) == 10 and len(events) == 22
    matches = {r.id: [n for n, ev in enumerate(events, 1) if r.when.test(ev)] for r in rules}
    # line 6: pgustavo writes ProgramData\GruntHTTP.exe through \\*\C$ with AccessMask 0x2
    # (Covenant's lateral movement); line 5 is the same file with 0x17019f, not 0x2
    assert {k: v for k, v in matches.items() if v} == {SMB_CREATE_ADMIN_SHARE: [6]}
    # near hits that must stay quiet: the failed logon (line 17) comes from ::1, which
    # the public-IP rule filters; its status 0xc000010b is not one of the odd reasons
    assert events[16].extra["winlog.event_data.IpAddress"] == "::1"


def test_the_corpus_gives_one_alert_with_its_evidence() -> None:
    events = corpus_events()
    [alert] = run(load_rules([CORPUS / "windows"]), events)
    assert alert.rule_id == SMB_CREATE_ADMIN_SHARE and alert.severity == "high"
    assert alert.event_ids == (events[5].id,)
    assert alert.user_name == "pgustavo" and alert.source_ip == "172.18.39.5"
    assert alert.file_path == "C:/ProgramData/GruntHTTP.exe"
    doc = alert.to_ecs()
    assert doc["rule"]["ruleset"] == "sigma"
    assert doc["threat"]["technique"] == [{"id": "T1021.002"}]
    assert doc["rule"]["reference"][0].startswith("https://github.com/OTRF/")
    assert doc["wallwatch"]["alert"]["falsepositives"] == ["Unknown"]

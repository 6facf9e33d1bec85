"""The public auditd logs (shared/corpus/auditd, from Elastic's go-libaudit) through
our auditd source and the corpus's auditd Sigma rules: what matches is pinned.
Real records show the mapping works on joined events: `type: PATH` + `name`
finds vim saving /etc/audit/rules.d/audit.rules (a SYSCALL event with PATH records)."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.rules.loader import load_rules
from tests.rules.sigma.helpers import CORPUS, corpus_files
from tests.sources.auditd_helpers import CORPUS as AUDITD
from tests.sources.auditd_helpers import parser, run_file, run_lines

AUDIT_CONFIG = "Auditing Configuration Changes on Linux Host"
PAM_KEYLOGGING = "Linux Keylogging with Pam.d"


def test_auditd_corpus_matches_are_pinned() -> None:
    corpus_files("linux_auditd")
    rules = load_rules([CORPUS / "linux_auditd"])
    found: list[tuple[str, str, object]] = []
    for path in sorted(AUDITD.glob("auparse_*.log")):
        for ev in run_file(path).events:
            found += [(path.name, r.title, ev.extra["auditd.sequence"])
                      for r in rules if r.when.test(ev)]
    for path in sorted(AUDITD.glob("aucoalesce_*.yaml")):
        for name, text in yaml.safe_load(path.read_text())["tests"].items():
            out = run_lines(parser(), [line.encode() for line in text.strip().splitlines()])
            found += [(path.name, r.title, f"{name}: {ev.file_path}")
                      for ev in out.events for r in rules if r.when.test(ev)]
    assert found == [
        # TTY input auditing records: the rule's own sign that pam_tty_audit is on
        ("auparse_testdata_audit-rhel7.log", PAM_KEYLOGGING, 1065045),
        ("auparse_testdata_audit-rhel7.log", PAM_KEYLOGGING, 1065050),
        ("auparse_testdata_audit-rhel7.log", PAM_KEYLOGGING, 1065565),
        ("aucoalesce_testdata_ubuntu-17.04-linux-4.10.0.yaml", AUDIT_CONFIG,
         "unlink syscall: /etc/audit/rules.d/.audit.rules.swp"),
        ("aucoalesce_testdata_ubuntu-17.04-linux-4.10.0.yaml", AUDIT_CONFIG,
         "rename syscall: /etc/audit/rules.d/audit.rules"),
    ]
    assert Path(AUDITD).exists()

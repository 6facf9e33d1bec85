"""docs/QUICKSTART.md and docs/zh-CN/QUICKSTART.md, run as written, each from the start on a
throw-away copy of a Debian storage host (tests/docs/quickstart_host.py): the real paths,
a real smbd with the [clients] share, Samba users alice and bob, this checkout unpacked at
/usr/local/src/wallwatch. Both pages must hold the same code blocks (comments aside).

Every block runs, as root, in /usr/local/src/wallwatch, one `bash -euo pipefail` each,
and must succeed. A marker (an HTML comment right before a block) says more:

  internet      it downloads (pip): it gets this machine's network; the rest of the host
                has only loopback, so ports are the documented ones (445, 9108, 9200 …)
  until="TEXT"  the daemon works asynchronously: the block is run again, for up to 90 s,
                until its output contains TEXT
  output        a text block showing part of the previous command's output: each line
                must be in that output (… stands for any text)
  append="PATH" a YAML block the reader adds at the end of PATH: appended to it, and then
                the file must pass `wallwatch config check`
  cluster       the reader's Elasticsearch and Kibana: stand-ins with TLS from a test CA
                (quickstart_cluster.py) at the block's host names, and the API key and CA
                file put where the block says, before it runs

Two kinds of block cannot run here, and are checked another way:

  systemd       PID 1 is not systemd: its `systemctl` lines are played from the unit file
                the block installed (quickstart_systemd.py: `systemd-analyze verify`, then
                ExecStart as the unit's user, ready on READY=1; reload is ExecReload)
  kernel-audit  audit rules live in the kernel, which the whole machine shares, and only
                one auditd may run: the lines that install files run, `augenrules` builds
                /etc/audit/audit.rules without loading it, and every rule of
                deploy/auditd/wallwatch.rules must be in it (tests/test_deploy_auditd.py
                loads those rules into the kernel on a temp tree)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.docs.quickstart_blocks import Block, blocks, same_code
from tests.docs.quickstart_cluster import NAMES, make_ca
from tests.docs.quickstart_host import REPO, HostRoot
from tests.docs.quickstart_systemd import Systemctl, systemctl_lines
from tests.fixtures.smbd import USERS
from tests.test_deploy_auditd import rule_lines

DOCS = {"en": REPO / "docs" / "QUICKSTART.md", "zh-CN": REPO / "docs" / "zh-CN" / "QUICKSTART.md"}
UNTIL = 90.0


def test_both_languages_hold_the_same_code_blocks() -> None:
    en, zh = blocks(DOCS["en"]), blocks(DOCS["zh-CN"])
    assert same_code(en, zh) == []
    assert len(en) > 10


def test_every_block_is_run_or_shows_the_output_of_one() -> None:
    for doc in DOCS.values():
        previous: Block | None = None
        for block in blocks(doc):
            assert block.lang in ("sh", "yaml", "text"), block.where(doc)
            if block.lang == "text":
                assert "output" in block.markers, f"{block.where(doc)}: unchecked text block"
                assert previous is not None and previous.lang == "sh", block.where(doc)
            elif block.lang == "yaml":
                assert "append" in block.markers, f"{block.where(doc)}: where does it go?"
            previous = block


def test_the_block_comparison_would_see_a_changed_command(tmp_path: Path) -> None:
    doc = tmp_path / "QUICKSTART.md"
    text = DOCS["en"].read_text(encoding="utf-8")
    doc.write_text(text.replace("groupadd -f client-globex", "groupadd client-globex"),
                   encoding="utf-8")
    assert same_code(blocks(DOCS["en"]), blocks(doc)) != []
    commented = (text.replace("groupadd -f client-acme\n", "groupadd -f client-acme  # 客户组\n")
                 .replace("  url: https://es1", "  # 集群\n  url: https://es1"))
    assert commented != text
    doc.write_text(commented, encoding="utf-8")  # comments are prose: translated freely
    assert same_code(blocks(DOCS["en"]), blocks(doc)) == []
    doc.write_text(text.replace("url: https://es1.firm.lan:9200", "url: https://es2:9200"),
                   encoding="utf-8")
    assert same_code(blocks(DOCS["en"]), blocks(doc)) != []


def shown_lines_missing(shown: str, output: str) -> list[str]:
    lines = [line.rstrip() for line in output.splitlines()]
    missing = []
    for want in (w.rstrip() for w in shown.splitlines() if w.strip()):
        pattern = re.compile(".*?".join(re.escape(part) for part in want.split("…")))
        if not any(pattern.fullmatch(line) for line in lines):
            missing.append(want)
    return missing


def test_output_lines_match_with_ellipses() -> None:
    output = "OK    rules: 16 rule(s) load from /etc/wallwatch/rules\nsecond line\n"
    assert shown_lines_missing("OK    rules: … rule(s) load from /etc/wallwatch/rules",
                               output) == []
    assert shown_lines_missing("OK    rules: … rule(s) load from /elsewhere", output) != []
    assert shown_lines_missing("second", output) == ["second"]  # whole lines only


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("nsenter") is None,
    reason="runs the quick start in private namespaces: needs root, unshare and nsenter")


@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("lang", sorted(DOCS))
def test_the_quick_start_runs_as_written(lang: str, tmp_path: Path) -> None:
    doc = DOCS[lang]
    root = HostRoot(tmp_path / "host").start()
    systemctl = Systemctl(root)
    runner = Runner(doc, root, systemctl, tmp_path)
    try:
        root.play_storage_host()
        for block in blocks(doc):
            runner.block(block)
        assert runner.imported == runner.dashboard_objects()
    finally:
        systemctl.close()
        root.stop()


class Runner:
    def __init__(self, doc: Path, root: HostRoot, systemctl: Systemctl, work: Path) -> None:
        self.doc, self.root, self.systemctl, self.work = doc, root, systemctl, work
        self.last = ""  # the previous command's output
        self.cluster_started = False
        self.env = {"PASSWD": USERS["bob"]}  # what smbclient would ask bob for

    def block(self, block: Block) -> None:
        where = block.where(self.doc)
        if block.lang == "text":
            missing = shown_lines_missing(block.code, self.last)
            assert missing == [], f"{where}: not in the output:\n{missing}\n---\n{self.last}"
            return
        if "cluster" in block.markers:
            self.start_cluster(block)
        if block.lang == "yaml":
            path = block.markers["append"]
            self.root.check(f"printf '%s' {shlex.quote(block.code)} >> {path}")
            self.last = self.root.check(f"wallwatch -c {path} config check")
        elif "kernel-audit" in block.markers:
            self.kernel_audit(block)
        elif "systemd" in block.markers:
            for chunk, argv in systemctl_lines(block.code):
                self.last = self.systemctl(argv) if argv is not None else self.run(chunk, where)
        else:
            self.last = self.run(block.code, where, block.markers.get("until"),
                                 internet="internet" in block.markers)

    def run(self, script: str, where: str, until: str | None = None,
            internet: bool = False) -> str:
        deadline = time.monotonic() + UNTIL
        while True:
            done = self.root.run(script, internet=internet, env=self.env,
                                 timeout=900 if internet else 180)
            output = done.stdout + done.stderr
            if done.returncode == 0 and (until is None or until in done.stdout):
                return done.stdout
            if until is None or time.monotonic() > deadline:
                raise AssertionError(f"{where}: exit {done.returncode}"
                                     f"{f', no {until!r} in the output' if until else ''}:"
                                     f"\n{script}\n---\n{output[-6000:]}")
            time.sleep(1)

    def kernel_audit(self, block: Block) -> None:
        kept = []
        for line in block.code.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["augenrules"]:
                kept.append("augenrules")  # build /etc/audit/audit.rules, do not load it
            elif words and words[0] not in ("systemctl", "auditctl"):
                kept.append(line)
        self.last = self.root.check("\n".join(kept))
        merged = {" ".join(shlex.split(line)) for line in
                  self.root.read("/etc/audit/audit.rules").splitlines()}
        for rule in rule_lines():
            assert " ".join(rule) in merged, rule

    def start_cluster(self, block: Block) -> None:
        if self.cluster_started:
            return
        section = yaml.safe_load(block.code)["elasticsearch"]
        assert re.match(rf"https://({'|'.join(map(re.escape, NAMES))}):9200$", section["url"])
        files = make_ca(self.work / "ca")
        key = self.work / "api-key"
        key.write_text(secrets.token_urlsafe(32) + "\n")
        self.root.check(f"install -m 0600 {key} {section['auth']['api_key_file']}\n"
                        f"install -m 0644 {files['ca']} {section['ca_file']}\n"
                        f"echo '127.0.0.1 {' '.join(NAMES)}' >> /etc/hosts", cwd="/")
        ready = self.work / "cluster.ready"
        self.root.spawn(["sh", "-c", f"cd {REPO} && exec {sys.executable} -m "
                         f"tests.docs.quickstart_cluster --cert {files['cert']} --key "
                         f"{files['key']} --api-key-file {key} --ready-file {ready} "
                         f"--imported {self.work / 'imported'}"], self.work / "cluster.log")
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline, (self.work / "cluster.log").read_text()
            time.sleep(0.1)
        self.cluster_started = True

    @property
    def imported(self) -> list[str]:
        path = self.work / "imported"
        return sorted(path.read_text().splitlines()) if path.exists() else []

    def dashboard_objects(self) -> list[str]:
        lines = (REPO / "dashboards" / "wallwatch.ndjson").read_text().splitlines()
        return sorted(f"{o['type']} {o['id']}" for o in map(json.loads, lines) if o)


def test_the_systemd_stand_in_refuses_what_it_cannot_play(tmp_path: Path) -> None:
    systemctl = Systemctl(HostRoot(tmp_path))  # nothing started
    try:
        with pytest.raises(AssertionError, match="cannot play"):
            systemctl(["mask", "wallwatch"])
    finally:
        systemctl.close()
    assert systemctl_lines("a\nsystemctl reload x  # why\nb\n") == [
        ("a\n", None), ("", ["reload", "x"]), ("b\n", None)]


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_link_leads_somewhere() -> None:
    for doc in DOCS.values():
        for target in _LINK.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve()
            assert file.is_file(), f"{doc.name}: {target}"
            if anchor:
                headings = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                            for h in re.findall(r"^#+ (.*)$", file.read_text(encoding="utf-8"),
                                                re.MULTILINE)}
                assert anchor in headings, f"{doc.name}: {target}"

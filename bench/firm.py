"""The firm whose logs are generated: 200 clients, 50 staff, who is assigned to what.

Fixed, not seeded: client codes, the staff table, archived clients and bait files are the
same in every data set, so bench/sec/*.conf can name the archived clients and bait files.
The seed only changes what people do (bench/gen_*.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SHARE_ROOT = "/srv/share/clients"
SHARE_NAME = "clients"
HOST = "fs01"
TIMEZONE = "Asia/Shanghai"

_FIRST = ("hua", "xin", "dong", "fang", "jin", "tai", "kang", "ming", "rui", "sheng",
          "tian", "yuan", "zhong", "bao", "cheng", "da", "fu", "guang", "hai", "heng")
_SECOND = ("an", "bo", "da", "feng", "hong", "li", "mao", "tong", "xing", "yu")
CLIENTS: tuple[str, ...] = tuple(a + b for a in _FIRST for b in _SECOND)  # 200 codes
# offboarded clients: any access is an alert (client.archived-activity); named in
# bench/sec/10-archived-activity.conf, which must say the same
ARCHIVED: tuple[str, ...] = ("hengxing", "hengyu")
BAIT_FILES = ("00-账户密码汇总.xlsx", "passwords-backup.xlsx", "canary-do-not-open.docx")
BAIT_CLIENTS = CLIENTS[3::20]  # where the bait files are planted (10 clients)

_SURNAMES = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou")
_GIVEN = ("wei", "fang", "na", "min", "jing")
STAFF_NAMES: tuple[str, ...] = tuple(f"{s}.{g}" for g in _GIVEN for s in _SURNAMES)  # 50
ACCOUNTANTS = STAFF_NAMES[:47]
DEPARTED = STAFF_NAMES[47]  # left the firm before the logs start
PARTNERS = STAFF_NAMES[48:]  # see every client (one of them with a conflict exception)
CONFLICT_CLIENT = CLIENTS[7]


@dataclass(frozen=True)
class Member:
    name: str
    uid: int
    ip: str
    machine: str  # Samba's %m: the NTLM workstation name, lower-cased
    clients: frozenset[str]
    all_clients: bool = False
    excluded: frozenset[str] = frozenset()
    left: date | None = None

    def assigned(self, client: str) -> bool:
        if client in self.excluded:
            return False
        return self.all_clients or client in self.clients

    def workable(self) -> list[str]:
        """Clients this member works on day to day (archived ones are closed)."""
        pool = CLIENTS if self.all_clients else sorted(self.clients)
        return [c for c in pool if self.assigned(c) and c not in ARCHIVED]


def staff_table(left: date | None = None) -> dict[str, Member]:
    """Each client has one primary accountant (round robin) and some staff help on one or
    two more; the partners see everything. `left` is the departed member's last day."""
    rng = random.Random(2026)
    primary: dict[str, set[str]] = {name: set() for name in STAFF_NAMES[:48]}
    for j, client in enumerate(CLIENTS):
        primary[STAFF_NAMES[j % 48]].add(client)
    out: dict[str, Member] = {}
    for i, name in enumerate(STAFF_NAMES):
        surname, given = name.split(".")
        uid, ip, machine = 1001 + i, f"10.0.1.{10 + i}", f"{given}{surname}-pc"
        if name in PARTNERS:
            excluded = frozenset({CONFLICT_CLIENT}) if name == PARTNERS[1] else frozenset()
            out[name] = Member(name, uid, ip, machine, frozenset(), all_clients=True,
                               excluded=excluded)
            continue
        clients = set(primary[name])
        clients.update(rng.sample(CLIENTS, rng.randint(1, 2)))
        out[name] = Member(name, uid, ip, machine, frozenset(clients),
                           left=left if name == DEPARTED else None)
    return out


_FOLDERS = ("2025年/凭证", "2025年/报表", "2026年/凭证", "2026年/报表", "合同", "工资",
            "税务申报", "银行对账单", "往来函件")


def client_files(client: str) -> list[str]:
    """The files in one client's folder (absolute paths), the same in every data set."""
    rng = random.Random(client)
    root = f"{SHARE_ROOT}/{client}"
    files = [f"{root}/notes.txt", f"{root}/ledger.csv", f"{root}/2025 annual report.pdf"]
    for folder in _FOLDERS:
        for m in sorted(rng.sample(range(1, 13), rng.randint(3, 8))):
            if folder.endswith("凭证"):
                name = f"{m:02d}月凭证-{rng.randint(1, 3)}.pdf"
            elif folder.endswith("报表"):
                name = rng.choice((f"资产负债表-{m:02d}月.xlsx", f"利润表-{m:02d}月.xlsx",
                                   f"现金流量表-Q{(m - 1) // 3 + 1}.xlsx"))
            elif folder == "合同":
                name = f"合同-{client}-{m:02d}.docx"
            elif folder == "工资":
                name = rng.choice((f"工资表-{m:02d}月.xlsx", f"工资表-{m:02d}月-2.xlsx"))
            elif folder == "税务申报":
                name = rng.choice((f"增值税申报表-{m:02d}月.pdf", "企业所得税年报.pdf"))
            elif folder == "银行对账单":
                name = f"对账单-{m:02d}月.xlsx"
            else:
                name = f"函-{m:02d}-{rng.randint(100, 999)}.pdf"
            path = f"{root}/{folder}/{name}"
            if path not in files:
                files.append(path)
    return files


def config_text(files: Mapping[str, Path], store: Path, staff: Mapping[str, Member],
                rules: Path | None = None) -> str:
    """wallwatch.yaml for the generated logs: the three sources and the staff table."""
    q = json.dumps  # JSON strings are valid YAML flow scalars
    lines = [
        "# Generated by bench/generate.py: the firm of the benchmark logs.",
        f"host: {{name: {HOST}}}",
        f"timezone: {TIMEZONE}",
        f"store: {{path: {q(str(store))}}}",
        "metrics: {enabled: false}",
        "sources:",
        f"  - {{name: samba, type: samba, path: {q(str(files['samba']))}, format: debug,"
        f" prefix: {q('%u|%I|%m|%S')}}}",
        f"  - {{name: sshd, type: sshd, path: {q(str(files['sshd']))}}}",
        f"  - {{name: auditd, type: auditd, path: {q(str(files['auditd']))}}}",
        "clients:",
        f"  paths: [{q(SHARE_ROOT + '/{client}/**')}]",
        f"  archived: [{', '.join(ARCHIVED)}]",
        f"shares: {{{SHARE_NAME}: {SHARE_ROOT}}}",
    ]
    if rules is not None:
        lines.append(f"rules: {{paths: [{q(str(rules))}]}}")
    lines.append("staff:")
    for m in staff.values():
        if m.all_clients:
            extra = f", except: [{', '.join(sorted(m.excluded))}]" if m.excluded else ""
            lines.append(f"  {m.name}: {{clients: [\"*\"]{extra}}}")
        elif m.left is not None:
            lines.append(f"  {m.name}: {{clients: [{', '.join(sorted(m.clients))}],"
                         f" left: {m.left.isoformat()}}}")
        else:
            lines.append(f"  {m.name}: [{', '.join(sorted(m.clients))}]")
    return "\n".join(lines) + "\n"


def sec_assignments(staff: Mapping[str, Member]) -> str:
    """SEC rules that load the staff table at start-up: one context per (user, client)
    assignment, which bench/sec/06-cross-client-access.conf looks up. Needs --intevents."""
    # One rule, not one per member: SEC tries every rule of a file on every input line
    # until one matches, so 50 start-up rules would cost 50 failed matches per line.
    creates = [f"create assigned_{m.name}_{c}" for m in staff.values() for c in CLIENTS
               if m.assigned(c)]
    return "\n".join([
        "# Generated by bench/generate.py from the staff table of wallwatch.yaml.",
        "# One context assigned_<user>_<client> per assignment, created at SEC_STARTUP.",
        "type=Single", "ptype=RegExp", "pattern=^SEC_STARTUP$", "context=SEC_INTERNAL_EVENT",
        "desc=load the staff table",
        "action=" + "; \\\n  ".join(creates), ""])

#!/usr/bin/env python3
"""Regenerate the real Samba 4.17 log samples in this directory.

Run as root (needs smbd, smbpasswd, net, unshare; rsyslogd for the syslog sample):

    /work/main/.venv/bin/python tests/data/samba/make_samples.py

It starts private smbd servers with tests/fixtures/smbd.py (one after the other, all in
the same work directory WORKDIR so that every sample shows the same share path
``/tmp/wallwatch-samples/srv/share/clients``), performs SCENARIO as alice (machine
ALICE-PC) and bob (BOB-PC) through smbprotocol, and copies the raw logs here:

    debug_audit.log                 full_audit in the debug log, prefix %u|%I|%m|%S
    debug_audit_default_prefix.log  same scenario, default prefix %u|%I
    syslog_audit.log                same scenario via syslog -> private rsyslogd (RFC 3339)
    syslog_audit_traditional.log    the same syslog messages in classic BSD format
    auth.log                        auth_audit + auth_json_audit lines of the first run
    debug_audit_dos_mode.log        'store dos attributes = no' + 'map readonly = yes':
                                    the read-only attribute becomes chmod (fchmod records)
    steps.json                      for each log: each scenario step, the client-side error
                                    if any, and the bare audit records it produced
    steps.txt                       the same for debug_audit.log and the dos-mode log,
                                    compacted for reading

Timestamps, PIDs, ports, SIDs and uid numbers differ on each run.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/ -> "fixtures" package

import smbclient  # type: ignore[import-untyped]  # noqa: E402
from fixtures.smbd import (  # type: ignore[import-not-found]  # noqa: E402
    BOB_PW,
    SambaServer,
    SmbUser,
    build_security_descriptor,
    connect_user,
    set_security_descriptor,
    unix_user_sid,
)
from smbclient._os import (  # type: ignore[import-untyped]  # noqa: E402
    _set_basic_information,
)
from smbprotocol.file_info import (  # type: ignore[import-untyped]  # noqa: E402
    FileAttributes,
)

WORKDIR = Path("/tmp/wallwatch-samples")

OWNER_INFO, GROUP_INFO, DACL_INFO = 0x1, 0x2, 0x4
FULL_CONTROL = 0x001F01FF
READ_EXECUTE = 0x001200A9


class Recorder:
    """Runs steps and remembers which audit records each one produced."""

    def __init__(self, server: SambaServer) -> None:
        self.server = server
        self.seen = 0
        self.steps: list[dict[str, Any]] = []

    def step(self, name: str, fn: Callable[[], object], *, expect_error: bool = False) -> None:
        error = None
        try:
            fn()
        except Exception as exc:  # the failures are part of the scenario
            error = f"{type(exc).__name__}: {exc}"
            if not expect_error:
                raise
        else:
            if expect_error:
                raise AssertionError(f"step {name!r} was expected to fail")
        time.sleep(0.4)  # closes / async replies land a moment after the call returns
        records = self.server.audit_records()
        self.steps.append({"step": name, "client_error": error, "records": records[self.seen :]})
        self.seen = len(records)
        note = f" (client error: {error.splitlines()[0][:70]})" if error else ""
        print(f"  {name}: {len(self.steps[-1]['records'])} records{note}")


def _write(u: SmbUser, parts: list[str], data: bytes, mode: str = "wb") -> None:
    with smbclient.open_file(u.unc(*parts), mode, **u.opts) as f:
        f.write(data)


def _patch(u: SmbUser, parts: list[str], offset: int, data: bytes) -> None:
    with smbclient.open_file(u.unc(*parts), "r+b", **u.opts) as f:
        f.seek(offset)
        f.write(data)


def _read(u: SmbUser, parts: list[str]) -> bytes:
    with smbclient.open_file(u.unc(*parts), "rb", **u.opts) as f:
        data: bytes = f.read()
        return data


def prepare_share(server: SambaServer) -> None:
    """Server-side setup the clients cannot do: a read-only archive folder owned by root."""
    archive = server.path_of("globex", "archive")
    archive.mkdir()
    (archive / "2023年报.pdf").write_bytes(b"%PDF-1.4 fake 2023 annual report\n")
    (archive / "2023年报.pdf").chmod(0o644)
    archive.chmod(0o555)
    # alice may take ownership / give files away (Windows: SeTakeOwnership/SeRestore).
    server.grant_privileges("alice", "SeRestorePrivilege", "SeTakeOwnershipPrivilege")


def scenario(server: SambaServer) -> list[dict[str, Any]]:
    rec = Recorder(server)
    alice = connect_user(server, "alice", workstation="ALICE-PC")
    bob = connect_user(server, "bob", workstation="BOB-PC")
    asid, bsid = unix_user_sid("alice"), unix_user_sid("bob")

    s = rec.step
    s("alice lists acme", lambda: smbclient.listdir(alice.unc("acme"), **alice.opts))
    s("alice reads acme/2024年发票汇总.xlsx", lambda: _read(alice, ["acme", "2024年发票汇总.xlsx"]))
    s("alice creates acme/2025年预算.xlsx",
      lambda: _write(alice, ["acme", "2025年预算.xlsx"], b"PK fake budget 2025\n" * 50))
    s("alice overwrites acme/notes.txt (open 'wb')",
      lambda: _write(alice, ["acme", "notes.txt"], b"acme: rewritten by alice\n"))
    s("alice modifies acme/notes.txt in place (open 'r+b', write at offset 6)",
      lambda: _patch(alice, ["acme", "notes.txt"], 6, b"PATCHED"))
    s("alice renames acme/2025年预算.xlsx -> acme/2025年预算-终版.xlsx",
      lambda: smbclient.rename(alice.unc("acme", "2025年预算.xlsx"),
                               alice.unc("acme", "2025年预算-终版.xlsx"), **alice.opts))
    s("alice mkdir acme/归档", lambda: smbclient.mkdir(alice.unc("acme", "归档"), **alice.opts))
    s("alice moves acme/2025年预算-终版.xlsx -> acme/归档/",
      lambda: smbclient.rename(alice.unc("acme", "2025年预算-终版.xlsx"),
                               alice.unc("acme", "归档", "2025年预算-终版.xlsx"), **alice.opts))
    s("alice server-side copies acme/2024年发票汇总.xlsx -> acme/归档/副本.xlsx (copychunk)",
      lambda: smbclient.copyfile(alice.unc("acme", "2024年发票汇总.xlsx"),
                                 alice.unc("acme", "归档", "副本.xlsx"), **alice.opts))
    s("alice sets the read-only attribute on acme/归档/副本.xlsx",
      lambda: _set_basic_information(alice.unc("acme", "归档", "副本.xlsx"),
                                     file_attributes=FileAttributes.FILE_ATTRIBUTE_READONLY,
                                     **alice.opts))
    s("alice sets a DACL on her file acme/归档/2025年预算-终版.xlsx (owner full, Everyone read)",
      lambda: set_security_descriptor(
          alice.unc("acme", "归档", "2025年预算-终版.xlsx"),
          build_security_descriptor(dacl=[(asid, FULL_CONTROL), ("S-1-1-0", READ_EXECUTE)]),
          DACL_INFO, **alice.opts))
    s("alice takes ownership of acme/notes.txt (owned by root)",
      lambda: set_security_descriptor(alice.unc("acme", "notes.txt"),
                                      build_security_descriptor(owner=asid), OWNER_INFO,
                                      **alice.opts))
    s("alice gives acme/notes.txt to bob and group bob (owner+group)",
      lambda: set_security_descriptor(
          alice.unc("acme", "notes.txt"),
          build_security_descriptor(owner=bsid, group=f"S-1-22-2-{grp.getgrnam('bob').gr_gid}"),
          OWNER_INFO | GROUP_INFO, **alice.opts))
    s("alice deletes acme/归档/副本.xlsx",
      lambda: smbclient.remove(alice.unc("acme", "归档", "副本.xlsx"), **alice.opts))
    s("alice mkdir + rmdir acme/临时",
      lambda: (smbclient.mkdir(alice.unc("acme", "临时"), **alice.opts),
               smbclient.rmdir(alice.unc("acme", "临时"), **alice.opts)))

    s("bob lists globex", lambda: smbclient.listdir(bob.unc("globex"), **bob.opts))
    s("bob reads globex/ledger.csv", lambda: _read(bob, ["globex", "ledger.csv"]))
    s("bob overwrites globex/ledger.csv",
      lambda: _write(bob, ["globex", "ledger.csv"], b"date,account,amount\n"))
    s("bob reads missing globex/missing.xlsx (fails)",
      lambda: _read(bob, ["globex", "missing.xlsx"]), expect_error=True)
    s("bob deletes globex/archive/2023年报.pdf in read-only dir (fails)",
      lambda: smbclient.remove(bob.unc("globex", "archive", "2023年报.pdf"), **bob.opts),
      expect_error=True)
    s("bob overwrites read-only globex/archive/2023年报.pdf (fails)",
      lambda: _write(bob, ["globex", "archive", "2023年报.pdf"], b"x"), expect_error=True)
    s("bob creates globex/archive/new.txt in read-only dir (fails)",
      lambda: _write(bob, ["globex", "archive", "new.txt"], b"x"), expect_error=True)
    s("bob mkdir globex/archive/sub in read-only dir (fails)",
      lambda: smbclient.mkdir(bob.unc("globex", "archive", "sub"), **bob.opts),
      expect_error=True)
    s("bob renames globex/archive/2023年报.pdf in read-only dir (fails)",
      lambda: smbclient.rename(bob.unc("globex", "archive", "2023年报.pdf"),
                               bob.unc("globex", "archive", "x.pdf"), **bob.opts),
      expect_error=True)
    s("bob changes the DACL of alice's acme/归档/2025年预算-终版.xlsx (fails)",
      lambda: set_security_descriptor(
          bob.unc("acme", "归档", "2025年预算-终版.xlsx"),
          build_security_descriptor(dacl=[(bsid, FULL_CONTROL)]), DACL_INFO, **bob.opts),
      expect_error=True)
    s("bob logs in with a wrong password (fails; auth log only)",
      lambda: connect_user(server, "bob", BOB_PW + "x", workstation="BOB-PC"),
      expect_error=True)
    s("alice and bob disconnect", lambda: (alice.close(), bob.close()))
    return rec.steps


def scenario_dos_mode(server: SambaServer) -> list[dict[str, Any]]:
    rec = Recorder(server)
    alice = connect_user(server, "alice", workstation="ALICE-PC")
    rec.step("alice creates acme/对账单.xlsx",
             lambda: _write(alice, ["acme", "对账单.xlsx"], b"PK fake statement\n"))
    def set_attr(attr: int) -> Callable[[], object]:
        return lambda: _set_basic_information(
            alice.unc("acme", "对账单.xlsx"), file_attributes=attr, **alice.opts)

    for attr, label in ((FileAttributes.FILE_ATTRIBUTE_READONLY, "sets"),
                        (FileAttributes.FILE_ATTRIBUTE_NORMAL, "clears")):
        rec.step(f"alice {label} the read-only attribute on acme/对账单.xlsx", set_attr(attr))
    rec.step("alice disconnects", alice.close)
    return rec.steps


def compact(record: str, share_root: str) -> str:
    """``op(details) path`` with the prefix dropped and the share root shown as <S>."""
    f = record.split("|")
    op, status, rest = f[4], f[5], f[6:]

    def rel(p: str) -> str:
        return "<S>" + p[len(share_root):] if p.startswith(share_root) else p

    if op == "create_file":
        text = f"create_file({rest[0]},{rest[1]},{rest[2]}) {rel(rest[3])}"
    elif op == "openat":
        text = f"openat-{rest[0]} {rel(rest[1])}"
    elif op == "renameat":
        text = f"renameat {rel(rest[0])} -> {rel(rest[1])}"
    elif op in ("fchown", "fchmod"):
        text = f"{op} {rel(rest[0])} {'|'.join(rest[1:])}"
    else:
        text = f"{op} {rel(rest[0]) if rest else ''}".rstrip()
    return text if status == "ok" else f"{text}  FAIL {status[5:]}"


def write_steps_txt(all_steps: dict[str, Any]) -> None:
    root = str(WORKDIR / "srv/share" / "clients")
    out = [
        "# Generated by make_samples.py: per scenario step, the audit records it produced,",
        "# compacted as op(access,type,disposition) / openat-r|w / path relative to <S> =",
        f"# {root}. Prefix fields are dropped; 'FAIL (...)' is the",
        "# fail status as logged.",
        "",
    ]
    for name in ("debug_audit.log", "debug_audit_dos_mode.log"):
        out.append(f"=== {name}")
        for st in all_steps[name]:
            flag = "  [client got an error]" if st["client_error"] else ""
            out.append(f"# {st['step']}{flag}")
            out.extend(f"    {compact(r, root)}" for r in st["records"])
        out.append("")
    (HERE / "steps.txt").write_text("\n".join(out))


def run(
    name: str,
    scen: Callable[[SambaServer], list[dict[str, Any]]],
    *,
    audit_mode: Literal["debug", "syslog"] = "debug",
    prefix: str = "%u|%I|%m|%S",
    extra: dict[str, str] | None = None,
) -> tuple[SambaServer, list[dict[str, Any]]]:
    print(f"{name}: audit_mode={audit_mode} prefix={prefix} extra={extra}")
    shutil.rmtree(WORKDIR, ignore_errors=True)
    server = SambaServer(WORKDIR, audit_mode=audit_mode, prefix=prefix,
                         extra_share_options=extra)
    with server:
        prepare_share(server)
        steps = scen(server)
        time.sleep(0.5)
    return server, steps


def main() -> int:
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 1
    all_steps: dict[str, Any] = {}

    server, steps = run("debug_audit.log", scenario)
    shutil.copyfile(server.audit_log, HERE / "debug_audit.log")
    shutil.copyfile(server.auth_log, HERE / "auth.log")
    all_steps["debug_audit.log"] = steps

    server, steps = run("debug_audit_default_prefix.log", scenario, prefix="%u|%I")
    shutil.copyfile(server.audit_log, HERE / "debug_audit_default_prefix.log")
    all_steps["debug_audit_default_prefix.log"] = steps

    if shutil.which("rsyslogd") and shutil.which("unshare"):
        server, steps = run("syslog_audit.log", scenario, audit_mode="syslog")
        shutil.copyfile(server.audit_log, HERE / "syslog_audit.log")
        shutil.copyfile(server.audit_log_traditional, HERE / "syslog_audit_traditional.log")
        all_steps["syslog_audit.log"] = steps
    else:
        print("rsyslogd/unshare missing: syslog sample skipped (apt-get install -y rsyslog)")

    server, steps = run("debug_audit_dos_mode.log", scenario_dos_mode,
                        extra={"store dos attributes": "no", "map readonly": "yes"})
    shutil.copyfile(server.audit_log, HERE / "debug_audit_dos_mode.log")
    all_steps["debug_audit_dos_mode.log"] = steps

    # The same scenario must give the same op sequence per step in every form of the log.
    def op_trace(name: str, op_field: int) -> list[list[str]]:
        return [[r.split("|")[op_field] for r in st["records"]] for st in all_steps[name]]

    reference = op_trace("debug_audit.log", 4)
    others = [("debug_audit_default_prefix.log", 2), ("syslog_audit.log", 4)]
    for name, field in others:
        if name in all_steps and op_trace(name, field) != reference:
            print(f"WARNING: {name} has a different op sequence than debug_audit.log")

    write_steps_txt(all_steps)
    (HERE / "steps.json").write_text(json.dumps(all_steps, ensure_ascii=False, indent=1) + "\n")
    version = subprocess.run(["smbd", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"done with {version}; share root was {WORKDIR}/srv/share/clients")
    shutil.rmtree(WORKDIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How an event's `extra` (the fields a source keeps in its own vocabulary) is stored.

Measured on the benchmark's logs, `extra` was most of the store: an auditd event
carries ~1.5 KB of JSON (every SYSCALL field, every PATH record), an sshd event
~200 bytes, against ~150 bytes for all the other columns. Each document is
compressed on its own (a row stays readable alone, and the hash chain covers
it) with raw deflate and a preset dictionary: short documents have too little
text to compress against themselves, but their field names are always the same,
so the dictionary holds the names our sources write, in the order they write
them, and values that are the same on every machine (auditd's "unset" id, the
x86_64 arch code, PAM module names). Nothing specific to one firm is in it.

Stored form: the JSON bytes as before (they start with `{`), or VERSION_1 then
the deflate stream. The dictionary of a version must never change once rows use
it: a new dictionary is a new version byte, and the old ones stay decodable.
SQL that reads the column goes through the `extra_json(extra)` function that
`register` adds to a connection (the Store does it for its own).
"""

from __future__ import annotations

import sqlite3
import zlib

VERSION_1 = 0x01
_LEVEL, _WBITS, _MEM = 6, -13, 8  # an 8 KiB window: the dictionary and one document
MIN_SIZE = 48  # shorter documents are kept as JSON: deflate would not shrink them

# most frequent shapes last: deflate reaches the end of the dictionary with the
# shortest distances
_SKELETONS = (
    '{"samba.auth.status":"NT_STATUS_WRONG_PASSWORD","samba.auth.event_id":4625,'
    '"samba.auth.workstation":"","samba.auth.record":"json","samba.auth.became_domain":"",'
    '"samba.auth.became_sid":"S-1-5-21-","samba.auth.local_address":"ipv4:',
    '{"winlog.event_id":4663,"winlog.event_data.ShareName":"\\\\\\\\*\\\\","wallwatch.access":'
    '["read"],"winlog.event_data.SubjectUserName":"","winlog.event_data.ObjectName":"',
    '{"fswatch.detected":"rescan","fswatch.entries_removed":1,',
    '{"wallwatch.assignment.from":"","wallwatch.assignment.provider":"",',
    '{"samba.operation":"fset_nt_acl","samba.sddl":"D:(A;;0x001f01ff;;;S-1-22-1-)(A;;0x001301bf'
    ';;;S-1-22-2-)","samba.machine":"',
    '{"samba.operation":"fchown","error.message":"Operation not permitted","file.uid":"',
    '{"samba.operation":"renameat","samba.operations":{"create_file":1,"create_file:fail":1,'
    '"openat":1,"openat:fail":2},"error.message":"No such file or directory","samba.machine":"',
    '{"samba.operations":{"close":1,"create_file":1,"openat":2,"pread_recv":1,"pread_send":1,'
    '"pwrite_recv":1,"pwrite_send":1},"event.end":"2026-01-01T00:00:00.000000Z",'
    '"samba.disposition":"overwrite_if","samba.access_mask":"0x89","samba.entries":1,'
    '"samba.entry_names":[".xlsx",".docx",".pdf"],"samba.machine":"',
    '{"auditd.record_types":["LOGIN"],"auditd.sequence":1,"user.id":"0","user.audit.id":"0",'
    '"user.audit.name":"root","process.pid":1,"auditd.data.pid":"1","auditd.data.uid":"0",'
    '"auditd.data.old-auid":"4294967295","auditd.data.auid":"0","auditd.data.tty":"(none)",'
    '"auditd.data.old-ses":"4294967295","auditd.data.ses":"1","auditd.data.res":"1",'
    '"auditd.session":"',
    '{"auditd.record_types":["USER_ACCT"],"auditd.sequence":1,"user.id":"0",'
    '"process.executable":"/usr/sbin/cron","process.pid":1,"auditd.data.pid":"1",'
    '"auditd.data.uid":"0","auditd.data.auid":"4294967295","auditd.data.ses":"4294967295",'
    '"auditd.data.op":"PAM:accounting","auditd.data.grantors":"pam_permit,pam_unix",'
    '"auditd.data.acct":"root","auditd.data.exe":"/usr/sbin/cron","auditd.data.hostname":"?",'
    '"auditd.data.addr":"?","auditd.data.terminal":"cron","auditd.data.res":"success"}',
    '{"process.name":"sshd","system.auth.ssh.disconnect.how":"Connection closed by",'
    '"system.auth.ssh.disconnect.code":11,"system.auth.ssh.disconnect.reason":"Bye Bye",'
    '"process.pid":1,"system.auth.ssh.signature":"","ssh.key_type":"ED25519",'
    '"ssh.key_fingerprint":"SHA256:","system.auth.ssh.invalid_user":true,'
    '"system.auth.ssh.preauth":true}',
    '{"process.name":"sshd","system.auth.pam.module":"pam_unix","system.auth.pam.service":"sshd",'
    '"system.auth.pam.tty":"ssh","system.auth.pam.rhost":"","system.auth.ssh.protocol":"ssh2",'
    '"process.pid":1,"system.auth.ssh.method":"password","system.auth.ssh.invalid_user":true,'
    '"system.auth.ssh.event":"Failed","system.auth.lines":["Invalid","pam_failure","Failed"]}',
    '{"auditd.record_types":["SYSCALL","CWD","PATH","PATH","PROCTITLE"],"auditd.sequence":1,'
    '"user.id":"0","user.audit.id":"0","user.audit.name":"root",'
    '"process.executable":"/usr/sbin/smbd","process.name":"smbd","process.pid":1,'
    '"process.parent.pid":1,"auditd.data.arch":"c000003e","auditd.data.syscall":"openat",'
    '"auditd.data.success":"yes","auditd.data.exit":"0","auditd.data.a0":"ffffff9c",'
    '"auditd.data.a1":"0","auditd.data.a2":"0","auditd.data.a3":"0","auditd.data.items":"1",'
    '"auditd.data.ppid":"1","auditd.data.pid":"1","auditd.data.auid":"4294967295",'
    '"auditd.data.uid":"0","auditd.data.gid":"0","auditd.data.euid":"0","auditd.data.suid":"0",'
    '"auditd.data.fsuid":"0","auditd.data.egid":"0","auditd.data.sgid":"0",'
    '"auditd.data.fsgid":"0","auditd.data.tty":"(none)","auditd.data.ses":"4294967295",'
    '"auditd.data.comm":"smbd","auditd.data.exe":"/usr/sbin/smbd","auditd.data.key":"",'
    '"auditd.paths":[{"item":"0","name":"","inode":"1","dev":"fe:01","mode":"040755",'
    '"ouid":"0","ogid":"0","rdev":"00:00","nametype":"PARENT","cap_fp":"0","cap_fi":"0",'
    '"cap_fe":"0","cap_fver":"0","cap_frootid":"0","path":"/"},{"item":"1","name":"",'
    '"inode":"1","dev":"fe:01","mode":"0100644","ouid":"0","ogid":"0","rdev":"00:00",'
    '"nametype":"NORMAL","cap_fp":"0","cap_fi":"0","cap_fe":"0","cap_fver":"0",'
    '"cap_frootid":"0","path":"/"}],"file.inode":"1","file.uid":"0","file.gid":"0",'
    '"file.device":"fe:01","auditd.open_flags":["O_RDONLY"],"process.working_directory":"/",'
    '"process.title":"smbd: client []","auditd.session":"1","tags":[""]}',
)
DICTIONARY_1 = "".join(_SKELETONS).encode()

_compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM, zlib.Z_DEFAULT_STRATEGY,
                               DICTIONARY_1)


def encode(doc: bytes) -> bytes:
    """The stored form of a JSON document."""
    if len(doc) < MIN_SIZE:
        return doc
    packer = _compressor.copy()  # primed with the dictionary once, not per document
    packed = packer.compress(doc) + packer.flush()
    if len(packed) + 1 >= len(doc):
        return doc
    return bytes((VERSION_1,)) + packed


def decode(stored: bytes) -> bytes:
    """The JSON document of a stored `extra` (old rows are JSON already)."""
    if not stored or stored[0] != VERSION_1:
        return bytes(stored)
    unpacker = zlib.decompressobj(_WBITS, DICTIONARY_1)
    return unpacker.decompress(stored[1:]) + unpacker.flush()


def _sql_extra_json(stored: bytes | str | None) -> bytes | str | None:
    # bytes in, bytes out: the hash chain hashes what EVENT_SELECT returns, and rows
    # stored before compression gave it JSON bytes
    if not isinstance(stored, bytes):
        return stored
    try:
        return decode(stored)
    except zlib.error:  # damaged: give the bytes back, so `verify` names the batch
        return stored


def register(db: sqlite3.Connection) -> None:
    """`extra_json(extra)` in SQL: the column's JSON, whatever its stored form."""
    db.create_function("extra_json", 1, _sql_extra_json, deterministic=True)

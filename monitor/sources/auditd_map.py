"""What an audit event means in ECS: tables, following Elastic's own normaliser.

Elastic's go-libaudit (`aucoalesce/normalizations.yaml`, Apache-2.0) maps every
syscall and record type to an action and an ECS category/type; its golden output
in shared/corpus is our oracle (tests/sources/test_auditd_corpus.py). We use its
action names and its ECS values, except where tests/sources/test_auditd_corpus.py
documents a deliberate difference:
- an Event holds one category and one type; where Elastic gives two
  (`[process, configuration]`, `[user, change]`) we keep the more specific one;
- opens are `access`, `change` or `creation` by their flags and PATH records
  (Elastic: `info` for every open) — reading and writing a client file must differ;
- POSIX ACL tools' setxattr is `changed-file-acl-of` (Elastic:
  changed-file-attributes-of), the action our Samba source gives ACL changes;
- `stop` is not an ECS event type: service/daemon stops are `end`;
- a syscall Elastic has no action for gets its name as action (Elastic: none).
"""

from __future__ import annotations

Ecs = tuple[str, str, str]  # action, category, type

ARCHES = {"c000003e": "x86_64", "c00000b7": "aarch64", "40000003": "i386"}

# x86_64 syscall numbers of everything the tables below name
X86_64: dict[int, str] = {
    0: "read", 1: "write", 2: "open", 3: "close", 4: "stat", 5: "fstat", 6: "lstat",
    9: "mmap", 12: "brk", 13: "rt_sigaction", 14: "rt_sigprocmask", 16: "ioctl",
    21: "access", 23: "select", 41: "socket", 42: "connect", 43: "accept", 44: "sendto",
    45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 49: "bind", 50: "listen",
    51: "getsockname", 52: "getpeername", 56: "clone", 57: "fork", 58: "vfork",
    59: "execve", 62: "kill", 76: "truncate", 77: "ftruncate", 82: "rename", 83: "mkdir",
    84: "rmdir", 85: "creat", 86: "link", 87: "unlink", 88: "symlink", 89: "readlink",
    90: "chmod", 91: "fchmod", 92: "chown", 93: "fchown", 94: "lchown", 105: "setuid",
    106: "setgid", 113: "setreuid", 114: "setregid", 117: "setresuid", 119: "setresgid",
    122: "setfsuid", 123: "setfsgid", 132: "utime", 133: "mknod", 137: "statfs",
    138: "fstatfs", 142: "sched_setparam", 144: "sched_setscheduler", 159: "adjtimex",
    164: "settimeofday", 165: "mount", 166: "umount2", 170: "sethostname",
    171: "setdomainname", 175: "init_module", 176: "delete_module", 188: "setxattr",
    189: "lsetxattr", 190: "fsetxattr", 191: "getxattr", 192: "lgetxattr",
    193: "fgetxattr", 197: "removexattr", 198: "lremovexattr", 199: "fremovexattr",
    200: "tkill", 227: "clock_settime", 228: "clock_gettime", 234: "tgkill", 235: "utimes",
    257: "openat", 258: "mkdirat", 259: "mknodat", 260: "fchownat", 261: "futimesat",
    262: "newfstatat", 263: "unlinkat", 264: "renameat", 265: "linkat", 266: "symlinkat",
    267: "readlinkat", 268: "fchmodat", 269: "faccessat", 280: "utimensat",
    285: "fallocate", 288: "accept4", 299: "recvmmsg", 307: "sendmmsg",
    313: "finit_module", 314: "sched_setattr", 316: "renameat2", 322: "execveat",
    332: "statx", 437: "openat2", 439: "faccessat2", 452: "fchmodat2", 463: "setxattrat",
    464: "getxattrat", 466: "removexattrat",
}
# aarch64 (the generic table) for the same
AARCH64: dict[int, str] = {
    5: "setxattr", 6: "lsetxattr", 7: "fsetxattr", 8: "getxattr", 9: "lgetxattr",
    10: "fgetxattr", 14: "removexattr", 15: "lremovexattr", 16: "fremovexattr",
    33: "mknodat", 34: "mkdirat", 35: "unlinkat", 36: "symlinkat", 37: "linkat",
    38: "renameat", 39: "umount2", 40: "mount", 43: "statfs", 44: "fstatfs",
    45: "truncate", 46: "ftruncate", 47: "fallocate", 48: "faccessat", 52: "fchmod",
    53: "fchmodat", 54: "fchownat", 55: "fchown", 56: "openat", 57: "close", 63: "read",
    64: "write", 78: "readlinkat", 79: "newfstatat", 80: "fstat", 88: "utimensat",
    105: "init_module", 106: "delete_module", 112: "clock_settime", 129: "kill",
    130: "tkill", 131: "tgkill", 161: "sethostname", 162: "setdomainname",
    170: "settimeofday", 171: "adjtimex", 198: "socket", 200: "bind", 201: "listen",
    202: "accept", 203: "connect", 204: "getsockname", 205: "getpeername", 206: "sendto",
    207: "recvfrom", 211: "sendmsg", 212: "recvmsg", 221: "execve", 242: "accept4",
    273: "finit_module", 276: "renameat2", 281: "execveat", 291: "statx", 437: "openat2",
    439: "faccessat2", 452: "fchmodat2",
}
SYSCALL_TABLES = {"x86_64": X86_64, "aarch64": AARCH64}


def _each(names: str, ecs: Ecs) -> dict[str, Ecs]:
    return dict.fromkeys(names.split(), ecs)


SYSCALLS: dict[str, Ecs] = {
    **_each("open openat openat2 readlink readlinkat", ("opened-file", "file", "info")),
    "creat": ("opened-file", "file", "creation"),
    **_each("fallocate truncate ftruncate", ("opened-file", "file", "change")),
    "read": ("read-file", "file", "info"),
    "write": ("wrote-to-file", "file", "change"),
    **_each("setxattr fsetxattr lsetxattr removexattr fremovexattr lremovexattr setxattrat "
            "removexattrat", ("changed-file-attributes-of", "file", "change")),
    **_each("chmod fchmod fchmodat fchmodat2", ("changed-file-permissions-of", "file", "change")),
    **_each("chown fchown fchownat lchown", ("changed-file-ownership-of", "file", "change")),
    **_each("finit_module init_module", ("loaded-kernel-module", "driver", "start")),
    "delete_module": ("unloaded-kernel-module", "driver", "end"),
    **_each("mkdir mkdirat", ("created-directory", "file", "creation")),
    "mount": ("mounted", "file", "creation"),
    **_each("rename renameat renameat2", ("renamed", "file", "change")),
    **_each("access faccessat faccessat2 fstatat newfstatat stat stat64 fstat lstat statx "
            "getxattr lgetxattr fgetxattr getxattrat", ("checked-metadata-of", "file", "info")),
    **_each("statfs fstatfs", ("checked-filesystem-metadata-of", "file", "info")),
    **_each("symlink symlinkat", ("symlinked", "file", "creation")),
    **_each("umount umount2", ("unmounted", "file", "deletion")),
    **_each("rmdir unlink unlinkat", ("deleted", "file", "deletion")),
    **_each("utime utimes futimesat futimens utimensat", ("changed-timestamp-of", "file",
                                                          "info")),
    **_each("execve execveat", ("executed", "process", "start")),
    "listen": ("listen-for-connections", "network", "start"),
    **_each("accept accept4", ("accepted-connection-from", "network", "connection")),
    "bind": ("bound-socket", "network", "start"),
    "connect": ("connected-to", "network", "connection"),
    **_each("recv recvfrom recvmsg recvmmsg", ("received-from", "network", "connection")),
    **_each("send sendto sendmsg sendmmsg", ("sent-to", "network", "connection")),
    **_each("kill tkill tgkill", ("killed-pid", "process", "end")),
    **_each("setuid seteuid setfsuid setreuid setgid setegid setfsgid setregid setresuid "
            "setresgid", ("changed-identity-of", "process", "change")),
    **_each("settimeofday clock_settime stime adjtimex", ("changed-system-time", "host",
                                                          "change")),
    **_each("mknod mknodat", ("make-device", "file", "creation")),
    **_each("sethostname setdomainname", ("changed-system-name", "host", "change")),
    **_each("mmap mmap2 brk", ("allocated-memory", "process", "info")),
    **_each("sched_setparam sched_setscheduler sched_setattr",
            ("adjusted-scheduling-policy-of", "process", "change")),
}

# Record types (events without a SYSCALL, or whose record says more than the syscall)
RECORDS: dict[str, Ecs] = {
    "USER_LOGIN": ("logged-in", "authentication", "start"),
    "USER_LOGOUT": ("logged-out", "authentication", "end"),
    "USER_AUTH": ("authenticated", "authentication", "info"),
    "USER_ACCT": ("was-authorized", "authentication", "info"),
    "USER_ERR": ("error", "authentication", "info"),
    "CRED_ACQ": ("acquired-credentials", "authentication", "info"),
    "CRED_DISP": ("disposed-credentials", "authentication", "info"),
    "CRED_REFR": ("refreshed-credentials", "authentication", "info"),
    "GRP_AUTH": ("authenticated-to-group", "authentication", "info"),
    "LOGIN": ("changed-login-id-to", "authentication", "start"),
    # as in Elastic's golden output (its newer normaliser says authentication/info)
    "USER_START": ("started-session", "session", "start"),
    "USER_END": ("ended-session", "session", "end"),
    "USER_CHAUTHTOK": ("changed-password", "iam", "change"),
    "GRP_CHAUTHTOK": ("changed-group-password", "iam", "change"),
    "USER_MGMT": ("modified-user-account", "iam", "change"),
    "ACCT_LOCK": ("locked-account", "iam", "info"),
    "ACCT_UNLOCK": ("unlocked-account", "iam", "info"),
    "ADD_USER": ("added-user-account", "iam", "creation"),
    "DEL_USER": ("deleted-user-account", "iam", "deletion"),
    "ADD_GROUP": ("added-group-account-to", "iam", "creation"),
    "DEL_GROUP": ("deleted-group-account-from", "iam", "deletion"),
    "GRP_MGMT": ("modified-group-account", "iam", "change"),
    "ROLE_ASSIGN": ("assigned-user-role-to", "iam", "change"),
    "ROLE_MODIFY": ("modified-role", "iam", "change"),
    "ROLE_REMOVE": ("removed-user-role-from", "iam", "change"),
    "USER_ROLE_CHANGE": ("changed-role-to", "iam", "change"),
    "CHGRP_ID": ("changed-group", "process", "change"),
    "CHUSER_ID": ("changed-user-id", "process", "change"),
    "TEST": ("sent-test", "process", "info"),
    "TRUSTED_APP": ("unknown", "process", "info"),
    "USER_CMD": ("ran-command", "process", "start"),
    "SYSTEM_BOOT": ("booted-system", "host", "start"),
    "SYSTEM_RUNLEVEL": ("changed-to-runlevel", "host", "change"),
    "SYSTEM_SHUTDOWN": ("shutdown-system", "host", "end"),
    "SERVICE_START": ("started-service", "process", "start"),
    "SERVICE_STOP": ("stopped-service", "process", "end"),
    "CONFIG_CHANGE": ("changed-audit-configuration", "configuration", "change"),
    "DAEMON_ABORT": ("aborted-auditd-startup", "process", "end"),
    "DAEMON_ACCEPT": ("remote-audit-connected", "network", "connection"),
    "DAEMON_CLOSE": ("remote-audit-disconnected", "network", "connection"),
    "DAEMON_CONFIG": ("changed-auditd-configuration", "configuration", "change"),
    "DAEMON_END": ("shutdown-audit", "process", "end"),
    "DAEMON_ERR": ("audit-error", "process", "info"),
    "DAEMON_RECONFIG": ("reconfigured-auditd", "configuration", "info"),
    "DAEMON_RESUME": ("resumed-audit-logging", "process", "change"),
    "DAEMON_ROTATE": ("rotated-audit-logs", "process", "change"),
    "DAEMON_START": ("started-audit", "process", "start"),
    "KERNEL": ("initialized-audit-subsystem", "process", "info"),
    "USYS_CONFIG": ("changed-configuration", "configuration", "change"),
    "NETFILTER_CFG": ("loaded-firewall-rule-to", "configuration", "change"),
    "FEATURE_CHANGE": ("changed-audit-feature", "configuration", "change"),
    "MAC_CONFIG_CHANGE": ("changed-selinux-boolean", "configuration", "change"),
    "MAC_POLICY_LOAD": ("loaded-selinux-policy", "configuration", "access"),
    "MAC_STATUS": ("changed-selinux-enforcement", "configuration", "change"),
    "USER_MAC_CONFIG_CHANGE": ("changed-mac-configuration", "configuration", "change"),
    "USER_MAC_POLICY_LOAD": ("loaded-mac-policy", "configuration", "access"),
    "TTY": ("typed", "process", "info"),
    "USER_TTY": ("typed", "process", "info"),
    "AVC": ("violated-selinux-policy", "process", "info"),
    "USER_AVC": ("access-permission", "process", "info"),
    "USER_SELINUX_ERR": ("access-error", "process", "error"),
    "SELINUX_ERR": ("caused-mac-policy-error", "process", "error"),
    "SECCOMP": ("violated-seccomp-policy", "process", "info"),
    "ANOM_ABEND": ("crashed-program", "process", "end"),
    "ANOM_EXEC": ("attempted-execution-of-forbidden-program", "process", "start"),
    "ANOM_LINK": ("used-suspicious-link", "file", "info"),
    "ANOM_PROMISCUOUS": ("changed-promiscuous-mode-on-device", "host", "change"),
    "ANOM_LOGIN_FAILURES": ("failed-log-in-too-many-times-to", "authentication", "info"),
    "ANOM_LOGIN_LOCATION": ("attempted-log-in-from-unusual-place-to", "authentication",
                            "info"),
    "ANOM_LOGIN_SESSIONS": ("opened-too-many-sessions-to", "authentication", "info"),
    "ANOM_LOGIN_TIME": ("attempted-log-in-during-unusual-hour-to", "authentication", "info"),
    "CRYPTO_KEY_USER": ("negotiated-crypto-key", "process", "info"),
    "CRYPTO_SESSION": ("started-crypto-session", "process", "info"),
    "CRYPTO_LOGIN": ("crypto-officer-logged-in", "authentication", "start"),
    "CRYPTO_LOGOUT": ("crypto-officer-logged-out", "process", "info"),
    "KERN_MODULE": ("loaded-kernel-module", "driver", "start"),
    "VIRT_CONTROL": ("issued-vm-control", "host", "info"),
    "VIRT_CREATE": ("created-vm-image", "host", "info"),
    "VIRT_DESTROY": ("deleted-vm-image", "host", "info"),
    "VIRT_MACHINE_ID": ("assigned-vm-id", "host", "info"),
    "VIRT_RESOURCE": ("assigned-vm-resource", "host", "info"),
    "USER": ("sent-message", "process", "info"),
}
# Records that only add detail to the event they belong to
AUXILIARY = frozenset({
    "CWD", "PATH", "PROCTITLE", "EXECVE", "SOCKADDR", "EOE", "BPRM_FCAPS", "CAPSET", "MMAP",
    "FD_PAIR", "OBJ_PID", "IPC", "IPC_SET_PERM", "SOCKETCALL", "OPENAT2", "MQ_OPEN",
    "MQ_SENDRECV", "MQ_NOTIFY", "MQ_GETSETATTR", "NETFILTER_PKT", "AVC_PATH", "URINGOP",
    "TIME_INJOFFSET", "TIME_ADJNTPVAL", "KERNEL_OTHER", "REPLACE", "BPF", "FANOTIFY",
})
ACL_TOOLS = frozenset({"setfacl", "chacl", "nfs4_setfacl", "setrichacl"})
ERRNO = {
    1: "EPERM", 2: "ENOENT", 5: "EIO", 9: "EBADF", 13: "EACCES", 16: "EBUSY", 17: "EEXIST",
    18: "EXDEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 24: "EMFILE", 26: "ETXTBSY",
    28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 39: "ENOTEMPTY", 40: "ELOOP",
    61: "ENODATA", 95: "EOPNOTSUPP", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
    115: "EINPROGRESS", 122: "EDQUOT",
}
# open(2) flags (x86_64 and aarch64 agree on these)
O_ACCMODE, O_WRONLY, O_RDWR = 0o3, 0o1, 0o2
O_FLAGS = {0o100: "O_CREAT", 0o200: "O_EXCL", 0o1000: "O_TRUNC", 0o2000: "O_APPEND"}
# where the new mode / owner is among each syscall's arguments
MODE_ARG = {"chmod": "a1", "fchmod": "a1", "fchmodat": "a2", "fchmodat2": "a2"}
OWNER_ARGS = {"chown": ("a1", "a2"), "fchown": ("a1", "a2"), "lchown": ("a1", "a2"),
              "fchownat": ("a2", "a3")}
FLAGS_ARG = {"open": "a1", "openat": "a2"}  # openat2 logs an OPENAT2 record (oflag=)
UNCHANGED_ID = ("ffffffff", "ffffffffffffffff")  # (uid_t)-1: this id stays as it was


def syscall_name(fields: dict[str, str], interp: dict[str, str]) -> str | None:
    """The syscall's name: ENRICHED says it, else our tables by architecture."""
    if interp.get("SYSCALL"):
        return interp["SYSCALL"]
    number = fields.get("syscall")
    if number is None:
        return None
    if not number.isdigit():
        return number
    arch = ARCHES.get(fields.get("arch", ""), "")
    return SYSCALL_TABLES.get(arch, {}).get(int(number), number)


def outcome_of(value: str | None) -> str:
    if value in ("yes", "success", "1"):
        return "success"
    if value in ("no", "failed", "fail", "0"):
        return "failure"
    return "unknown"

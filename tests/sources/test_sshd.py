"""The sshd source, on lines a real OpenSSH 9.2 sshd with Linux-PAM wrote on this machine
(tests/fixtures/sshd.py, scenario below) in both syslog forms rsyslogd writes, and on
`journalctl -o json` records of the same sshd logging to a private systemd-journald.

Scenario, in order: password login; wrong password; unknown user `nosuchuser`; key
login (ECDSA key made by paramiko); keyboard-interactive login; wrong
keyboard-interactive answer; four wrong passwords on one connection (MaxAuthTries 3);
the same for unknown user `ghost`; password login that ends with a client disconnect.
"""
# ruff: noqa: E501, W291 - real log lines are long, and some end with a space

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.event import Event
from monitor.sources import SOURCES
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.sshd import SshdParser
from monitor.sources.sshd_attempts import WINDOW_US
from monitor.sources.tail import Line

NOW = datetime(2026, 11, 28, tzinfo=UTC)

RFC3339 = r"""
2026-11-27T14:25:24.440267+00:00 vm sshd[1]: Server listening on 127.0.0.1 port 54087.
2026-11-27T14:25:24.868904+00:00 vm sshd[13]: Accepted password for wwtest from 127.0.0.1 port 51196 ssh2
2026-11-27T14:25:24.870209+00:00 vm sshd[13]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
2026-11-27T14:25:24.870614+00:00 vm sshd[13]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
2026-11-27T14:25:24.894848+00:00 vm sshd[13]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:24.894937+00:00 vm sshd[13]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:24.895028+00:00 vm sshd[13]: pam_env(sshd:session): deprecated reading of user environment enabled
2026-11-27T14:25:25.057471+00:00 vm sshd[13]: pam_unix(sshd:session): session closed for user wwtest
2026-11-27T14:25:25.166223+00:00 vm sshd[21]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
2026-11-27T14:25:27.268996+00:00 vm sshd[21]: Failed password for wwtest from 127.0.0.1 port 51202 ssh2
2026-11-27T14:25:28.448586+00:00 vm sshd[21]: Connection closed by authenticating user wwtest 127.0.0.1 port 51202 [preauth]
2026-11-27T14:25:28.455672+00:00 vm sshd[23]: Invalid user nosuchuser from 127.0.0.1 port 57236
2026-11-27T14:25:28.464636+00:00 vm sshd[23]: pam_unix(sshd:auth): check pass; user unknown
2026-11-27T14:25:28.464676+00:00 vm sshd[23]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 
2026-11-27T14:25:30.648518+00:00 vm sshd[23]: Failed password for invalid user nosuchuser from 127.0.0.1 port 57236 ssh2
2026-11-27T14:25:32.426334+00:00 vm sshd[23]: Connection closed by invalid user nosuchuser 127.0.0.1 port 57236 [preauth]
2026-11-27T14:25:32.498851+00:00 vm sshd[25]: Accepted publickey for wwtest from 127.0.0.1 port 57240 ssh2: ECDSA SHA256:5UgUFGQ3MWoszJV2WRSJ6u5/nvEGKcD+wja+Uy2THhM
2026-11-27T14:25:32.502132+00:00 vm sshd[25]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
2026-11-27T14:25:32.502520+00:00 vm sshd[25]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
2026-11-27T14:25:32.529938+00:00 vm sshd[25]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:32.530034+00:00 vm sshd[25]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:32.530103+00:00 vm sshd[25]: pam_env(sshd:session): deprecated reading of user environment enabled
2026-11-27T14:25:32.701256+00:00 vm sshd[25]: pam_unix(sshd:session): session closed for user wwtest
2026-11-27T14:25:32.968512+00:00 vm sshd[34]: Accepted keyboard-interactive/pam for wwtest from 127.0.0.1 port 57244 ssh2
2026-11-27T14:25:32.970400+00:00 vm sshd[34]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
2026-11-27T14:25:32.975420+00:00 vm sshd[34]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
2026-11-27T14:25:33.019577+00:00 vm sshd[34]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:33.030239+00:00 vm sshd[34]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:33.030302+00:00 vm sshd[34]: pam_env(sshd:session): deprecated reading of user environment enabled
2026-11-27T14:25:33.038431+00:00 vm sshd[34]: pam_unix(sshd:session): session closed for user wwtest
2026-11-27T14:25:33.520096+00:00 vm sshd[44]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
2026-11-27T14:25:35.723521+00:00 vm sshd[42]: error: PAM: Authentication failure for wwtest from 127.0.0.1
2026-11-27T14:25:35.825098+00:00 vm sshd[42]: Connection closed by authenticating user wwtest 127.0.0.1 port 57260 [preauth]
2026-11-27T14:25:36.404940+00:00 vm sshd[45]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
2026-11-27T14:25:38.356901+00:00 vm sshd[45]: Failed password for wwtest from 127.0.0.1 port 52586 ssh2
2026-11-27T14:25:41.844620+00:00 vm sshd[45]: Failed password for wwtest from 127.0.0.1 port 52586 ssh2
2026-11-27T14:25:44.604954+00:00 vm sshd[45]: Failed password for wwtest from 127.0.0.1 port 52586 ssh2
2026-11-27T14:25:46.028338+00:00 vm sshd[45]: error: maximum authentication attempts exceeded for wwtest from 127.0.0.1 port 52586 ssh2 [preauth]
2026-11-27T14:25:46.028504+00:00 vm sshd[45]: Disconnecting authenticating user wwtest 127.0.0.1 port 52586: Too many authentication failures [preauth]
2026-11-27T14:25:46.029972+00:00 vm sshd[45]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
2026-11-27T14:25:46.466992+00:00 vm sshd[47]: Invalid user ghost from 127.0.0.1 port 46088
2026-11-27T14:25:46.475328+00:00 vm sshd[47]: pam_unix(sshd:auth): check pass; user unknown
2026-11-27T14:25:46.475440+00:00 vm sshd[47]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 
2026-11-27T14:25:48.463586+00:00 vm sshd[47]: Failed password for invalid user ghost from 127.0.0.1 port 46088 ssh2
2026-11-27T14:25:48.640224+00:00 vm sshd[47]: pam_unix(sshd:auth): check pass; user unknown
2026-11-27T14:25:50.568366+00:00 vm sshd[47]: Failed password for invalid user ghost from 127.0.0.1 port 46088 ssh2
2026-11-27T14:25:50.808552+00:00 vm sshd[47]: pam_unix(sshd:auth): check pass; user unknown
2026-11-27T14:25:53.016845+00:00 vm sshd[47]: Failed password for invalid user ghost from 127.0.0.1 port 46088 ssh2
2026-11-27T14:25:55.143544+00:00 vm sshd[47]: error: maximum authentication attempts exceeded for invalid user ghost from 127.0.0.1 port 46088 ssh2 [preauth]
2026-11-27T14:25:55.143573+00:00 vm sshd[47]: Disconnecting invalid user ghost 127.0.0.1 port 46088: Too many authentication failures [preauth]
2026-11-27T14:25:55.144180+00:00 vm sshd[47]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 
2026-11-27T14:25:56.402542+00:00 vm sshd[49]: Accepted password for wwtest from 127.0.0.1 port 54856 ssh2
2026-11-27T14:25:56.407998+00:00 vm sshd[49]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
2026-11-27T14:25:56.408530+00:00 vm sshd[49]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
2026-11-27T14:25:56.443064+00:00 vm sshd[49]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:56.452920+00:00 vm sshd[49]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
2026-11-27T14:25:56.453008+00:00 vm sshd[49]: pam_env(sshd:session): deprecated reading of user environment enabled
2026-11-27T14:25:56.561068+00:00 vm sshd[55]: Received disconnect from 127.0.0.1 port 54856:11: disconnected by user
2026-11-27T14:25:56.561364+00:00 vm sshd[55]: Disconnected from user wwtest 127.0.0.1 port 54856
2026-11-27T14:25:56.562344+00:00 vm sshd[49]: pam_unix(sshd:session): session closed for user wwtest
2026-11-27T14:25:58.021897+00:00 vm sshd[1]: Received signal 15; terminating.
""".strip("\n").splitlines()

BSD = r"""
Nov 27 14:25:24 vm sshd[1]: Server listening on 127.0.0.1 port 54087.
Nov 27 14:25:24 vm sshd[13]: Accepted password for wwtest from 127.0.0.1 port 51196 ssh2
Nov 27 14:25:24 vm sshd[13]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
Nov 27 14:25:24 vm sshd[13]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
Nov 27 14:25:24 vm sshd[13]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
Nov 27 14:25:24 vm sshd[13]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
Nov 27 14:25:24 vm sshd[13]: pam_env(sshd:session): deprecated reading of user environment enabled
Nov 27 14:25:25 vm sshd[13]: pam_unix(sshd:session): session closed for user wwtest
Nov 27 14:25:25 vm sshd[21]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
Nov 27 14:25:27 vm sshd[21]: Failed password for wwtest from 127.0.0.1 port 51202 ssh2
Nov 27 14:25:28 vm sshd[21]: Connection closed by authenticating user wwtest 127.0.0.1 port 51202 [preauth]
Nov 27 14:25:28 vm sshd[23]: Invalid user nosuchuser from 127.0.0.1 port 57236
Nov 27 14:25:28 vm sshd[23]: pam_unix(sshd:auth): check pass; user unknown
Nov 27 14:25:28 vm sshd[23]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 
Nov 27 14:25:30 vm sshd[23]: Failed password for invalid user nosuchuser from 127.0.0.1 port 57236 ssh2
Nov 27 14:25:32 vm sshd[23]: Connection closed by invalid user nosuchuser 127.0.0.1 port 57236 [preauth]
Nov 27 14:25:32 vm sshd[25]: Accepted publickey for wwtest from 127.0.0.1 port 57240 ssh2: ECDSA SHA256:5UgUFGQ3MWoszJV2WRSJ6u5/nvEGKcD+wja+Uy2THhM
Nov 27 14:25:32 vm sshd[25]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
Nov 27 14:25:32 vm sshd[25]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
Nov 27 14:25:32 vm sshd[25]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
Nov 27 14:25:32 vm sshd[25]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
Nov 27 14:25:32 vm sshd[25]: pam_env(sshd:session): deprecated reading of user environment enabled
Nov 27 14:25:32 vm sshd[25]: pam_unix(sshd:session): session closed for user wwtest
Nov 27 14:25:32 vm sshd[34]: Accepted keyboard-interactive/pam for wwtest from 127.0.0.1 port 57244 ssh2
Nov 27 14:25:32 vm sshd[34]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
Nov 27 14:25:32 vm sshd[34]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
Nov 27 14:25:33 vm sshd[34]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
Nov 27 14:25:33 vm sshd[34]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
Nov 27 14:25:33 vm sshd[34]: pam_env(sshd:session): deprecated reading of user environment enabled
Nov 27 14:25:33 vm sshd[34]: pam_unix(sshd:session): session closed for user wwtest
Nov 27 14:25:33 vm sshd[44]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
Nov 27 14:25:35 vm sshd[42]: error: PAM: Authentication failure for wwtest from 127.0.0.1
Nov 27 14:25:35 vm sshd[42]: Connection closed by authenticating user wwtest 127.0.0.1 port 57260 [preauth]
Nov 27 14:25:36 vm sshd[45]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
Nov 27 14:25:38 vm sshd[45]: Failed password for wwtest from 127.0.0.1 port 52586 ssh2
Nov 27 14:25:41 vm sshd[45]: Failed password for wwtest from 127.0.0.1 port 52586 ssh2
Nov 27 14:25:44 vm sshd[45]: Failed password for wwtest from 127.0.0.1 port 52586 ssh2
Nov 27 14:25:46 vm sshd[45]: error: maximum authentication attempts exceeded for wwtest from 127.0.0.1 port 52586 ssh2 [preauth]
Nov 27 14:25:46 vm sshd[45]: Disconnecting authenticating user wwtest 127.0.0.1 port 52586: Too many authentication failures [preauth]
Nov 27 14:25:46 vm sshd[45]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest
Nov 27 14:25:46 vm sshd[47]: Invalid user ghost from 127.0.0.1 port 46088
Nov 27 14:25:46 vm sshd[47]: pam_unix(sshd:auth): check pass; user unknown
Nov 27 14:25:46 vm sshd[47]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 
Nov 27 14:25:48 vm sshd[47]: Failed password for invalid user ghost from 127.0.0.1 port 46088 ssh2
Nov 27 14:25:48 vm sshd[47]: pam_unix(sshd:auth): check pass; user unknown
Nov 27 14:25:50 vm sshd[47]: Failed password for invalid user ghost from 127.0.0.1 port 46088 ssh2
Nov 27 14:25:50 vm sshd[47]: pam_unix(sshd:auth): check pass; user unknown
Nov 27 14:25:53 vm sshd[47]: Failed password for invalid user ghost from 127.0.0.1 port 46088 ssh2
Nov 27 14:25:55 vm sshd[47]: error: maximum authentication attempts exceeded for invalid user ghost from 127.0.0.1 port 46088 ssh2 [preauth]
Nov 27 14:25:55 vm sshd[47]: Disconnecting invalid user ghost 127.0.0.1 port 46088: Too many authentication failures [preauth]
Nov 27 14:25:55 vm sshd[47]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 
Nov 27 14:25:56 vm sshd[49]: Accepted password for wwtest from 127.0.0.1 port 54856 ssh2
Nov 27 14:25:56 vm sshd[49]: pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)
Nov 27 14:25:56 vm sshd[49]: pam_systemd(sshd:session): Failed to connect to system bus: No such file or directory
Nov 27 14:25:56 vm sshd[49]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0
Nov 27 14:25:56 vm sshd[49]: pam_limits(sshd:session): Could not set limit for 'memlock' to soft=-1, hard=-1: Operation not permitted; uid=0,euid=0
Nov 27 14:25:56 vm sshd[49]: pam_env(sshd:session): deprecated reading of user environment enabled
Nov 27 14:25:56 vm sshd[55]: Received disconnect from 127.0.0.1 port 54856:11: disconnected by user
Nov 27 14:25:56 vm sshd[55]: Disconnected from user wwtest 127.0.0.1 port 54856
Nov 27 14:25:56 vm sshd[49]: pam_unix(sshd:session): session closed for user wwtest
Nov 27 14:25:58 vm sshd[1]: Received signal 15; terminating.
""".strip("\n").splitlines()

JOURNAL = r"""
{"SYSLOG_IDENTIFIER":"sshd","_PID":"17","_SOURCE_REALTIME_TIMESTAMP":"1795789162055601","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_CAP_EFFECTIVE":"1fffeffffff","SYSLOG_TIMESTAMP":"Nov 27 14:19:22 ","MESSAGE":"Server listening on 127.0.0.1 port 2298.","PRIORITY":"6","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=158;b=d668bea82d7a487f8d3e93163a4823a5;m=5fda8e73;t=66142bf1887c6;x=1f2490e354c3eff9","_GID":"0","SYSLOG_PID":"17","_HOSTNAME":"vm","_COMM":"sshd","_EXE":"/usr/sbin/sshd","_CMDLINE":"/usr/sbin/sshd -D -f /tmp/sshd-task/jr/sshd_config -p 2298","__MONOTONIC_TIMESTAMP":"1608158835","_UID":"0","__REALTIME_TIMESTAMP":"1795789162055622","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","_RUNTIME_SCOPE":"system","_TRANSPORT":"syslog","SYSLOG_FACILITY":"4"}
{"_UID":"0","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=159;b=d668bea82d7a487f8d3e93163a4823a5;m=5fefd0c3;t=66142bf2dca16;x=a00205044be12166","_TRANSPORT":"syslog","_COMM":"sshd","_CMDLINE":"\"sshd: wwtest [priv]\"","_PID":"20","_CAP_EFFECTIVE":"1fffeffffff","PRIORITY":"6","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","__MONOTONIC_TIMESTAMP":"1609552067","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","__REALTIME_TIMESTAMP":"1795789163448854","_HOSTNAME":"vm","SYSLOG_FACILITY":"4","SYSLOG_PID":"20","_GID":"0","_EXE":"/usr/sbin/sshd","MESSAGE":"Accepted password for wwtest from 127.0.0.1 port 40286 ssh2","_SOURCE_REALTIME_TIMESTAMP":"1795789163448774","_RUNTIME_SCOPE":"system","SYSLOG_IDENTIFIER":"sshd","SYSLOG_TIMESTAMP":"Nov 27 14:19:23 "}
{"_RUNTIME_SCOPE":"system","SYSLOG_TIMESTAMP":"Nov 27 14:19:23 ","_UID":"0","SYSLOG_PID":"20","_SOURCE_REALTIME_TIMESTAMP":"1795789163450855","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","__MONOTONIC_TIMESTAMP":"1609554113","_COMM":"sshd","__REALTIME_TIMESTAMP":"1795789163450900","SYSLOG_IDENTIFIER":"sshd","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=15a;b=d668bea82d7a487f8d3e93163a4823a5;m=5fefd8c1;t=66142bf2dd214;x=ceb12f0b5fefeb5f","_CAP_EFFECTIVE":"1fffeffffff","_CMDLINE":"\"sshd: wwtest [priv]\"","MESSAGE":"pam_unix(sshd:session): session opened for user wwtest(uid=1003) by (uid=0)","_EXE":"/usr/sbin/sshd","PRIORITY":"6","_PID":"20","_HOSTNAME":"vm","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","_GID":"0","_TRANSPORT":"syslog","SYSLOG_FACILITY":"10"}
{"_CAP_EFFECTIVE":"1fffeffffff","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","SYSLOG_TIMESTAMP":"Nov 27 14:19:23 ","SYSLOG_FACILITY":"10","_GID":"0","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=15d;b=d668bea82d7a487f8d3e93163a4823a5;m=5ff7923a;t=66142bf358b8d;x=405b57cb99c771b1","_UID":"0","_TRANSPORT":"syslog","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","MESSAGE":"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest","__MONOTONIC_TIMESTAMP":"1610060346","SYSLOG_IDENTIFIER":"sshd","_CMDLINE":"\"sshd: wwtest [priv]\"","_RUNTIME_SCOPE":"system","__REALTIME_TIMESTAMP":"1795789163957133","_SOURCE_REALTIME_TIMESTAMP":"1795789163957110","_COMM":"sshd","_EXE":"/usr/sbin/sshd","SYSLOG_PID":"31","PRIORITY":"5","_PID":"31","_HOSTNAME":"vm"}
{"_CAP_EFFECTIVE":"1fffeffffff","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","_UID":"0","_SOURCE_REALTIME_TIMESTAMP":"1795789165699875","SYSLOG_IDENTIFIER":"sshd","__MONOTONIC_TIMESTAMP":"1611803215","_COMM":"sshd","_HOSTNAME":"vm","PRIORITY":"6","_TRANSPORT":"syslog","MESSAGE":"Failed password for wwtest from 127.0.0.1 port 40292 ssh2","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=15e;b=d668bea82d7a487f8d3e93163a4823a5;m=60122a4f;t=66142bf5023a2;x=a52e9ebc1c333b21","__REALTIME_TIMESTAMP":"1795789165700002","_PID":"31","_EXE":"/usr/sbin/sshd","_GID":"0","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_CMDLINE":"\"sshd: wwtest [priv]\"","SYSLOG_PID":"31","SYSLOG_TIMESTAMP":"Nov 27 14:19:25 ","_RUNTIME_SCOPE":"system","SYSLOG_FACILITY":"4"}
{"_HOSTNAME":"vm","_TRANSPORT":"syslog","_EXE":"/usr/sbin/sshd","_CAP_EFFECTIVE":"1fffeffffff","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","SYSLOG_IDENTIFIER":"sshd","_PID":"31","_GID":"0","_SOURCE_REALTIME_TIMESTAMP":"1795789167360612","_COMM":"sshd","MESSAGE":"Connection closed by authenticating user wwtest 127.0.0.1 port 40292 [preauth]","_CMDLINE":"\"sshd: wwtest [priv]\"","SYSLOG_FACILITY":"4","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=15f;b=d668bea82d7a487f8d3e93163a4823a5;m=602b8137;t=66142bf697a8b;x=22e5f5f5309af536","__REALTIME_TIMESTAMP":"1795789167360651","SYSLOG_TIMESTAMP":"Nov 27 14:19:27 ","_RUNTIME_SCOPE":"system","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","PRIORITY":"6","SYSLOG_PID":"31","_UID":"0","__MONOTONIC_TIMESTAMP":"1613463863"}
{"_EXE":"/usr/sbin/sshd","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","_HOSTNAME":"vm","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","MESSAGE":"Invalid user nosuchuser from 127.0.0.1 port 44224","_COMM":"sshd","__MONOTONIC_TIMESTAMP":"1613722188","_UID":"0","SYSLOG_TIMESTAMP":"Nov 27 14:19:27 ","SYSLOG_FACILITY":"4","_CAP_EFFECTIVE":"1fffeffffff","_PID":"35","_CMDLINE":"\"sshd: unknown [priv]\"","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=160;b=d668bea82d7a487f8d3e93163a4823a5;m=602f724c;t=66142bf6d6ba0;x=3ca1a79dc41758c4","SYSLOG_IDENTIFIER":"sshd","_RUNTIME_SCOPE":"system","_GID":"0","_TRANSPORT":"syslog","_SOURCE_REALTIME_TIMESTAMP":"1795789167618677","__REALTIME_TIMESTAMP":"1795789167618976","PRIORITY":"6","SYSLOG_PID":"35"}
{"SYSLOG_PID":"35","_HOSTNAME":"vm","SYSLOG_FACILITY":"10","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=161;b=d668bea82d7a487f8d3e93163a4823a5;m=602f7d3b;t=66142bf6d768f;x=be37a9ee1b3cea19","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","__REALTIME_TIMESTAMP":"1795789167621775","_SOURCE_REALTIME_TIMESTAMP":"1795789167621656","MESSAGE":"pam_unix(sshd:auth): check pass; user unknown","_EXE":"/usr/sbin/sshd","_CMDLINE":"\"sshd: unknown [priv]\"","_CAP_EFFECTIVE":"1fffeffffff","__MONOTONIC_TIMESTAMP":"1613724987","SYSLOG_TIMESTAMP":"Nov 27 14:19:27 ","SYSLOG_IDENTIFIER":"sshd","_GID":"0","_UID":"0","PRIORITY":"5","_COMM":"sshd","_PID":"35","_TRANSPORT":"syslog","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","_RUNTIME_SCOPE":"system"}
{"_UID":"0","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","SYSLOG_RAW":"<85>Nov 27 14:19:27 sshd[35]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1 ","_GID":"0","_CAP_EFFECTIVE":"1fffeffffff","_HOSTNAME":"vm","SYSLOG_PID":"35","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1","_PID":"35","_COMM":"sshd","SYSLOG_TIMESTAMP":"Nov 27 14:19:27 ","_EXE":"/usr/sbin/sshd","_TRANSPORT":"syslog","_SOURCE_REALTIME_TIMESTAMP":"1795789167621687","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=162;b=d668bea82d7a487f8d3e93163a4823a5;m=602f7d82;t=66142bf6d76d6;x=9fc2dddf9d3d8cf8","SYSLOG_FACILITY":"10","_CMDLINE":"\"sshd: unknown [priv]\"","_RUNTIME_SCOPE":"system","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","__MONOTONIC_TIMESTAMP":"1613725058","__REALTIME_TIMESTAMP":"1795789167621846","PRIORITY":"5"}
{"_TRANSPORT":"syslog","_HOSTNAME":"vm","SYSLOG_FACILITY":"4","PRIORITY":"6","_UID":"0","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=163;b=d668bea82d7a487f8d3e93163a4823a5;m=60578e48;t=66142bf95879a;x=691fb4766b36a2","_COMM":"sshd","SYSLOG_TIMESTAMP":"Nov 27 14:19:30 ","SYSLOG_PID":"35","_RUNTIME_SCOPE":"system","_SOURCE_REALTIME_TIMESTAMP":"1795789170247022","_CMDLINE":"\"sshd: unknown [priv]\"","__MONOTONIC_TIMESTAMP":"1616350792","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","__REALTIME_TIMESTAMP":"1795789170247578","_EXE":"/usr/sbin/sshd","MESSAGE":"Failed password for invalid user nosuchuser from 127.0.0.1 port 44224 ssh2","_PID":"35","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_CAP_EFFECTIVE":"1fffeffffff","_GID":"0","SYSLOG_IDENTIFIER":"sshd"}
{"_CAP_EFFECTIVE":"1fffeffffff","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=164;b=d668bea82d7a487f8d3e93163a4823a5;m=60740500;t=66142bfb1fe53;x=1197989658f7b32b","SYSLOG_TIMESTAMP":"Nov 27 14:19:32 ","SYSLOG_FACILITY":"4","_CMDLINE":"\"sshd: unknown [priv]\"","__REALTIME_TIMESTAMP":"1795789172112979","PRIORITY":"6","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_HOSTNAME":"vm","_RUNTIME_SCOPE":"system","_PID":"35","_GID":"0","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","MESSAGE":"Connection closed by invalid user nosuchuser 127.0.0.1 port 44224 [preauth]","_COMM":"sshd","_UID":"0","__MONOTONIC_TIMESTAMP":"1618216192","SYSLOG_PID":"35","_SOURCE_REALTIME_TIMESTAMP":"1795789172112960","_EXE":"/usr/sbin/sshd","SYSLOG_IDENTIFIER":"sshd","_TRANSPORT":"syslog"}
{"_PID":"39","_UID":"0","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","SYSLOG_PID":"39","_SOURCE_REALTIME_TIMESTAMP":"1795789172434396","_RUNTIME_SCOPE":"system","SYSLOG_IDENTIFIER":"sshd","_CMDLINE":"\"sshd: wwtest [priv]\"","_AUDIT_LOGINUID":"1003","_TRANSPORT":"syslog","_CAP_EFFECTIVE":"1fffeffffff","_GID":"0","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=165;b=d668bea82d7a487f8d3e93163a4823a5;m=6078f1f2;t=66142bfb6eb45;x=480a48ba4fc6e740","__REALTIME_TIMESTAMP":"1795789172435781","_COMM":"sshd","_EXE":"/usr/sbin/sshd","_AUDIT_SESSION":"6","MESSAGE":"Accepted publickey for wwtest from 127.0.0.1 port 44234 ssh2: ED25519 SHA256:7BcumtaF9eoCp8WdUvwHseLTn3LYpWyBstSrW/xcgD8","__MONOTONIC_TIMESTAMP":"1618538994","_HOSTNAME":"vm","SYSLOG_FACILITY":"4","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","SYSLOG_TIMESTAMP":"Nov 27 14:19:32 ","PRIORITY":"6"}
{"_UID":"0","__MONOTONIC_TIMESTAMP":"1619465986","_EXE":"/usr/sbin/sshd","_CMDLINE":"\"sshd: wwtest [pam]\"","_RUNTIME_SCOPE":"system","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","SYSLOG_TIMESTAMP":"Nov 27 14:19:33 ","_HOSTNAME":"vm","PRIORITY":"5","_SOURCE_REALTIME_TIMESTAMP":"1795789173362234","__REALTIME_TIMESTAMP":"1795789173362773","_CAP_EFFECTIVE":"1fffeffffff","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","SYSLOG_FACILITY":"10","_COMM":"sshd","_PID":"62","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=wwtest","SYSLOG_PID":"62","_GID":"0","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=16d;b=d668bea82d7a487f8d3e93163a4823a5;m=60871702;t=66142bfc51055;x=dbc63066be16c2cc","_TRANSPORT":"syslog"}
{"__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=16e;b=d668bea82d7a487f8d3e93163a4823a5;m=60a758b6;t=66142bfe5520a;x=7acc12e271c1fb8a","PRIORITY":"3","_UID":"0","_HOSTNAME":"vm","_TRANSPORT":"syslog","_EXE":"/usr/sbin/sshd","__REALTIME_TIMESTAMP":"1795789175476746","_RUNTIME_SCOPE":"system","_CMDLINE":"\"sshd: wwtest [priv]\"","_PID":"59","SYSLOG_IDENTIFIER":"sshd","SYSLOG_TIMESTAMP":"Nov 27 14:19:35 ","_GID":"0","MESSAGE":"error: PAM: Authentication failure for wwtest from 127.0.0.1","_COMM":"sshd","_CAP_EFFECTIVE":"1fffeffffff","_SOURCE_REALTIME_TIMESTAMP":"1795789175476662","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","SYSLOG_FACILITY":"4","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","__MONOTONIC_TIMESTAMP":"1621579958","SYSLOG_PID":"59"}
{"_RUNTIME_SCOPE":"system","__REALTIME_TIMESTAMP":"1795789175583278","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_CMDLINE":"\"sshd: wwtest [priv]\"","_BOOT_ID":"d668bea82d7a487f8d3e93163a4823a5","SYSLOG_TIMESTAMP":"Nov 27 14:19:35 ","SYSLOG_PID":"59","_EXE":"/usr/sbin/sshd","_PID":"59","__CURSOR":"s=b20b18b384184c73ad2093e3c2f222c1;i=16f;b=d668bea82d7a487f8d3e93163a4823a5;m=60a8f8db;t=66142bfe6f22e;x=ffcdfbab018dc5c4","SYSLOG_FACILITY":"4","_GID":"0","_UID":"0","_TRANSPORT":"syslog","_CAP_EFFECTIVE":"1fffeffffff","PRIORITY":"6","_SOURCE_REALTIME_TIMESTAMP":"1795789175583228","_COMM":"sshd","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"Connection closed by authenticating user wwtest 127.0.0.1 port 44250 [preauth]","_HOSTNAME":"vm","__MONOTONIC_TIMESTAMP":"1621686491"}
""".strip("\n").splitlines()


def parser(now: datetime = NOW, tz: Any = UTC, **options: Any) -> SshdParser:
    return SshdParser(ParserContext("ssh", "/var/log/auth.log", tz, options, lambda: now))


def run(lines: list[str] | list[bytes], p: SshdParser | None = None, start: int = 0,
        flush: bool = True) -> ParseOutput:
    """Feed lines with the offsets they would have in one file starting at `start`."""
    p = p or parser()
    out = ParseOutput("ssh", "/var/log/auth.log")
    offset = start
    for text in lines:
        data = text.encode() if isinstance(text, str) else text
        p.feed(Line(offset, data, "fp"), out)
        offset += len(data) + 1
    if flush:
        p.flush(out)
    return out


def logins(events: list[Event]) -> list[tuple[str, str | None, str | None, int | None, Any]]:
    return [(e.outcome, e.user_name, e.source_ip, e.source_port,
             e.extra.get("system.auth.ssh.method"))
            for e in events if e.action == "ssh_login"]


def offset_of(lines: list[str], needle: str) -> int:
    index = next(i for i, line in enumerate(lines) if needle in line)
    return sum(len(line.encode()) + 1 for line in lines[:index])


# --------------------------------------------------------------- the real session
def test_real_log_gives_one_event_per_login_attempt() -> None:
    out = run(RFC3339)
    assert out.dead == []
    assert logins(out.events) == [
        ("success", "wwtest", "127.0.0.1", 51196, "password"),
        ("failure", "wwtest", "127.0.0.1", 51202, "password"),
        ("failure", "nosuchuser", "127.0.0.1", 57236, "password"),
        ("success", "wwtest", "127.0.0.1", 57240, "publickey"),
        ("success", "wwtest", "127.0.0.1", 57244, "keyboard-interactive/pam"),
        ("failure", "wwtest", "127.0.0.1", 57260, "keyboard-interactive/pam"),
        ("failure", "wwtest", "127.0.0.1", 52586, "password"),
        ("failure", "wwtest", "127.0.0.1", 52586, "password"),
        ("failure", "wwtest", "127.0.0.1", 52586, "password"),
        ("failure", "ghost", "127.0.0.1", 46088, "password"),
        ("failure", "ghost", "127.0.0.1", 46088, "password"),
        ("failure", "ghost", "127.0.0.1", 46088, "password"),
        ("success", "wwtest", "127.0.0.1", 54856, "password"),
    ]
    logs = [e for e in out.events if e.action == "ssh_login"]
    assert all((e.category, e.type, e.dataset) == ("authentication", "start", "system.auth")
               for e in logs)
    # "Server listening", 16 lines of pam_systemd/pam_limits/pam_env noise, 4 "check pass",
    # 2 "PAM 2 more authentication failures", 2 "Disconnecting …", "Received signal 15"
    assert out.ignored == 26


def test_bsd_form_gives_the_same_events_as_rfc3339() -> None:
    def summary(lines: list[str]) -> list[tuple[Any, ...]]:
        return [(e.action, e.type, e.outcome, e.user_name, e.source_ip, e.source_port,
                 e.host_name, e.extra.get("process.pid"), e.timestamp.replace(microsecond=0))
                for e in run(lines).events]

    assert run(BSD).dead == []
    assert summary(BSD) == summary(RFC3339)


def test_rfc3339_time_keeps_its_microseconds_and_offset() -> None:
    [first] = [e for e in run(RFC3339).events if e.source_port == 51196 and e.action == "ssh_login"]
    assert first.timestamp == datetime(2026, 11, 27, 14, 25, 24, 868904, tzinfo=UTC)
    assert first.host_name == "vm"
    assert first.extra["process.pid"] == 13 and first.extra["process.name"] == "sshd"


def test_key_login_keeps_key_type_and_fingerprint() -> None:
    [key] = [e for e in run(RFC3339).events if e.extra.get("system.auth.ssh.method") == "publickey"]
    assert key.extra["ssh.key_type"] == "ECDSA"
    assert key.extra["ssh.key_fingerprint"] == "SHA256:5UgUFGQ3MWoszJV2WRSJ6u5/nvEGKcD+wja+Uy2THhM"
    assert key.extra["system.auth.ssh.signature"].startswith("ECDSA SHA256:")


def test_wrong_password_pam_line_and_failed_line_are_one_event_at_the_first_line() -> None:
    out = run(RFC3339)
    [ev] = [e for e in out.events if e.source_port == 51202 and e.action == "ssh_login"]
    pam_offset = offset_of(RFC3339, "sshd[21]: pam_unix(sshd:auth): authentication failure")
    assert ev.log_offset == pam_offset
    assert ev.timestamp == datetime(2026, 11, 27, 14, 25, 25, 166223, tzinfo=UTC)
    assert ev.extra["system.auth.lines"] == ["pam_failure", "Failed"]
    assert ev.extra["system.auth.pam.rhost"] == "127.0.0.1"
    assert ev.extra["system.auth.pam.tty"] == "ssh"


def test_unknown_user_lines_fold_into_one_failure_marked_invalid() -> None:
    out = run(RFC3339)
    [ev] = [e for e in out.events if e.user_name == "nosuchuser" and e.action == "ssh_login"]
    assert ev.extra["system.auth.lines"] == ["Invalid", "pam_failure", "Failed"]
    assert ev.extra["system.auth.ssh.invalid_user"] is True
    assert ev.log_offset == offset_of(RFC3339, "Invalid user nosuchuser")


def test_keyboard_interactive_failure_logged_by_pams_helper_process_is_one_event() -> None:
    # pam_unix logs from pid 44 (PAM's helper), sshd from 42, and no `Failed` line comes
    out = run(RFC3339)
    [ev] = [e for e in out.events
            if e.action == "ssh_login" and e.outcome == "failure" and e.source_port == 57260]
    assert ev.extra["system.auth.lines"] == ["pam_failure", "PAM error"]
    assert ev.extra["process.pid"] == 42
    assert ev.log_offset == offset_of(RFC3339, "sshd[44]: pam_unix(sshd:auth)")


def test_max_tries_is_the_end_of_the_connection_not_another_failure() -> None:
    out = run(RFC3339)
    ends = [e for e in out.events if e.action == "ssh_max_auth_tries_exceeded"]
    assert [(e.user_name, e.source_port, e.category, e.type, e.outcome) for e in ends] == [
        ("wwtest", 52586, "session", "end", "failure"),
        ("ghost", 46088, "session", "end", "failure")]
    assert ends[1].extra["system.auth.ssh.invalid_user"] is True
    assert all(e.extra["system.auth.ssh.preauth"] is True for e in ends)


def test_sessions_and_disconnects() -> None:
    events = run(RFC3339).events
    sessions = Counter((e.type, e.user_name) for e in events if e.action == "ssh_session")
    assert sessions == {("start", "wwtest"): 4, ("end", "wwtest"): 4}
    [opened, *_] = [e for e in events if e.action == "ssh_session"]
    assert opened.category == "session" and opened.extra["user.id"] == "1003"
    closes = [e for e in events if e.action == "ssh_disconnect"]
    assert [(e.user_name, e.source_port, e.extra.get("system.auth.ssh.preauth", False))
            for e in closes] == [
        ("wwtest", 51202, True), ("nosuchuser", 57236, True), ("wwtest", 57260, True),
        (None, 54856, False), ("wwtest", 54856, False)]
    received = closes[3]
    assert received.extra["system.auth.ssh.disconnect.code"] == 11
    assert received.extra["system.auth.ssh.disconnect.reason"] == "disconnected by user"
    assert all((e.category, e.type, e.outcome) == ("session", "end", "unknown") for e in closes)


# --------------------------------------------------------------- journal export
def test_journal_json_records_from_a_real_journald() -> None:
    out = run(JOURNAL)
    assert out.dead == []
    assert logins(out.events) == [
        ("success", "wwtest", "127.0.0.1", 40286, "password"),
        ("failure", "wwtest", "127.0.0.1", 40292, "password"),
        ("failure", "nosuchuser", "127.0.0.1", 44224, "password"),
        ("success", "wwtest", "127.0.0.1", 44234, "publickey"),
        ("failure", "wwtest", "127.0.0.1", 44250, "keyboard-interactive/pam"),
    ]
    first = out.events[0]
    assert first.timestamp == datetime(2026, 11, 27, 14, 19, 23, 448854, tzinfo=UTC)
    assert first.host_name == "vm" and first.extra["process.pid"] == 20
    assert out.ignored == 2  # "Server listening", "check pass; user unknown"


def test_journal_message_as_byte_list_and_other_identifiers() -> None:
    record = orjson.loads(JOURNAL[1])
    record["MESSAGE"] = list("Accepted password for j\u00f6rg from 10.0.0.5 port 2222 ssh2".encode())
    other = dict(record, SYSLOG_IDENTIFIER="CRON", MESSAGE="pam_unix(cron:session): session opened")
    out = run([orjson.dumps(record).decode(), orjson.dumps(other).decode()])
    [ev] = out.events
    assert (ev.user_name, ev.source_ip, ev.source_port) == ("j\u00f6rg", "10.0.0.5", 2222)
    assert out.ignored == 1


# --------------------------------------------------------------- envelope details
def test_december_lines_read_on_new_years_day_are_last_years() -> None:
    p = parser(now=datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC))
    out = run(["Dec 31 23:59:58 fs01 sshd[812]: Accepted password for alice from 10.1.2.3 port 50022 ssh2",
               "Jan  1 00:00:01 fs01 sshd[813]: Failed password for bob from 10.1.2.4 port 50023 ssh2"], p)
    assert [e.timestamp for e in out.events] == [
        datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)]


def test_bsd_time_is_read_in_the_configured_timezone() -> None:
    from zoneinfo import ZoneInfo
    out = run(["Nov 27 14:25:24 vm sshd[13]: Accepted password for wwtest from 127.0.0.1 port 51196 ssh2"],
              parser(tz=ZoneInfo("Asia/Shanghai")))
    assert out.events[0].timestamp == datetime(2026, 11, 27, 6, 25, 24, tzinfo=UTC)


@pytest.mark.parametrize("now", [datetime(2027, 3, 1, tzinfo=UTC),
                                 # leap year: parse_syslog's "last year" step raises ValueError
                                 datetime(2028, 1, 1, tzinfo=UTC)])
def test_feb_29_that_fits_no_year_is_a_dead_letter_not_a_crash(now: datetime) -> None:
    out = run(["Feb 29 10:00:00 fs01 sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2"],
              parser(now=now))
    assert len(out.dead) == 1 and "syslog" in out.dead[0].reason


def test_sshd_session_of_openssh_9_8_is_sshd_too_and_program_can_be_set() -> None:
    line = "2026-11-27T10:00:00+00:00 fs01 sshd-session[99]: Accepted publickey for alice from 10.0.0.7 port 4000 ssh2: ED25519 SHA256:abc"
    assert len(run([line]).events) == 1
    custom = parser(program="ssh-gw")
    out = run([line, line.replace("sshd-session", "ssh-gw")], custom)
    assert len(out.events) == 1 and out.ignored == 1


def test_other_programs_and_sshd_noise_are_ignored_not_dead() -> None:
    out = run([
        "2026-11-27T10:00:00+00:00 fs01 CRON[123]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        "2026-11-27T10:00:01+00:00 fs01 sudo[124]: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
        "2026-11-27T10:00:02+00:00 fs01 sshd[125]: Server listening on 0.0.0.0 port 22.",
        "2026-11-27T10:00:03+00:00 fs01 sshd[126]: Connection closed by 203.0.113.9 port 40000 [preauth]",
        "2026-11-27T10:00:04+00:00 fs01 sshd[127]: error: kex_exchange_identification: Connection closed by remote host",
        "-- Boot 5c1f3a0b2e8d4b7c9a6f1e2d3c4b5a69 --",
        "",
    ])
    assert out.events == [] and out.dead == []
    assert out.ignored == 7


def test_ipv6_user_with_spaces_and_certificate() -> None:
    out = run([
        "2026-11-27T10:00:00+00:00 fs01 sshd[7]: Invalid user admin test from 2001:db8::7 port 5555",
        "2026-11-27T10:00:01+00:00 fs01 sshd[7]: Failed password for invalid user admin test from 2001:db8::7 port 5555 ssh2",
        "2026-11-27T10:00:02+00:00 fs01 sshd[8]: Accepted publickey for ops from fe80::1%eth0 port 22 ssh2: ED25519-CERT SHA256:Zm9v ID ops@corp (serial 7) CA ED25519 SHA256:YmFy",
    ])
    fail, ok = out.events
    assert (fail.user_name, fail.source_ip, fail.outcome) == ("admin test", "2001:db8::7", "failure")
    assert (ok.source_ip, ok.extra["ssh.key_type"], ok.extra["ssh.key_fingerprint"]) == (
        "fe80::1", "ED25519-CERT", "SHA256:Zm9v")


# --------------------------------------------------------------- held attempts
PROBE = [  # a client that only tried a user name, then went away
    "2026-11-27T10:00:00+00:00 fs01 sshd[300]: Invalid user oracle from 198.51.100.4 port 61000",
    "2026-11-27T10:00:01+00:00 fs01 sshd[300]: Connection closed by invalid user oracle 198.51.100.4 port 61000 [preauth]",
]


def test_a_user_name_probe_is_a_failed_login_when_the_connection_closes() -> None:
    out = run(PROBE, flush=False)
    fail, closed = out.events
    assert (fail.action, fail.outcome, fail.user_name, fail.log_offset) == (
        "ssh_login", "failure", "oracle", 0)
    assert fail.extra["system.auth.ssh.event"] == "Invalid"
    assert closed.action == "ssh_disconnect"


def test_a_held_attempt_is_released_when_event_time_moves_past_the_window() -> None:
    later = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC) + timedelta(microseconds=WINDOW_US + 1)
    out = run([PROBE[0], f"{later.isoformat()} fs01 CRON[1]: (root) CMD (true)"], flush=False)
    [ev] = out.events
    assert ev.user_name == "oracle" and ev.outcome == "failure"


def test_flush_releases_only_attempts_older_than_the_window() -> None:
    young = parser(now=datetime(2026, 11, 27, 10, 0, 2, tzinfo=UTC))
    assert run(PROBE[:1], young).events == []  # its verdict may be 2 s away: keep it
    assert young.snapshot()["pending"]
    old = parser(now=datetime(2026, 11, 27, 10, 5, 0, tzinfo=UTC))
    assert [e.user_name for e in run(PROBE[:1], old).events] == ["oracle"]


def test_snapshot_and_restore_at_every_cut_gives_the_same_events() -> None:
    lines = RFC3339 + PROBE
    whole = run(lines).events
    for cut in range(len(lines) + 1):
        first = parser()
        out1 = run(lines[:cut], first, flush=False)
        second = parser()
        second.restore(orjson.loads(orjson.dumps(first.snapshot())))  # as the store keeps it
        start = sum(len(line.encode()) + 1 for line in lines[:cut])
        out2 = run(lines[cut:], second, start=start)
        assert out1.events + out2.events == whole, f"cut at {cut}"


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("line,reason", [
    (b"garbage without structure", "not a syslog line"),
    (b"\xff\xfe\xfd\xfc\xfb\xfa\xf9", "not UTF-8"),
    (b"2026-11-27T10:00:00+00:00 fs01 sshd[1]: Accepted password for a from 10.0.0.1 po", "garbled"),
    (b"2026-11-27T10:00:00+00:00 fs01 sshd[1]: Failed password for a from not-an-ip port 22 ssh2", "not an IP"),
    (b"2026-11-27T10:00:00+00:00 fs01 sshd[1]: Accepted password for a from 10.0.0.1 port 99999 ssh2", "out of range"),
    (b"2026-11-27T10:00:00+00:00 fs01 sshd[1]: pam_unix(sshd:session): session opened", "garbled"),
    (b"2026-11-27T10:00:00+00:00 fs01 sshd[1]: Invalid user \x00 from 1.2.3.4", "NUL"),
    (b'{"MESSAGE": "Accepted password for a from 10.0.0.1 port 1 ssh2"', "not valid JSON"),
    (b'{"SYSLOG_IDENTIFIER": "sshd", "MESSAGE": "x"}', "without __REALTIME_TIMESTAMP"),
    (b'{"__REALTIME_TIMESTAMP": "99999999999999999999", "MESSAGE": "x"}', "out of range"),
    (b"[1, 2, 3]", "not a syslog line"),
])
def test_bad_lines_become_dead_letters_with_a_reason(line: bytes, reason: str) -> None:
    out = run([line])
    [dead] = out.dead
    assert reason in dead.reason
    assert dead.line == line and dead.offset == 0
    assert out.events == []


_TEMPLATES = [
    "Accepted {w} for {u} from {ip} port {n} ssh2{tail}", "Failed {w} for {u} from {ip} port {n} ssh2",
    "Failed {w} for invalid user {u} from {ip} port {n} ssh2", "Invalid user {u} from {ip} port {n}",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={u}",
    "error: PAM: Authentication failure for {u} from {ip}",
    "error: maximum authentication attempts exceeded for {u} from {ip} port {n} ssh2 [preauth]",
    "Connection closed by authenticating user {u} {ip} port {n} [preauth]",
    "Disconnected from invalid user {u} {ip} port {n}", "Received disconnect from {ip} port {n}:{n}: {w}",
    "pam_unix(sshd:session): session {w} for user {u}", "{w}",
]
_WORD = st.text(min_size=0, max_size=12)
_SSHISH = st.builds(
    lambda t, w, u, ip, n, tail, pid, tag: f"Nov 27 10:00:0{pid % 10} fs01 {tag}[{pid}]: "
    + t.format(w=w, u=u, ip=ip, n=n, tail=tail),
    st.sampled_from(_TEMPLATES), _WORD, _WORD,
    st.one_of(st.ip_addresses().map(str), _WORD),
    st.one_of(st.integers(-5, 99999), st.integers(0, 10**25)).map(str),
    st.sampled_from(["", ": RSA SHA256:x", ": ", ": junk"]),
    st.one_of(st.integers(0, 30), st.integers(2**31, 2**80)),
    st.sampled_from(["sshd", "sshd-session", "su"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_SSHISH, st.text(max_size=120), st.binary(max_size=120)), max_size=12))
def test_arbitrary_input_never_raises_and_every_line_is_accounted_for(
        lines: list[str | bytes]) -> None:
    datas = [x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x for x in lines]
    datas = [d.replace(b"\n", b" ") for d in datas]
    p = parser(now=NOW + timedelta(days=400))  # flush releases everything held
    held = parser()
    run(datas, held, flush=False)
    orjson.dumps(held.snapshot())  # what is held can be stored (JSON ints are 64-bit)
    out = run(datas, p)
    assert p.snapshot() == {"pending": []}
    for ev in out.events:
        orjson.dumps(dict(ev.extra))
    assert len(out.dead) + out.ignored + len(out.events) >= len(datas) - sum(
        1 for d in datas if _opens_an_attempt(d))
    for line in datas:  # and each line alone: one outcome at least
        single = run([line], parser(now=NOW + timedelta(days=400)))
        assert len(single.dead) + single.ignored + len(single.events) >= 1


def _opens_an_attempt(data: bytes) -> bool:
    return any(k in data for k in (b"Invalid user", b"authentication failure", b"error: PAM"))


def test_program_option_is_checked() -> None:
    check = SOURCES["sshd"].check_options
    assert check({}) is None and check({"program": ["sshd", "sshd-session"]}) is None
    assert check({"program": ""}) is not None and check({"program": 3}) is not None

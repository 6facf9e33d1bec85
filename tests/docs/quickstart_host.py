"""A throw-away Debian storage host inside this one, for running a quick start as written.

A private mount, network and PID namespace (`unshare`, root only) in which /etc, /usr,
/var, /opt, /srv, /run and /root are copy-on-write overlays of the real ones: `apt-get`,
`systemd-sysusers`, `groupadd`, `install … /etc/…` and `/opt/wallwatch` all work on the
real paths and change nothing outside. The Wallwatch checkout is overlaid at
/usr/local/src/wallwatch. The network namespace has only loopback, so Samba listens on
its real port 445, the daemon's metrics on 9108 and so on, with no clash with anything
else on this machine; a block that needs the internet (pip) runs with the host's network
instead. The namespace's PID 1 is a reaper: killing it ends every process started in
here, smbd's helpers included.

The host it plays: Asia/Shanghai time, Debian's own smb.conf plus a [clients] share at
/srv/share/clients with folders acme and globex (the files of tests/fixtures/smbd.py),
Samba users alice and bob (the fixture's passwords), smbd running, no auditd.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.smbd import SEED_FILES, USERS

REPO = Path(__file__).resolve().parents[2]
SRC = "/usr/local/src/wallwatch"  # where the quick start unpacks Wallwatch
OVERLAID = ("etc", "usr", "var", "opt", "srv", "run", "root")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEBIAN_SMB_CONF = Path("/usr/share/samba/smb.conf")  # what the samba package installs

_SETUP = """set -eu
W=$1
ip link set lo up
for d in {dirs}; do
  mkdir -p "$W/ov/$d/up" "$W/ov/$d/work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$W/ov/$d/up,workdir=$W/ov/$d/work" "/$d"
done
mount -t proc proc /proc
mkdir -p "$W/ov/src/up" "$W/ov/src/work" {src}
mount -t overlay overlay -o "lowerdir={repo},upperdir=$W/ov/src/up,workdir=$W/ov/src/work" {src}
touch "$W/ready"
exec {python} -c '
import os, time
while True:  # PID 1: reap whatever is orphaned in here
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        time.sleep(0.2)
'
"""

_HOST = """
ln -sf /usr/share/zoneinfo/Asia/Shanghai /etc/localtime
echo Asia/Shanghai > /etc/timezone
rm -f /var/log/audit/audit.log /var/log/samba/audit.log /var/log/samba/auth.log
for user in alice bob; do
  id "$user" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$user"
done
mkdir -p /srv/share/clients
{seed}
chmod -R a+rwX /srv/share/clients
{smb_conf}
cat >> /etc/samba/smb.conf <<'EOF'

[clients]
   comment = Client files
   path = /srv/share/clients
   read only = no
   valid users = alice bob
EOF
{passwords}
"""


class HostRoot:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.unshare: subprocess.Popen[bytes] | None = None
        self.pid = 0  # the namespace's PID 1, as this machine sees it
        self.smbd: subprocess.Popen[bytes] | None = None
        self.spawned: list[subprocess.Popen[bytes]] = []
        self.env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}

    def start(self) -> HostRoot:
        self.work.mkdir(parents=True, exist_ok=True)
        setup = self.work / "setup.sh"
        setup.write_text(_SETUP.format(dirs=" ".join(OVERLAID), src=SRC, repo=REPO,
                                       python=sys.executable))
        self.unshare = subprocess.Popen(
            ["unshare", "--mount", "--net", "--pid", "--fork", "--propagation", "private",
             "--", "sh", str(setup), str(self.work)],
            stdout=(self.work / "holder.log").open("wb"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while not (self.work / "ready").exists():
            if self.unshare.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("namespace set-up failed: "
                                   + (self.work / "holder.log").read_text())
            time.sleep(0.05)
        children = Path(f"/proc/{self.unshare.pid}/task/{self.unshare.pid}/children")
        while not self.pid:
            text = children.read_text().split()
            self.pid = int(text[0]) if text else 0
        return self

    def nsenter(self, internet: bool = False) -> list[str]:
        return ["nsenter", f"--target={self.pid}", "--mount", "--pid",
                *([] if internet else ["--net"]), "--"]

    def run(self, script: str, *, internet: bool = False, timeout: float = 120,
            env: dict[str, str] | None = None, cwd: str = SRC) -> subprocess.CompletedProcess[str]:
        """`script` in bash -euo pipefail, in the namespace, in `cwd`, with a clean
        environment (as a root login would have)."""
        file = self.work / f"block-{time.monotonic_ns()}.sh"
        file.write_text(f"cd {shlex.quote(cwd)}\n{script}", encoding="utf-8")
        variables = [f"{k}={v}" for k, v in {**self.env, **(env or {})}.items()]
        return subprocess.run([*self.nsenter(internet), "env", "-i", *variables,
                               "bash", "-euo", "pipefail", str(file)],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def check(self, script: str, **kw: object) -> str:
        done = self.run(script, **kw)  # type: ignore[arg-type]
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def spawn(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        """A long-running process in the namespace (it ends with the namespace)."""
        variables = [f"{k}={v}" for k, v in self.env.items()]
        with log.open("ab") as out:
            proc = subprocess.Popen([*self.nsenter(), "env", "-i", *variables, *argv],
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.spawned.append(proc)
        return proc

    def read(self, path: str) -> str:
        return self.check(f"cat {shlex.quote(path)}", cwd="/")

    def play_storage_host(self) -> None:
        """The state the quick start starts from (its "you need" paragraph)."""
        seed_dir = self.work / "seed"
        for rel, content in SEED_FILES.items():
            (seed_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (seed_dir / rel).write_bytes(content)
        seed = f"cp -r {shlex.quote(str(seed_dir))}/. /srv/share/clients/"
        smb_conf = (f"cp {DEBIAN_SMB_CONF} /etc/samba/smb.conf" if DEBIAN_SMB_CONF.exists()
                    else "")
        passwords = "\n".join(f"printf '%s\\n%s\\n' {shlex.quote(pw)} {shlex.quote(pw)} | "
                              f"smbpasswd -s -a {user} >/dev/null"
                              for user, pw in USERS.items())
        self.check(_HOST.format(seed=seed, smb_conf=smb_conf, passwords=passwords), cwd="/")
        self.smbd = self.spawn(["smbd", "--foreground", "--no-process-group"],
                               self.work / "smbd.log")
        deadline = time.monotonic() + 30
        while self.run("ss -ltn | grep -q ':445 '", cwd="/").returncode:
            if self.smbd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("smbd did not start: "
                                   + (self.work / "smbd.log").read_text(errors="replace"))
            time.sleep(0.1)

    def stop(self) -> None:
        if self.pid:
            # PID 1 of the namespace: the kernel ends everything else in it
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.pid = 0
        for proc in [*self.spawned, *([self.unshare] if self.unshare else [])]:
            proc.wait(timeout=30)  # each nsenter/unshare returns once its child is gone
        self.spawned, self.unshare = [], None

"""`systemctl` for a quick start's blocks when PID 1 is not systemd (as here).

It plays only what the unit file says, read from where the block installed it:
`systemd-analyze verify` first (the real checker, which also checks that ExecStart exists),
then ExecStart as the unit's User/Group/SupplementaryGroups with its UMask, in `/`, with a
NOTIFY_SOCKET: `enable --now`/`start` returns once the daemon sends READY=1, as with
Type=notify. `reload` runs the unit's ExecReload with $MAINPID; `stop` sends SIGTERM and
waits for the exit. Anything else is refused, so a block cannot silently do less.
"""

from __future__ import annotations

import shlex
import socket
import tempfile
import time
from pathlib import Path

from tests.docs.quickstart_host import HostRoot
from tests.test_systemd_unit import settings

UNIT_DIR = "/etc/systemd/system"


class Systemctl:
    def __init__(self, root: HostRoot) -> None:
        self.root = root
        self.main_pids: dict[str, int] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="wallwatch-notify-", dir="/tmp"))
        self._dir.chmod(0o711)  # the service user must reach the socket

    def __call__(self, argv: list[str]) -> str:
        args = [a for a in argv if a not in ("--no-pager", "--quiet")]
        if args == ["daemon-reload"]:
            return ""
        verb, units = args[0], args[1:]
        if verb == "enable" and units[:1] == ["--now"]:
            verb, units = "start", units[1:]
        actions = {"start": self.start, "reload": self.reload, "stop": self.stop,
                   "restart": self.restart}
        if verb not in actions or not units:
            raise AssertionError(f"the test cannot play `systemctl {' '.join(argv)}`")
        return "".join(actions[verb](unit.removesuffix(".service")) for unit in units)

    def unit(self, name: str) -> dict[str, list[str]]:
        return settings(self.root.read(f"{UNIT_DIR}/{name}.service"))

    def start(self, name: str) -> str:
        verified = self.root.run(f"systemd-analyze verify {UNIT_DIR}/{name}.service", cwd="/")
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
        unit = self.unit(name)
        assert unit["Type"] == ["notify"], unit["Type"]
        notify = self._dir / f"{name}.sock"
        notify.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify))
        notify.chmod(0o666)
        pid_file = f"/run/{name}.test-mainpid"
        groups = ",".join(g for entry in unit.get("SupplementaryGroups", [])
                          for g in entry.split())
        user, group = unit["User"][0], unit.get("Group", unit["User"])[0]
        command = (f"echo $$ > {pid_file}; umask {unit.get('UMask', ['0022'])[0]}; cd /; "
                   f"exec setpriv --reuid={user} --regid={group} "
                   f"{'--groups=' + groups if groups else '--clear-groups'} -- "
                   f"{unit['ExecStart'][0]}")
        log = self.root.work / f"{name}.log"
        self.root.env["NOTIFY_SOCKET"] = str(notify)
        try:
            proc = self.root.spawn(["sh", "-c", command], log)
        finally:
            del self.root.env["NOTIFY_SOCKET"]
        sock.settimeout(1)
        deadline = time.monotonic() + 120
        try:
            while True:
                try:
                    if b"READY=1" in sock.recv(4096).split(b"\n"):
                        break
                except TimeoutError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{name} did not send READY=1:\n"
                                         + log.read_text(errors="replace")[-3000:])
        finally:
            sock.close()
        self.main_pids[name] = int(self.root.read(pid_file))
        return ""

    def reload(self, name: str) -> str:
        command = self.unit(name)["ExecReload"][0].replace("$MAINPID",
                                                           str(self.main_pids[name]))
        return self.root.check(command, cwd="/")

    def stop(self, name: str) -> str:
        pid = self.main_pids.pop(name)
        self.root.check(f"kill -TERM {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.1; "
                        f"done", cwd="/", timeout=30)
        return ""

    def restart(self, name: str) -> str:
        self.stop(name)
        return self.start(name)

    def close(self) -> None:
        for path in self._dir.iterdir():
            path.unlink()
        self._dir.rmdir()


def systemctl_lines(script: str) -> list[tuple[str, list[str] | None]]:
    """A block's script in order: ("shell text", None) chunks and ("", argv) systemctl
    calls, so the rest of the block still runs as written."""
    out: list[tuple[str, list[str] | None]] = []
    chunk: list[str] = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if words[:1] == ["systemctl"]:
            if chunk:
                out.append(("\n".join(chunk) + "\n", None))
                chunk = []
            out.append(("", words[1:]))
        else:
            chunk.append(line)
    if any(line.strip() for line in chunk):
        out.append(("\n".join(chunk) + "\n", None))
    return out

"""`wallwatch init` in a real terminal (a private tmux server): the questions appear one by
one with their defaults, line editing works, Chinese folder names show, and the answers typed
end up in the config."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.config import load_config
from tests.daemon_process import REPO
from tests.test_init import smb_conf

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


class Tmux:
    """One private tmux server (its own socket name) with one window."""

    def __init__(self, command: str) -> None:
        self.socket = f"wallwatch-init-test-{os.getpid()}-{time.monotonic_ns()}"
        env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        self._tmux("new-session", "-d", "-x", "250", "-y", "80", "-c", str(REPO), command,
                   env=env)
        self.pid = int(self._tmux("display-message", "-p", "#{pid}").strip())

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(["tmux", "-u", "-L", self.socket, *args], capture_output=True,
                              text=True, env=env, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-S", "-500")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on the screen:\n{self.screen()}")

    def type(self, *keys: str) -> None:
        """Literal text; `Enter` and `BSpace` as tmux key names."""
        for key in keys:
            if key in ("Enter", "BSpace"):
                self._tmux("send-keys", "-t", "0", key)
            else:
                self._tmux("send-keys", "-t", "0", "-l", key)

    def close(self) -> None:
        # the server; the shell in its window gets SIGHUP and ends too
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)


def test_questions_answered_in_a_terminal_end_up_in_the_config(tmp_path: Path) -> None:
    conf = smb_conf(tmp_path)
    (tmp_path / "group").write_text("client-甲公司:x:3001:alice\n", encoding="utf-8")
    command = (f"{sys.executable} -m monitor init --smb-conf {conf} --output {tmp_path}/w.yaml"
               f" --group-file {tmp_path}/group --ssh-log {tmp_path}/none"
               f" --auditd-log {tmp_path}/none --metrics-listen 127.0.0.1:0;"
               " echo INIT-EXIT=$?; sleep 300")
    tmux = Tmux(command)
    try:
        tmux.wait_for("Shares that hold client folders [clients]: ")
        assert "[clients]" in tmux.screen() and "甲公司" in tmux.screen()
        tmux.type("clientx", "BSpace", "s", "Enter")  # readline editing works
        tmux.wait_for(f"[clients] folder that holds one folder per client "
                      f"[{tmp_path}/srv/clients]: ")
        tmux.type("Enter")
        tmux.wait_for("3 client folder(s): _模板, 乙公司, 甲公司")
        tmux.wait_for("Timezone of this host's logs and working hours [")
        tmux.type("Asia/Shanghai", "Enter")
        tmux.wait_for("Where to keep the event store [/var/lib/wallwatch/wallwatch.db]: ")
        tmux.type(f"{tmp_path}/w.db", "Enter")
        tmux.wait_for("Local groups that name a client (or none) [client-{client}]: ")
        tmux.type("Enter")
        tmux.wait_for("client-甲公司 → 甲公司 (alice)")
        tmux.wait_for("Group every member of staff is in (or none) [none]: ")
        tmux.type("Enter")
        tmux.wait_for("Email address for alerts (none for no mail) [none]: ")
        tmux.type("it@firm.lan", "Enter")
        tmux.wait_for("Mail relay (host:port) [localhost:25]: ")
        tmux.type("mail.firm.lan:587", "Enter")
        tmux.wait_for("Language of alert messages (zh-CN or en) [zh-CN]: ")
        tmux.type("en", "Enter")
        screen = tmux.wait_for("INIT-EXIT=", timeout=120)
    finally:
        tmux.close()
    assert "INIT-EXIT=0" in screen, screen
    assert f"wrote {tmp_path}/w.yaml" in screen and "doctor:" in screen
    # in a terminal the answer is echoed by the terminal alone, once
    assert screen.count("Shares that hold client folders [clients]: clients") == 1
    config = load_config(tmp_path / "w.yaml")
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.client_paths == (f"{tmp_path}/srv/clients/{{client}}/**",)
    text = (tmp_path / "w.yaml").read_text(encoding="utf-8")
    assert "mailto://mail.firm.lan:587?" in text and "mode=starttls" in text
    assert "language: en" in text

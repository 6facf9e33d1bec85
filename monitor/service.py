"""`wallwatch run`: the daemon's life — start, serve metrics, tell systemd how it is,
reload on SIGHUP, prune hourly, drain on SIGTERM.

SIGHUP reloads the config and the rules. Both are validated first; a broken one
keeps what is running and the log says where it is wrong. A changed config
restarts the stages in-process (each drains and saves its position first); a
change of rules alone is swapped into the running engine.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import systemd
from monitor.config import Config, load_config
from monitor.errors import WallwatchError
from monitor.rules import sigma
from monitor.rules.loader import load_rule_files
from monitor.rules.model import Rule
from monitor.store_writes import is_full_text

if TYPE_CHECKING:  # the daemon's modules import the sinks (Elasticsearch, apprise): a
    # command that only reads the store (`search`, `--help`) starts 0.5 s sooner without
    from monitor.pipeline import Daemon

log = logging.getLogger("wallwatch")
SHIPPED_RULES = Path(__file__).resolve().parent.parent / "rules"


def rule_paths(config: Config | None, given: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Rule files to use: those named, else the config's, else the shipped pack."""
    if given:
        return list(given)
    if config is not None and config.rules:
        return list(config.rules)
    return [str(SHIPPED_RULES)]


def load_rules_or_report(paths: list[str]) -> list[Rule] | None:
    rules, errors = load_rule_files(paths)
    for err in errors:
        log.error("rules: %s", err)
    return None if errors else rules


class Service:
    def __init__(self, config_path: str) -> None:
        self.config_path = config_path
        self.stopping = threading.Event()
        self.reload = threading.Event()
        self.notifier = systemd.default()
        self.server: object | None = None

    def _start(self, config: Config, rules: list[Rule]) -> Daemon:
        from monitor.pipeline import Daemon

        daemon = Daemon(config, rules)
        daemon.start()
        if config.metrics.enabled:
            from monitor.metrics import MetricsServer, make_registry

            try:
                server = MetricsServer(daemon, make_registry(daemon, config.store.path),
                                       config.metrics.host, config.metrics.port)
                server.start()
                self.server = server
            except OSError as exc:  # a taken port must not stop the audit itself
                log.error("metrics: cannot listen on %s:%d (%s); running without metrics",
                          config.metrics.host, config.metrics.port, exc.strerror)
        return daemon

    def _stop(self, daemon: Daemon) -> None:
        daemon.stop()
        server, self.server = self.server, None
        if server is not None:
            server.stop()  # type: ignore[attr-defined]

    def run(self) -> int:
        config = load_config(self.config_path)
        sigma.configure(config)
        config_text = Path(self.config_path).read_bytes()
        rules = load_rules_or_report(rule_paths(config))
        if rules is None:
            return 1
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, lambda _s, _f: self.reload.set())
        daemon = self._start(config, rules)
        self.notifier.ready("started")
        meter = systemd.StatusMeter()
        # retention runs in its own thread: a long prune must not hold back WATCHDOG=1
        pruning = self._prune_in_background(daemon)
        next_prune = datetime.now(UTC) + timedelta(hours=1)
        tick = 0
        while not self.stopping.wait(1.0):
            tick += 1
            if self.reload.is_set():
                self.reload.clear()
                daemon, config, config_text = self._reload(daemon, config, config_text)
            if datetime.now(UTC) >= next_prune and not pruning.is_alive():
                pruning = self._prune_in_background(daemon)
                next_prune = datetime.now(UTC) + timedelta(hours=1)
            healthy, problems = daemon.health()
            # no WATCHDOG=1 while unhealthy: systemd restarts us. Not for a full disk: we
            # are responsive and retry by ourselves, and a restart frees no space
            if healthy or all(is_full_text(p) for p in problems):
                self.notifier.watchdog()
            if tick % 10 == 0:
                events = sum(r.stats.events for r in daemon.runners)
                lag = sum(r.tailer.lag() for r in daemon.runners if r.tailer is not None)
                status = meter.line(events, lag, daemon.rules_lag())
                self.notifier.status(status if healthy else "; ".join(problems))
            if not daemon.alive():
                log.error("a stage stopped: %s; exiting so the service manager restarts us",
                          "; ".join(problems))
                self.notifier.stopping("a stage stopped")
                self._stop(daemon)
                return 1
        self.notifier.stopping("draining")
        self._stop(daemon)
        pruning.join(5)
        return 0

    @staticmethod
    def _prune_in_background(daemon: Daemon) -> threading.Thread:
        def prune() -> None:
            try:
                daemon.prune()
            except Exception:  # retention failing must not stop the audit; say so
                log.exception("retention: pruning failed; will try again in an hour")
        thread = threading.Thread(target=prune, name="retention", daemon=True)
        thread.start()
        return thread

    def _on_stop(self, signum: int, _frame: object) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        self.stopping.set()

    def _reload(self, daemon: Daemon, config: Config, config_text: bytes
                ) -> tuple[Daemon, Config, bytes]:
        self.notifier.reloading()
        try:
            try:
                new_text = Path(self.config_path).read_bytes()
                new_config = load_config(self.config_path)
                sigma.configure(new_config)
            except (WallwatchError, OSError) as exc:
                log.error("reload refused, keeping the running config: %s", exc)
                return daemon, config, config_text
            rules = load_rules_or_report(rule_paths(new_config))
            if rules is None:
                log.error("rules: reload refused, keeping the %d rules in use",
                          len(daemon.rules))
                return daemon, config, config_text
            if new_text != config_text:
                log.info("config changed: restarting the stages with it")
                self._stop(daemon)
                return self._start(new_config, rules), new_config, new_text
            daemon.reload_rules(rules)
            daemon.refresh_assignments()
            log.info("rules: reloaded %d rules", len(rules))
            return daemon, config, config_text
        finally:
            self.notifier.ready("reloaded")

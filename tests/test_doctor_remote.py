"""`wallwatch doctor` on what surrounds the daemon: a real Elasticsearch stand-in (and an
old-version one), apprise URLs, the kernel's audit rules with a private auditd."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.doctor_findings import Status
from monitor.doctor_remote import audit_finding
from tests.doctor_helpers import Host
from tests.fixtures.es_standin import EsStandin


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


# ------------------------------------------------------------------ Elasticsearch

def test_elasticsearch_of_the_clients_major_version_passes(host: Host, tmp_path: Path) -> None:
    with EsStandin(tmp_path / "es") as es:
        host.write_config(extra=f"elasticsearch: {{url: {es.url}}}\n")
        es_line = next(f for f in host.doctor() if f.check == "elasticsearch")
    assert es_line.status is Status.OK and "Elasticsearch 9." in es_line.detail


def test_elasticsearch_refusing_our_credentials_fails_without_showing_them(
        host: Host, tmp_path: Path) -> None:
    key_file = tmp_path / "es-key"
    key_file.write_text("c2VjcmV0LWtleS12YWx1ZQ==\n")
    key_file.chmod(0o600)
    with EsStandin(tmp_path / "es") as es:
        es.auth(api_key="the-right-key")
        host.write_config(extra=f"elasticsearch: {{url: {es.url}, "
                                f"auth: {{api_key_file: {key_file}}}}}\n")
        done = host.cli()
    line = next(x for x in done.stdout.splitlines() if "elasticsearch:" in x)
    assert line.startswith("FAIL") and "401" in line
    assert "c2VjcmV0LWtleS12YWx1ZQ" not in done.stdout + done.stderr


class _OldCluster(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"name": "old", "cluster_name": "old-cluster",
                           "version": {"number": "8.15.3"}, "tagline": "You Know, for Search"})
        self.send_response(200)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def old_cluster() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OldCluster)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_elasticsearch_of_another_major_version_fails(host: Host, old_cluster: str) -> None:
    host.write_config(extra=f"elasticsearch: {{url: {old_cluster}}}\n")
    es_line = next(f for f in host.doctor() if f.check == "elasticsearch")
    assert es_line.status is Status.FAIL
    assert "8.15.3" in es_line.detail and "9.x" in es_line.detail


def test_an_unreachable_elasticsearch_fails(host: Host) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host.write_config(extra=f"elasticsearch: {{url: http://127.0.0.1:{port}}}\n")
    es_line = next(f for f in host.doctor() if f.check == "elasticsearch")
    assert es_line.status is Status.FAIL and "does not answer" in es_line.detail


# ------------------------------------------------------------------ notifications

def test_notification_urls_that_apprise_parses_pass(host: Host) -> None:
    host.write_config(extra="notify:\n  routes:\n    - name: it\n"
                            "      urls: [\"json://127.0.0.1:9/hook\", "
                            "\"mailto://localhost:2525?from=a@example.com&to=b@example.com"
                            "&mode=insecure\"]\n")
    line = next(f for f in host.doctor() if f.check == "notify")
    assert line.status is Status.OK and "2 URL(s)" in line.detail


def test_a_notification_url_apprise_cannot_parse_fails_without_showing_it(host: Host) -> None:
    host.write_config(extra="notify:\n  routes:\n    - name: it\n"
                            "      urls: [\"msteams://TOPSECRETTOKEN/abc/def\"]\n")
    done = host.cli()
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if "notify:" in x)
    assert line.startswith("FAIL")
    assert "TOPSECRETTOKEN" not in done.stdout + done.stderr


# ------------------------------------------------------------------ auditd

def test_no_audit_rules_loaded_fails_with_the_rules_file_as_the_fix() -> None:
    finding = audit_finding("enabled 1\npid 4242\n", "No rules\n")
    assert finding.status is Status.FAIL
    assert "deploy/auditd/wallwatch.rules" in (finding.fix or "")


def test_rules_without_a_running_auditd_fail() -> None:
    finding = audit_finding("enabled 1\npid 0\n", "-w /srv -p wa -k wallwatch-config\n")
    assert finding.status is Status.FAIL and "no auditd is running" in finding.detail


def test_loaded_rules_of_a_running_auditd_pass(host: Host, tmp_path: Path) -> None:
    from tests.fixtures.auditd import AuditDaemon, AuditUnavailable

    tree = tmp_path / "tree"
    tree.mkdir()
    try:
        daemon = AuditDaemon(tmp_path / "auditd").start()
    except AuditUnavailable as exc:
        pytest.skip(str(exc))
    try:
        daemon.watch(tree, "wallwatch-doctor")
        host.write_config(extra="")
        host.config.write_text(host.config.read_text().replace(
            "sources:\n", f"sources:\n  - {{type: auditd, path: {daemon.log}}}\n"))
        line = next(f for f in host.doctor() if f.check == "auditd rules")
    finally:
        daemon.stop()
    assert line.status is Status.OK, line.line()
    assert "wallwatch-doctor" in line.detail

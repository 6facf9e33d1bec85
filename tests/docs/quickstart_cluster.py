"""The Elasticsearch cluster and Kibana a quick start's reader already has, played for the
test inside the throw-away host: the Elasticsearch stand-in (tests/fixtures/es_standin*)
and a Kibana saved-objects import endpoint, both over TLS with a certificate from a test CA,
answering only the API key the test hands out. Run inside the host's namespace:

    python -m tests.docs.quickstart_cluster --cert C --key K --api-key-file F --ready-file R

It listens on 127.0.0.1:9200 (Elasticsearch) and :5601 (Kibana); the host's /etc/hosts
names them es1.firm.lan and kibana.firm.lan. What Kibana imported goes to --imported.
`make_ca()` writes the CA and the server certificate with openssl.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fixtures.es_standin_api import State
from tests.fixtures.es_standin_http import DataServer

NAMES = ("es1.firm.lan", "kibana.firm.lan")


def make_ca(work: Path) -> dict[str, Path]:
    """A CA and a certificate for NAMES signed by it (openssl, RSA 2048, 2 days)."""
    work.mkdir(parents=True, exist_ok=True)
    files = {k: work / f"{k}.pem" for k in ("ca", "ca-key", "cert", "key", "csr")}
    san = work / "san.cnf"
    san.write_text("subjectAltName=" + ",".join(f"DNS:{n}" for n in NAMES) + "\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=Wallwatch test CA", "-keyout", str(files["ca-key"]), "-out", str(files["ca"]))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={NAMES[0]}",
            "-keyout", str(files["key"]), "-out", str(files["csr"]))
    openssl("x509", "-req", "-in", str(files["csr"]), "-CA", str(files["ca"]), "-CAkey",
            str(files["ca-key"]), "-CAcreateserial", "-days", "2", "-extfile", str(san),
            "-out", str(files["cert"]))
    return files


class Kibana(BaseHTTPRequestHandler):
    """POST /api/saved_objects/_import: the objects of the multipart `file` field."""

    server: KibanaServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != f"ApiKey {self.server.api_key}":
            return self._send(401, {"statusCode": 401, "error": "Unauthorized"})
        if not self.path.startswith("/api/saved_objects/_import") or \
                self.headers.get("kbn-xsrf") is None:
            return self._send(400, {"statusCode": 400, "error": "Bad Request"})
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        parts = {p.get_param("name", header="content-disposition"): p.get_content()
                 for p in message.iter_parts()}
        text = parts["file"]
        objects = [json.loads(line) for line in
                   (text.decode() if isinstance(text, bytes) else text).splitlines()
                   if line.strip()]
        with open(self.server.imported, "a", encoding="utf-8") as f:
            for o in objects:
                f.write(f"{o['type']} {o['id']}\n")
        ok = [{"type": o["type"], "id": o["id"], "meta": {"title": o["attributes"]["title"]}}
              for o in objects]
        self._send(200, {"success": True, "successCount": len(ok), "successResults": ok})

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class KibanaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, api_key: str, imported: str) -> None:
        self.api_key, self.imported = api_key, imported
        super().__init__(("127.0.0.1", port), Kibana)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    for name in ("--cert", "--key", "--api-key-file", "--ready-file", "--imported"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)
    api_key = Path(args.api_key_file).read_text().strip()
    state = State()
    state.auth = {"api_key": api_key}
    es = DataServer(9200, state)
    kibana = KibanaServer(5601, api_key, args.imported)
    for server in (es, kibana):
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    Path(args.ready_file).write_text(str(os.getpid()))
    threading.Event().wait()  # until the namespace ends
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The Kibana saved objects in dashboards/, checked offline: every reference
resolves, every embedded JSON string parses, every field a panel uses is in our
index mapping with a matching type; and `wallwatch dashboards install` speaks
Kibana's import API (against a small stand-in Kibana on 127.0.0.1)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.sinks.es_templates import FIELDS, mapped_fields
from tests.daemon_process import REPO

NDJSON = REPO / "dashboards" / "wallwatch.ndjson"
DASHBOARDS = {"Overview", "Wall breaches", "Off-hours activity", "Logins",
              "Permission changes", "Alerts"}
LENS_TYPES = {"string": {"keyword", "constant_keyword"}, "number": {"long"},
              "ip": {"ip"}, "boolean": {"boolean"}, "date": {"date"}}
_KQL_FIELD = re.compile(r"([A-Za-z_@][\w.@]*)\s*:")


def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines()]


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(dashboard["attributes"]["panelsJSON"])
    return result


def dashboards() -> list[dict[str, Any]]:
    return [o for o in objects() if o["type"] == "dashboard"]


def kql_fields(query: str) -> set[str]:
    return set(_KQL_FIELD.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)))


def test_the_file_holds_a_data_view_and_the_six_dashboards() -> None:
    found = objects()
    assert [o["type"] for o in found].count("index-pattern") == 1
    titles = {d["attributes"]["title"].split(" · ", 1)[1] for d in dashboards()}
    assert titles == DASHBOARDS
    view = found[0]["attributes"]
    assert view["title"] == "logs-wallwatch.*-*" and view["timeFieldName"] == "@timestamp"
    for obj in found:
        assert obj["coreMigrationVersion"] == "8.8.0" and obj["typeMigrationVersion"]
        assert obj["id"] and len({o["id"] for o in found}) == len(found)


def test_the_file_is_what_build_py_makes() -> None:
    spec = importlib.util.spec_from_file_location("dashboards_build",
                                                  REPO / "dashboards" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == NDJSON.read_text(encoding="utf-8"), \
        "run python dashboards/build.py"


def test_every_embedded_json_string_parses() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and (key.endswith("JSON") or key in (
                        "fieldAttrs", "fieldFormatMap", "fields", "runtimeFieldMap",
                        "sourceFilters", "typeMeta")):
                    walk(json.loads(value), f"{where}.{key}")
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    for obj in objects():
        walk(obj["attributes"], obj["id"])


def test_every_reference_resolves() -> None:
    ids = {(o["type"], o["id"]) for o in objects()}
    for dash in dashboards():
        top = {r["name"]: r for r in dash["references"]}
        for ref in dash["references"]:
            assert (ref["type"], ref["id"]) in ids, ref
        expected = set()
        for panel in panels(dash):
            assert panel["type"] == "lens" and "attributes" in panel["embeddableConfig"]
            attributes = panel["embeddableConfig"]["attributes"]
            layers = attributes["state"]["datasourceStates"]["formBased"]["layers"]
            for ref in attributes["references"]:
                assert (ref["type"], ref["id"]) in ids, ref
                layer = ref["name"].removeprefix("indexpattern-datasource-layer-")
                assert layer in layers, ref["name"]
                expected.add(f"{panel['panelIndex']}:{ref['name']}")
            assert panel["gridData"]["i"] == panel["panelIndex"]
        assert set(top) == expected, dash["id"]


def test_every_accessor_names_a_column_of_its_layer() -> None:
    for dash in dashboards():
        for panel in panels(dash):
            state = panel["embeddableConfig"]["attributes"]["state"]
            ((layer_id, layer),) = state["datasourceStates"]["formBased"]["layers"].items()
            columns = layer["columns"]
            assert layer["columnOrder"] == list(columns)
            vis = state["visualization"]
            text = json.dumps(vis)
            named = set(re.findall(r'"(?:\w*[aA]ccessors?|columnId|metrics|primaryGroups)":'
                                   r' (\[[^\]]*\]|"[^"]*")', text))
            for value in named:
                for col in json.loads(value) if value.startswith("[") else [json.loads(value)]:
                    assert col in columns, (dash["id"], panel["title"], col)
            assert layer_id in text
            for column in columns.values():
                order = column.get("params", {}).get("orderBy", {})
                if order.get("type") == "column":
                    assert order["columnId"] in columns


def test_every_field_a_panel_uses_is_in_the_index_mapping_with_its_type() -> None:
    mapped = mapped_fields()
    used: set[str] = set()
    for dash in dashboards():
        for panel in panels(dash):
            state = panel["embeddableConfig"]["attributes"]["state"]
            fields = kql_fields(state["query"]["query"])
            for column in state["datasourceStates"]["formBased"]["layers"].popitem()[1][
                    "columns"].values():
                source = column.get("sourceField")
                if source and source != "___records___":
                    fields.add(source)
                    if column["operationType"] in ("terms", "date_histogram"):
                        assert FIELDS[source]["type"] in LENS_TYPES[column["dataType"]], \
                            (panel["title"], source)
                if column.get("params", {}).get("sortField"):
                    fields.add(column["params"]["sortField"])
                if column.get("filter"):
                    fields |= kql_fields(column["filter"]["query"])
            missing = fields - mapped
            assert not missing, (dash["id"], panel["title"], missing)
            used |= fields
    assert {"wallwatch.local.hour", "wallwatch.local.weekday", "rule.id",
            "event.severity_label", "file.mode_before"} <= used


# -- install --------------------------------------------------------------------------

class _Kibana(BaseHTTPRequestHandler):
    """Kibana's saved-objects import, as far as the command uses it."""

    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, dict(self.headers), body))
        if self.headers.get("Authorization") != "ApiKey kibana-test-key":
            return self._send(401, {"statusCode": 401, "error": "Unauthorized",
                                    "message": "[security_exception] unable to authenticate"})
        if self.headers.get("kbn-xsrf") != "true":
            return self._send(400, {"message": "Request must contain a kbn-xsrf header."})
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        parts: dict[Any, Any] = {
            p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
            for p in message.iter_parts()}
        objs = [json.loads(line) for line in parts["file"].splitlines() if line.strip()]
        ok = [{"type": o["type"], "id": o["id"], "meta": {"title": o["attributes"]["title"]},
               **({"overwrite": True} if self.server.existing else {})} for o in objs]
        errors = []
        if self.server.fail:
            bad = ok.pop()
            errors.append({"type": bad["type"], "id": bad["id"], "meta": bad["meta"],
                           "error": {"type": "missing_references", "references": [
                               {"type": "index-pattern", "id": "nope"}]}})
        self._send(200, {"success": not errors, "successCount": len(ok),
                         "successResults": ok, **({"errors": errors} if errors else {})})

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def kibana() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Kibana)
    server.seen, server.fail, server.existing = [], False, False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def install(tmp_path: Path, url: str, *args: str, key: str = "kibana-test-key"
            ) -> subprocess.CompletedProcess[str]:
    (tmp_path / "key").write_text(key)
    (tmp_path / "key").chmod(0o600)
    config = tmp_path / "w.yaml"
    config.write_text(f"timezone: UTC\nstore: {{path: {tmp_path / 'w.db'}}}\n"
                      f"elasticsearch: {{url: 'http://127.0.0.1:9', auth: {{api_key_file:"
                      f" {tmp_path / 'key'}}}}}\n")
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "dashboards",
                           "install", "--kibana", url, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_install_imports_every_object_and_reports_each(tmp_path: Path, kibana: Any) -> None:
    url = f"http://127.0.0.1:{kibana.server_address[1]}"
    result = install(tmp_path, url, "--space", "it-ops")
    assert result.returncode == 0, result.stdout + result.stderr
    path, headers, body = kibana.seen[0]
    assert path == "/s/it-ops/api/saved_objects/_import?overwrite=true"
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert NDJSON.read_bytes() in body
    lines = result.stdout.splitlines()
    assert len(lines) == len(objects())
    assert "dashboard wallwatch-overview “Wallwatch · Overview”: created" in lines
    assert "kibana-test-key" not in result.stdout + result.stderr
    kibana.existing = True
    again = install(tmp_path, url)
    assert again.returncode == 0 and "overwritten" in again.stdout
    assert kibana.seen[1][0] == "/api/saved_objects/_import?overwrite=true"


def test_install_exits_1_on_any_error(tmp_path: Path, kibana: Any) -> None:
    url = f"http://127.0.0.1:{kibana.server_address[1]}"
    kibana.fail = True
    partly = install(tmp_path, url)
    assert partly.returncode == 1
    assert "dashboard wallwatch-alerts “Wallwatch · Alerts”: missing_references" \
           " (missing index-pattern nope)" in partly.stdout
    refused = install(tmp_path, url, key="wrong-key-value")
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr
    assert "wrong-key-value" not in refused.stdout + refused.stderr
    unreachable = install(tmp_path, "http://127.0.0.1:9")
    assert unreachable.returncode == 1 and "cannot reach Kibana" in unreachable.stderr
    bad_url = install(tmp_path, "http://admin:pw@127.0.0.1:9")
    assert bad_url.returncode == 1 and "credentials in the Kibana URL" in bad_url.stderr

"""`wallwatch dashboards install`: Kibana's saved-objects import API.

POST <kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true with the
NDJSON as the multipart field `file` and `kbn-xsrf: true`. Kibana answers with
the objects it stored and the ones it could not; each is reported. The
credential is the `elasticsearch:` section's (Kibana takes the same API keys
and users) and travels only in the Authorization header.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import WallwatchError
from monitor.sinks.es_client import auth_headers, mask
from monitor.sinks.es_config import Auth

_SPACE = re.compile(r"^[a-z0-9_-]{1,100}$")


@dataclass(frozen=True)
class ImportResult:
    type: str
    id: str
    title: str
    outcome: str  # created, overwritten, or the error's type
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome not in ("created", "overwritten")

    def __str__(self) -> str:
        text = f"{self.type} {self.id}"
        if self.title:
            text += f" “{self.title}”"
        text += f": {self.outcome}"
        return f"{text} ({self.detail})" if self.detail else text


def import_url(kibana: str, space: str | None) -> str:
    parts = urlsplit(kibana)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WallwatchError(f"bad Kibana URL {kibana!r}: e.g. https://kibana:5601",
                             "<command line>")
    if parts.username or parts.password:
        raise WallwatchError("credentials in the Kibana URL: put them under the config's"
                             " elasticsearch.auth instead", "<command line>")
    if space is not None and not _SPACE.match(space):
        raise WallwatchError(f"bad space id {space!r}: lower-case letters, digits, '_' and '-'",
                             "<command line>")
    base = kibana.rstrip("/")
    if space and space != "default":
        base += f"/s/{space}"
    return base + "/api/saved_objects/_import?overwrite=true"


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "wallwatch-" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\";"
            f" filename=\"{filename}\"\r\nContent-Type: application/ndjson\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def install(kibana: str, space: str | None, ndjson: Path, auth: Auth, ca_file: str | None = None,
            verify: bool = True, timeout: float = 60.0) -> list[ImportResult]:
    """Import the saved objects; one result per object. Raises WallwatchError when
    Kibana cannot be reached or refuses the request as a whole."""
    url = import_url(kibana, space)
    body, boundary = multipart("file", ndjson.name, ndjson.read_bytes())
    headers = {"kbn-xsrf": "true", "Content-Type": f"multipart/form-data; boundary={boundary}",
               **auth_headers(auth)}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=ca_file)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            result = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        text = exc.read()[:500].decode("utf-8", "replace")
        raise WallwatchError(mask(f"Kibana answered HTTP {exc.code}: {text}", auth),
                             url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WallwatchError(mask(f"cannot reach Kibana: {reason}", auth), url) from None
    except ValueError:
        raise WallwatchError("Kibana's answer is not JSON", url) from None
    return results_of(result)


def results_of(answer: dict[str, Any]) -> list[ImportResult]:
    out = []
    for item in answer.get("successResults") or []:
        out.append(ImportResult(str(item.get("type")), str(item.get("id")),
                                str((item.get("meta") or {}).get("title") or ""),
                                "overwritten" if item.get("overwrite") else "created"))
    for item in answer.get("errors") or []:
        error = item.get("error") or {}
        detail = ""
        missing = error.get("references") or []
        if missing:
            detail = "missing " + ", ".join(f"{r.get('type')} {r.get('id')}" for r in missing)
        elif error.get("message"):
            detail = str(error["message"])
        out.append(ImportResult(str(item.get("type")), str(item.get("id")),
                                str((item.get("meta") or {}).get("title")
                                    or item.get("title") or ""),
                                str(error.get("type") or "error"), detail))
    if not out and not answer.get("success", False):
        out.append(ImportResult("import", "-", "", "error", json.dumps(answer)[:300]))
    return out

"""`wallwatch es setup`: install the ILM policy and the templates, idempotently.

Each object is read first. Absent → created. Present and already holding
everything we would write → unchanged (a second run writes nothing). Present
but different: if it is ours (`_meta.managed_by: wallwatch`) from an older
Wallwatch, it is updated; otherwise it is reported as a conflict and left alone,
unless --force. Elasticsearch returns objects with defaults added and settings
nested and stringified, so "holding everything" is a comparison of normalised
values where extra keys on the cluster's side do not count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from monitor.sinks.es_client import CLIENT_MAJOR, describe
from monitor.sinks.es_config import EsConfig
from monitor.sinks.es_templates import (
    ECS_TEMPLATE_VERSION,
    POLICY,
    component_templates,
    ilm_policy,
    index_templates,
)

Getter = Callable[[Elasticsearch, str], dict[str, Any]]
Putter = Callable[[Elasticsearch, str, dict[str, Any]], object]


@dataclass(frozen=True)
class SetupResult:
    kind: str  # "ILM policy", "component template", "index template", "cluster"
    name: str
    outcome: str  # created, unchanged, updated, overwritten, conflict, error
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in ("conflict", "error")

    def __str__(self) -> str:
        text = f"{self.kind} {self.name}: {self.outcome}"
        return f"{text} ({self.detail})" if self.detail else text


def _get_policy(client: Elasticsearch, name: str) -> dict[str, Any]:
    policy: dict[str, Any] = client.ilm.get_lifecycle(name=name).body[name]["policy"]
    return policy


def _get_component(client: Elasticsearch, name: str) -> dict[str, Any]:
    found = client.cluster.get_component_template(name=name).body["component_templates"]
    body: dict[str, Any] = found[0]["component_template"]
    return body


def _get_index(client: Elasticsearch, name: str) -> dict[str, Any]:
    found = client.indices.get_index_template(name=name).body["index_templates"]
    body: dict[str, Any] = found[0]["index_template"]
    return body


def _put_policy(client: Elasticsearch, name: str, body: dict[str, Any]) -> object:
    return client.ilm.put_lifecycle(name=name, policy=body)


def _put_component(client: Elasticsearch, name: str, body: dict[str, Any]) -> object:
    return client.cluster.put_component_template(name=name, template=body["template"],
                                                 meta=body["_meta"])


def _put_index(client: Elasticsearch, name: str, body: dict[str, Any]) -> object:
    return client.indices.put_index_template(
        name=name, index_patterns=body["index_patterns"], data_stream=body["data_stream"],
        priority=body["priority"], composed_of=body["composed_of"], meta=body["_meta"])


def wanted(cfg: EsConfig) -> list[tuple[str, str, dict[str, Any], Getter, Putter]]:
    """What setup installs, in an order where each object's dependencies come first."""
    out: list[tuple[str, str, dict[str, Any], Getter, Putter]] = [
        ("ILM policy", POLICY, ilm_policy(cfg.retention_days), _get_policy, _put_policy)]
    out += [("component template", name, body, _get_component, _put_component)
            for name, body in component_templates().items()]
    out += [("index template", name, body, _get_index, _put_index)
            for name, body in index_templates(cfg.namespace).items()]
    return out


def setup(client: Elasticsearch, cfg: EsConfig, force: bool = False) -> list[SetupResult]:
    try:
        number = str(client.info()["version"]["number"])
    except Exception as exc:
        return [SetupResult("cluster", ",".join(cfg.urls), "error", describe(exc, cfg.auth))]
    results = [SetupResult("cluster", ",".join(cfg.urls), "reachable", f"Elasticsearch {number}")]
    if number.split(".")[0] != str(CLIENT_MAJOR):
        results.append(SetupResult("cluster", ",".join(cfg.urls), "error",
                                   f"this client speaks {CLIENT_MAJOR}.x only; the cluster runs"
                                   f" {number}"))
        return results
    for kind, name, body, get, put in wanted(cfg):
        results.append(_one(client, cfg, kind, name, body, get, put, force))
        if results[-1].outcome == "error" and kind != "index template":
            break  # the templates that need it would fail too
    return results


def _one(client: Elasticsearch, cfg: EsConfig, kind: str, name: str, body: dict[str, Any],
         get: Getter, put: Putter, force: bool) -> SetupResult:
    try:
        try:
            existing: dict[str, Any] | None = get(client, name)
        except NotFoundError:
            existing = None
        if existing is None:
            put(client, name, body)
            return SetupResult(kind, name, "created")
        difference = first_difference(normal(existing), normal(body))
        if difference is None:
            return SetupResult(kind, name, "unchanged")
        if force:
            put(client, name, body)
            return SetupResult(kind, name, "overwritten", difference)
        meta = existing.get("_meta") or {}
        if meta.get("managed_by") == "wallwatch" and _older(meta.get("version")):
            put(client, name, body)
            return SetupResult(kind, name, "updated", f"from version {meta.get('version')}")
        return SetupResult(kind, name, "conflict",
                           f"{difference}; left as it is, rerun with --force to replace it")
    except Exception as exc:
        return SetupResult(kind, name, "error", describe(exc, cfg.auth))


def _older(version: object) -> bool:
    try:
        return int(str(version)) < ECS_TEMPLATE_VERSION
    except ValueError:
        return False


def normal(value: Any, key: str = "") -> Any:
    """Settings flattened to `index.*` keys, scalars as lower-case text, as Elasticsearch
    may hand them back."""
    if isinstance(value, dict):
        if key == "settings":
            return {k: normal(v) for k, v in _flat_settings(value).items()}
        return {k: normal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = prefix + key
        if isinstance(value, dict):
            out.update(_flat_settings(value, name + "."))
        else:
            out[name if name.startswith("index.") else "index." + name] = value
    return out


def first_difference(have: Any, want: Any, path: str = "") -> str | None:
    """Where `have` lacks or contradicts something of `want` (extra keys in `have` are
    fine), as `path: X here, Y wanted`; None when it holds all of it."""
    where = path or "the whole object"
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return f"{where}: not an object here"
        for key, value in want.items():
            sub = f"{path}.{key}" if path else key
            if key not in have:
                return f"{sub}: missing here"
            found = first_difference(have[key], value, sub)
            if found:
                return found
        return None
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return f"{where}: {_short(have)} here, {_short(want)} wanted"
        for i, (h, w) in enumerate(zip(have, want, strict=True)):
            found = first_difference(h, w, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if have == want else f"{where}: {_short(have)} here, {_short(want)} wanted"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

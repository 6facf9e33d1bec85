"""What `wallwatch es setup` installs: an ILM policy, two component templates
(settings; ECS mappings of every field we write plus `wallwatch.*`) and one
index template per data stream, above the built-in `logs` template (100).

Field types follow ECS (keyword for identifiers, `ip`, `long`, `date`,
`match_only_text` sub-fields for paths and names). Values that do not fit an
`ip`, number or date field are kept in _source and left unindexed
(ignore_malformed) rather than rejecting the whole event: one odd value must not
cost an event. Sources' open-ended maps (Samba's operation counts, auditd's
record fields, Windows event data) are `flattened`, so no log line can blow up
the mapping. `index.mode: standard` keeps _source exactly as shipped (9.x would
otherwise pick logsdb for `logs-*-*`, whose synthetic _source rewrites arrays).
"""

from __future__ import annotations

import copy
from typing import Any

ECS_TEMPLATE_VERSION = 2  # bump when anything below changes; `es setup` updates older ones
POLICY = "wallwatch"
SETTINGS_TEMPLATE = "wallwatch@settings"
MAPPINGS_TEMPLATE = "wallwatch@mappings"
STREAMS = ("events", "alerts", "chain")
PRIORITY = 200  # the built-in `logs` index template (logs-*-*) has 100
ROLLOVER_MAX_AGE = "7d"
ROLLOVER_MAX_PRIMARY_SHARD_SIZE = "50gb"
META = {"managed_by": "wallwatch", "version": ECS_TEMPLATE_VERSION}

_KW = {"type": "keyword", "ignore_above": 1024}
_TEXT_KW = {"type": "keyword", "ignore_above": 1024,
            "fields": {"text": {"type": "match_only_text"}}}
_LONG = {"type": "long", "ignore_malformed": True}
_DATE = {"type": "date", "ignore_malformed": True}
_IP = {"type": "ip", "ignore_malformed": True}
_BOOL = {"type": "boolean"}
_FLAT = {"type": "flattened", "ignore_above": 1024}
_CONST = {"type": "constant_keyword"}

_K, _T, _L, _D, _I, _B, _F, _C = _KW, _TEXT_KW, _LONG, _DATE, _IP, _BOOL, _FLAT, _CONST

# Every field Event.to_ecs() and Alert.to_ecs() write, the fields the shipper adds,
# and the sources' common native fields. Anything else is mapped dynamically
# (strings as keyword).
FIELDS: dict[str, dict[str, Any]] = {
    "@timestamp": {"type": "date"},
    "message": {"type": "match_only_text"},
    "tags": _K, "labels": {"type": "object"},
    "ecs.version": _K,
    "data_stream.type": _C, "data_stream.dataset": _C, "data_stream.namespace": _C,
    # event
    "event.kind": _K, "event.category": _K, "event.type": _K, "event.action": _K,
    "event.outcome": _K, "event.dataset": _K, "event.id": _K, "event.code": _K,
    "event.reason": _K, "event.module": _K, "event.provider": _K, "event.severity": _L,
    "event.severity_label": _K, "event.sequence": _L,
    "event.created": _D, "event.start": _D, "event.end": _D, "event.ingested": _D,
    # who, from where, on which host
    "user.name": _T, "user.id": _K, "user.domain": _K,
    "user.effective.name": _K, "user.effective.id": _K,
    "user.audit.name": _K, "user.audit.id": _K,
    "user.target.name": _K, "user.target.id": _K,
    "source.ip": _I, "source.port": _L, "source.address": _K, "source.domain": _K,
    "host.name": _K, "host.hostname": _K,
    "related.user": _K, "related.ip": _I, "related.hosts": _K,
    # files
    "file.path": _T, "file.target_path": _T, "file.name": _K, "file.directory": _K,
    "file.extension": _K, "file.mode": _K, "file.owner": _K, "file.group": _K,
    "file.type": _K, "file.uid": _K, "file.gid": _K, "file.inode": _K, "file.device": _K,
    "file.size": _L, "file.acl": _K, "file.acl_default": _K,
    "file.mode_before": _K, "file.owner_before": _K, "file.group_before": _K,
    "file.uid_before": _K, "file.gid_before": _K, "file.acl_before": _K,
    "file.acl_default_before": _K,
    "log.file.path": _K, "log.offset": _L,
    "registry.path": _K,
    # processes (auditd, sshd, Windows)
    "process.pid": _L, "process.parent.pid": _L, "process.name": _K,
    "process.executable": _K, "process.working_directory": _K, "process.title": _K,
    "process.args": _K,
    # alerts
    "rule.id": _K, "rule.name": _T, "rule.ruleset": _K, "rule.description": _K,
    "rule.reference": _K, "threat.framework": _K, "threat.technique.id": _K,
    "threat.technique.name": _K,
    # ours
    "wallwatch.client": _K, "wallwatch.assigned": _B, "wallwatch.off_hours": _B,
    "wallwatch.share": _K, "wallwatch.count": _L, "wallwatch.departed": _B,
    "wallwatch.archived": _B, "wallwatch.widened": _B, "wallwatch.widened_to": _K,
    "wallwatch.access": _K,
    "wallwatch.local.hour": _L, "wallwatch.local.weekday": _K,
    "wallwatch.alert.count": _L, "wallwatch.alert.window_start": _D,
    "wallwatch.alert.group": _F, "wallwatch.alert.event_ids": _K,
    "wallwatch.alert.falsepositives": _K,
    # Samba
    "samba.operation": _K, "samba.operations": _F, "samba.machine": _K, "samba.share": _K,
    "samba.access_mask": _K, "samba.disposition": _K, "samba.sddl": _K,
    "samba.entries": _L, "samba.entry_names": _K,
    "samba.auth.event_id": _K, "samba.auth.status": _K, "samba.auth.service": _K,
    "samba.auth.method": _K, "samba.auth.workstation": _K, "samba.auth.domain": _K,
    "samba.auth.logon_type": _K, "samba.auth.logon_id": _K, "samba.auth.record": _K,
    "samba.auth.duration_us": _L, "samba.auth.local_address": _K,
    "samba.auth.description": _K, "samba.auth.mapped_account": _K,
    "samba.auth.mapped_domain": _K, "samba.auth.became_account": _K,
    "samba.auth.became_domain": _K, "samba.auth.became_sid": _K,
    "samba.auth.netlogon_computer": _K, "samba.auth.netlogon_trust_account": _K,
    # sshd / PAM
    "system.auth.ssh.method": _K, "system.auth.ssh.event": _K,
    "system.auth.ssh.signature": _K, "system.auth.ssh.protocol": _K,
    "system.auth.ssh.invalid_user": _B, "system.auth.ssh.preauth": _B,
    "system.auth.ssh.disconnect.reason": _K, "system.auth.ssh.disconnect.how": _K,
    "system.auth.ssh.disconnect.code": _K,
    "system.auth.pam.service": _K, "system.auth.pam.module": _K, "system.auth.pam.rhost": _K,
    "system.auth.pam.message": _K, "system.auth.lines": _K,
    # auditd
    "auditd.sequence": _L, "auditd.session": _K, "auditd.record_types": _K,
    "auditd.data": _F, "auditd.paths": _F, "auditd.socket": _F, "auditd.open_flags": _K,
    "auditd.previous_mode": _K, "auditd.incomplete": _B, "auditd.path_resolved": _B,
    # Windows
    "winlog.event_id": _K, "winlog.channel": _K, "winlog.provider_name": _K,
    "winlog.provider_guid": _K, "winlog.computer_name": _K, "winlog.record_id": _K,
    "winlog.task": _K, "winlog.opcode": _K, "winlog.level": _K, "winlog.version": _K,
    "winlog.keywords": _K, "winlog.activity_id": _K, "winlog.related_activity_id": _K,
    "winlog.time_created": _K, "winlog.process.pid": _L, "winlog.process.thread.id": _L,
    "winlog.logon.type": _K, "winlog.logon.id": _K, "winlog.logon.failure.reason": _K,
    "winlog.logon.failure.status": _K, "winlog.logon.failure.sub_status": _K,
    "winlog.user.identifier": _K,
    "winlog.event_data": _F, "winlog.user_data": _F, "winlog.system": _F,
    # filesystem watcher
    "fswatch.detected": _K, "fswatch.entries_removed": _L,
    # the hash chain's links (logs-wallwatch.chain-*)
    "wallwatch.chain.batch": _L, "wallwatch.chain.kind": _K, "wallwatch.chain.first_seq": _L,
    "wallwatch.chain.last_seq": _L, "wallwatch.chain.rows": _L, "wallwatch.chain.newest": _D,
    "wallwatch.chain.digest": _K, "wallwatch.chain.hash": _K,
}

def stream_name(stream: str, namespace: str) -> str:
    """`logs-wallwatch.events-default`: type-dataset-namespace, as Fleet names them."""
    return f"logs-{dataset(stream)}-{namespace}"


def dataset(stream: str) -> str:
    return f"wallwatch.{stream}"


def _properties(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for dotted, spec in fields.items():
        parts = [dotted] if dotted.startswith("@") else dotted.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = copy.deepcopy(spec)
    return root


def index_mappings() -> dict[str, Any]:
    """The `mappings` of both data streams (a fresh copy)."""
    return {
        "dynamic": True,
        "date_detection": False,  # a string that looks like a date stays a keyword
        "numeric_detection": False,
        "dynamic_templates": [
            {"strings_as_keyword": {"match_mapping_type": "string",
                                    "mapping": {"type": "keyword", "ignore_above": 1024}}},
        ],
        "properties": _properties(FIELDS),
    }


def mapped_fields() -> set[str]:
    """Every dotted field name the explicit mapping defines (leaves and multi-fields)."""
    out: set[str] = set()

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            full = prefix + name
            if "properties" in spec:
                walk(spec["properties"], full + ".")
                continue
            out.add(full)
            for sub in spec.get("fields", {}):
                out.add(f"{full}.{sub}")

    walk(index_mappings()["properties"], "")
    return out


def ilm_policy(retention_days: int) -> dict[str, Any]:
    return {
        "_meta": dict(META),
        "phases": {
            "hot": {"actions": {"rollover": {
                "max_age": ROLLOVER_MAX_AGE,
                "max_primary_shard_size": ROLLOVER_MAX_PRIMARY_SHARD_SIZE}}},
            "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
        },
    }


def component_templates() -> dict[str, dict[str, Any]]:
    """name → body of PUT _component_template/<name>."""
    return {
        SETTINGS_TEMPLATE: {
            "_meta": dict(META),
            "template": {"settings": {
                "index.lifecycle.name": POLICY,
                "index.mode": "standard",
                "index.codec": "best_compression",
                "index.mapping.total_fields.limit": 2000,
                # a source with too many fields of its own loses those fields, not the event
                "index.mapping.total_fields.ignore_dynamic_beyond_limit": True,
                "index.query.default_field": ["message", "file.path", "file.target_path",
                                              "user.name", "event.action", "rule.name"],
            }},
        },
        MAPPINGS_TEMPLATE: {"_meta": dict(META), "template": {"mappings": index_mappings()}},
    }


def index_templates(namespace: str = "default") -> dict[str, dict[str, Any]]:
    """name → body of PUT _index_template/<name>; they match every namespace, so one
    set-up serves all hosts whatever namespace each ships to."""
    del namespace  # the patterns cover all namespaces
    return {
        f"logs-{dataset(stream)}": {
            "index_patterns": [f"logs-{dataset(stream)}-*"],
            "data_stream": {},
            "priority": PRIORITY,
            "composed_of": [SETTINGS_TEMPLATE, MAPPINGS_TEMPLATE],
            "_meta": {**META, "description": f"Wallwatch {stream}"},
        }
        for stream in STREAMS
    }

"""Store rows straight to shipped documents: the shipper's hot path.

`event_doc(row_to_event(row), ctx)` is the definition of what is shipped; this
builds the same dictionary from a row of the store's EVENT_SELECT without the
Event in between, with the dotted paths split once and timestamps formatted
once per second. It is several times faster, which is what lets one shipper
keep up with a busy host. tests/sinks/test_elasticsearch_docs.py checks that
both give identical documents (the store's own test events, the rule workload,
and generated ones); if Event.to_ecs() changes, that test says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from monitor.event import ECS_VERSION, FIELDS, Event
from monitor.sinks.es_docs import WEEKDAYS, DocContext
from monitor.sinks.es_templates import dataset
from monitor.store import EVENT_SELECT, Store

_SQL = EVENT_SELECT + " WHERE e.seq > ? ORDER BY e.seq LIMIT ?"
_FLAGS = {f.name for f in dataclasses.fields(Event) if "bool" in str(f.type)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_QUARTER_US = 900_000_000  # since 1972 every time zone offset is a multiple of 15 minutes
Path = tuple[str, ...]
Builder = Callable[[tuple[Any, ...], Callable[[int], str]], dict[str, Any]]


def _path(dotted: str) -> Path:
    return (dotted,) if dotted.startswith("@") else tuple(dotted.split("."))


def _put(doc: dict[str, Any], path: Path, value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


class RowDocs:
    """Builds shipped event documents from store rows; one per shipper thread."""

    def __init__(self, ctx: DocContext) -> None:
        self.ctx = ctx
        self._build: Builder | None = None
        self._second = -1
        self._second_text = ""
        self._quarter = -1
        self._local: dict[str, Any] = {}
        self._paths: dict[str, Path] = {}
        self._user = self._ip = 0
        # shared by every document: only ever serialised, never changed
        self._data_stream = {"type": "logs", "dataset": dataset("events"),
                             "namespace": ctx.namespace}

    def _make_builder(self, names: list[str]) -> Builder:
        """A function filling a document with the FIELDS of one row, as to_ecs() does:
        written out as straight-line code once, each nested object created when its
        first field is present (a loop over the fields with a generic put costs several
        times more per event, and this is the hot path)."""
        where = {"timestamp": 2, "file_path": 3, "file_target_path": 4}
        where.update({name: i for i, name in enumerate(names) if i >= 6})
        lines = ["def build(row, stamp):", "    doc = {}"]
        objects: dict[Path, str] = {(): "doc"}  # nested object → its local variable

        def ensure(prefix: Path, indent: str) -> list[str]:
            """Code that makes sure the object at `prefix` exists (parents first)."""
            if prefix in objects and not prefix:
                return []
            name = objects.setdefault(prefix, "o_" + "_".join(prefix).replace("@", ""))
            code = ensure(prefix[:-1], indent)
            parent = objects[prefix[:-1]]
            code += [f"{indent}if {name} is None:",
                     f"{indent}    {name} = {parent}[{prefix[-1]!r}] = {{}}"]
            return code

        body: list[str] = []
        for dotted, attr in FIELDS.items():
            path = _path(dotted)
            value = ("stamp(v)" if attr == "timestamp" else "[v]" if attr in ("category", "type")
                     else "bool(v)" if attr in _FLAGS else "v")
            test = "v is not None and v != 1" if attr == "count" else "v is not None"
            body += [f"    v = row[{where[attr]}]", f"    if {test}:",
                     *ensure(path[:-1], "        "),
                     f"        {objects[path[:-1]]}[{path[-1]!r}] = {value}"]
        lines += [f"    {name} = None" for prefix, name in objects.items() if prefix]
        lines += [*body, "    return doc"]
        namespace: dict[str, Any] = {}
        # the source holds only FIELDS' names (repr-quoted) and row indexes: nothing from data
        exec(compile("\n".join(lines), "<es_rows builder>", "exec"), namespace)
        builder: Builder = namespace["build"]
        return builder

    def read(self, store: Store, after: int, limit: int) -> Iterator[tuple[int, str,
                                                                          dict[str, Any]]]:
        """(seq, event id, document) of the events after `after`, oldest first. Lazily:
        a caller that serialises each document before taking the next keeps few objects
        alive, which spares the cyclic garbage collector rescanning thousands of them."""
        cursor = store.db.execute(_SQL, (after, limit))
        rows = cursor.fetchall()
        if self._build is None:
            names = [d[0] for d in cursor.description]
            self._build = self._make_builder(names)
            self._user, self._ip = names.index("user_name"), names.index("source_ip")
        for row in rows:
            doc_id = row[1].hex()
            yield row[0], doc_id, self.doc(row, doc_id)

    def doc(self, row: tuple[Any, ...], doc_id: str) -> dict[str, Any]:
        """What to_ecs() gives, plus what event_doc() adds; the same steps in the same order
        (derived fields, then `extra`, then the id and version), unrolled for speed."""
        assert self._build is not None
        doc = self._build(row, self._timestamp)
        path = row[3]
        if path:  # posixpath.basename and dirname, inline
            cut = path.rfind("/") + 1
            name, head = path[cut:], path[:cut]
            if head and head != "/" * len(head):
                head = head.rstrip("/")
            if name:
                doc["file"]["name"] = name
            if head:
                doc["file"]["directory"] = head
        user, ip = row[self._user], row[self._ip]
        if user:
            doc["related"] = {"user": [user]}
        if ip:
            doc.setdefault("related", {})["ip"] = [ip]
        if row[5]:
            for dotted, value in orjson.loads(row[5]).items():
                split = self._paths.get(dotted)
                if split is None:
                    split = self._paths[dotted] = _path(dotted)
                _put(doc, split, value)
        for top, key, value in (("event", "id", doc_id), ("ecs", "version", ECS_VERSION)):
            node = doc.get(top)
            if not isinstance(node, dict):
                node = doc[top] = {}
            node[key] = value
        doc["data_stream"] = self._data_stream
        host = doc.get("host")
        if not isinstance(host, dict):
            host = doc["host"] = {}
        if "name" not in host:
            host["name"] = self.ctx.host_name
        ours = doc.get("wallwatch")
        if not isinstance(ours, dict):
            ours = doc["wallwatch"] = {}
        ours["local"] = self._local_time(row[2])
        return doc

    def _timestamp(self, us: int) -> str:
        second, micro = divmod(us, 1_000_000)
        if second != self._second:
            self._second = second
            self._second_text = (_EPOCH + timedelta(seconds=second)).strftime(
                "%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{micro:06d}Z"

    def _local_time(self, us: int) -> dict[str, Any]:
        quarter = us // _QUARTER_US
        if quarter != self._quarter:
            self._quarter = quarter
            local = (_EPOCH + timedelta(microseconds=quarter * _QUARTER_US)).astimezone(
                self.ctx.timezone)
            self._local = {"hour": local.hour, "weekday": WEEKDAYS[local.weekday()]}
        return self._local  # shared by the documents of a quarter hour; never changed

"""Lens panels by value and dashboards as Kibana 8.8+ saved objects, built as data.

Shapes follow what Kibana 8.8 exports: a dashboard's panelsJSON holds each Lens
panel's whole state (`formBased` datasource, one layer); the data view is named
by reference, once inside the panel and once in the dashboard's `references`
as `<panelIndex>:indexpattern-datasource-layer-<layerId>`. Ids are uuid5 of
stable names, so a rebuild gives the same file.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

NS = uuid.UUID("6f1c8c52-3f7e-4c77-9a43-5a0e2b1f7d10")
DATA_VIEW_ID = "wallwatch-logs"
DATA_VIEW_TITLE = "logs-wallwatch.*-*"
CORE_VERSION = "8.8.0"  # oldest Kibana these objects import into
DASHBOARD_TYPE_VERSION = "8.7.0"
DATA_VIEW_TYPE_VERSION = "8.0.0"
RECORDS = "___records___"

# ES field type → Lens dataType
DATA_TYPES = {"keyword": "string", "constant_keyword": "string", "long": "number",
              "boolean": "boolean", "ip": "ip", "date": "date"}


def uid(*parts: str) -> str:
    return str(uuid.uuid5(NS, "/".join(parts)))


@dataclass
class Col:
    """One Lens column; `id` is filled in when the panel is built."""

    spec: dict[str, Any]
    id: str = ""


def count(label: str = "Events", kql: str | None = None) -> Col:
    spec: dict[str, Any] = {"label": label, "dataType": "number", "operationType": "count",
                            "isBucketed": False, "scale": "ratio", "sourceField": RECORDS,
                            "params": {"emptyAsNull": False}, "customLabel": True}
    if kql:
        spec["filter"] = {"query": kql, "language": "kuery"}
    return Col(spec)


def unique(field: str, label: str) -> Col:
    return Col({"label": label, "dataType": "number", "operationType": "unique_count",
                "isBucketed": False, "scale": "ratio", "sourceField": field,
                "params": {"emptyAsNull": True}, "customLabel": True})


def last(field: str, label: str, data_type: str = "string") -> Col:
    return Col({"label": label, "dataType": data_type, "operationType": "last_value",
                "isBucketed": False, "scale": "ordinal", "sourceField": field,
                "params": {"sortField": "@timestamp", "showArrayValues": True},
                "customLabel": True})


def timeline() -> Col:
    return Col({"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
                "sourceField": "@timestamp", "isBucketed": True, "scale": "interval",
                "params": {"interval": "auto", "includeEmptyRows": True,
                           "dropPartials": False}})


def top(field: str, label: str, size: int = 10, data_type: str = "string",
        by_key: bool = False, other: bool = True) -> Col:
    """Top values of `field`, ordered by the panel's first metric (or by key)."""
    return Col({"label": label, "dataType": data_type, "operationType": "terms",
                "scale": "ordinal", "sourceField": field, "isBucketed": True,
                "params": {"size": size,
                           "orderBy": {"type": "alphabetical", "fallback": False} if by_key
                           else {"type": "column", "columnId": ""},
                           "orderDirection": "asc" if by_key else "desc",
                           "otherBucket": other and not by_key, "missingBucket": False,
                           "parentFormat": {"id": "terms"}},
                "customLabel": True})


@dataclass
class Panel:
    title: str
    vis: str  # xy_stacked, bar_h, pie, heatmap, table, metric
    buckets: list[Col]
    metrics: list[Col]
    kql: str = ""
    w: int = 24
    h: int = 15
    description: str = ""
    index: str = field(default="", init=False)
    layer: str = field(default="", init=False)

    def build(self, dashboard: str, n: int) -> None:
        self.index = uid(dashboard, str(n))
        self.layer = uid(dashboard, str(n), "layer")
        for k, col in enumerate([*self.buckets, *self.metrics]):
            col.id = uid(dashboard, str(n), "col", str(k))
        for col in self.buckets:
            order = col.spec.get("params", {}).get("orderBy", {})
            if order.get("type") == "column":
                order["columnId"] = self.metrics[0].id

    def _visualization(self) -> tuple[str, dict[str, Any]]:
        layer, b, m = self.layer, [c.id for c in self.buckets], [c.id for c in self.metrics]
        if self.vis in ("xy_stacked", "bar_h"):
            series = "bar_stacked" if self.vis == "xy_stacked" else "bar_horizontal"
            xy: dict[str, Any] = {"layerId": layer, "accessors": m, "position": "top",
                                  "seriesType": series, "showGridlines": False,
                                  "layerType": "data", "xAccessor": b[0]}
            if len(b) > 1:
                xy["splitAccessor"] = b[1]
            return "lnsXY", {"legend": {"isVisible": len(b) > 1, "position": "right"},
                             "valueLabels": "hide", "fittingFunction": "None",
                             "preferredSeriesType": series, "layers": [xy]}
        if self.vis == "pie":
            return "lnsPie", {"shape": "donut", "layers": [{
                "layerId": layer, "primaryGroups": b, "metrics": m, "numberDisplay": "value",
                "categoryDisplay": "default", "legendDisplay": "default", "nestedLegend": False,
                "layerType": "data"}]}
        if self.vis == "heatmap":
            return "lnsHeatmap", {
                "layerId": layer, "layerType": "data", "shape": "heatmap", "xAccessor": b[0],
                "yAccessor": b[1], "valueAccessor": m[0],
                "legend": {"isVisible": True, "position": "right", "type": "heatmap_legend"},
                "gridConfig": {"type": "heatmap_grid", "isCellLabelVisible": True,
                               "isYAxisLabelVisible": True, "isXAxisLabelVisible": True,
                               "isYAxisTitleVisible": True, "isXAxisTitleVisible": True}}
        if self.vis == "table":
            return "lnsDatatable", {"layerId": layer, "layerType": "data",
                                    "columns": [{"columnId": c, "isTransposed": False}
                                                for c in [*b, *m]]}
        if self.vis == "metric":
            return "lnsMetric", {"layerId": layer, "layerType": "data", "metricAccessor": m[0]}
        raise ValueError(self.vis)

    def embeddable(self, x: int, y: int) -> dict[str, Any]:
        vis_type, visualization = self._visualization()
        columns = {c.id: c.spec for c in [*self.buckets, *self.metrics]}
        ref = {"type": "index-pattern", "id": DATA_VIEW_ID,
               "name": f"indexpattern-datasource-layer-{self.layer}"}
        attributes = {
            "title": self.title, "description": self.description,
            "visualizationType": vis_type, "type": "lens", "references": [ref],
            "state": {
                "visualization": visualization,
                "query": {"query": self.kql, "language": "kuery"},
                "filters": [],
                "datasourceStates": {"formBased": {"layers": {self.layer: {
                    "columns": columns, "columnOrder": list(columns),
                    "incompleteColumns": {}}}}},
                "internalReferences": [], "adHocDataViews": {}}}
        return {"version": CORE_VERSION, "type": "lens",
                "gridData": {"x": x, "y": y, "w": self.w, "h": self.h, "i": self.index},
                "panelIndex": self.index,
                "embeddableConfig": {"attributes": attributes, "enhancements": {}},
                "title": self.title}


def dashboard(object_id: str, title: str, description: str, panels: list[Panel],
              time_from: str = "now-24h") -> dict[str, Any]:
    """A dashboard saved object; panels flow left to right in rows of 48 columns."""
    embeddables, references = [], []
    x = y = row_h = 0
    for n, panel in enumerate(panels):
        panel.build(object_id, n)
        if x + panel.w > 48:
            x, y, row_h = 0, y + row_h, 0
        embeddables.append(panel.embeddable(x, y))
        references.append({"type": "index-pattern", "id": DATA_VIEW_ID,
                           "name": f"{panel.index}:indexpattern-datasource-layer-{panel.layer}"})
        x += panel.w
        row_h = max(row_h, panel.h)
    return {
        "attributes": {
            "title": title, "description": description,
            "panelsJSON": json.dumps(embeddables, ensure_ascii=False),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False,
                                       "syncCursor": True, "syncTooltips": False,
                                       "hidePanelTitles": False}),
            "timeRestore": True, "timeFrom": time_from, "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 60000},
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []})},
            "version": 1,
        },
        "coreMigrationVersion": CORE_VERSION, "typeMigrationVersion": DASHBOARD_TYPE_VERSION,
        "id": object_id, "managed": False, "references": references, "type": "dashboard",
    }


def data_view() -> dict[str, Any]:
    return {
        "attributes": {
            "title": DATA_VIEW_TITLE, "name": "Wallwatch events and alerts",
            "timeFieldName": "@timestamp", "allowNoIndex": True,
            "fieldAttrs": json.dumps({
                "wallwatch.local.hour": {"customLabel": "Hour (firm's time zone)"},
                "wallwatch.local.weekday": {"customLabel": "Weekday (firm's time zone)"}}),
            "fieldFormatMap": "{}", "fields": "[]", "runtimeFieldMap": "{}",
            "sourceFilters": "[]", "typeMeta": "{}",
        },
        "coreMigrationVersion": CORE_VERSION, "typeMigrationVersion": DATA_VIEW_TYPE_VERSION,
        "id": DATA_VIEW_ID, "managed": False, "references": [], "type": "index-pattern",
    }

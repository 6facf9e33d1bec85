"""Build dashboards/wallwatch.ndjson: the data view and the six dashboards IT admins
open every morning. Run `python dashboards/build.py` after changing a panel;
tests/test_dashboards.py checks that the file matches this script.

Every panel reads the data view `logs-wallwatch.*-*` (events and alerts of all
hosts and namespaces); what a panel shows is set by its KQL query.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lens import (  # the sibling module (dashboards/ is not a package)
    Panel,
    count,
    dashboard,
    data_view,
    last,
    timeline,
    top,
    unique,
)

OUT = Path(__file__).resolve().parent / "wallwatch.ndjson"
EVENTS = "not event.kind: alert"
ALERTS = "event.kind: alert"
FILES_OUTSIDE = "event.category: file and wallwatch.assigned: false"
AUTH = "event.category: authentication"
PERMISSIONS = ("event.category: file and event.action: (changed-file-permissions-of or"
               " changed-file-ownership-of or changed-file-acl-of or changed-file-attributes-of)")


def overview() -> dict[str, Any]:
    return dashboard("wallwatch-overview", "Wallwatch · Overview",
                     "What happened on the file servers: activity, who, which clients, alerts.", [
        Panel("Events", "metric", [], [count("Events")], EVENTS, w=12, h=6),
        Panel("Accesses outside assignments", "metric", [], [count("Accesses")],
              FILES_OUTSIDE, w=12, h=6),
        Panel("Alerts", "metric", [], [count("Alerts")], ALERTS, w=12, h=6),
        Panel("Critical and high alerts", "metric", [], [count("Alerts")],
              ALERTS + " and event.severity_label: (critical or high)", w=12, h=6),
        Panel("Events over time by action", "xy_stacked",
              [timeline(), top("event.action", "Action", 10)], [count()], EVENTS, w=48),
        Panel("Top users", "bar_h", [top("user.name", "User", 15)], [count()], EVENTS),
        Panel("Top clients", "bar_h", [top("wallwatch.client", "Client", 15)], [count()],
              EVENTS + " and wallwatch.client: *"),
        Panel("Alerts by severity", "pie", [top("event.severity_label", "Severity", 4)],
              [count("Alerts")], ALERTS),
        Panel("Alerts by rule", "bar_h", [top("rule.name", "Rule", 15)], [count("Alerts")],
              ALERTS),
    ])


def wall_breaches() -> dict[str, Any]:
    cross = ALERTS + ' and rule.id: "wall.cross-client-access"'
    return dashboard("wallwatch-wall-breaches", "Wallwatch · Wall breaches",
                     "Staff in client folders they are not assigned to.", [
        Panel("Cross-client alerts: user × client", "heatmap",
              [top("wallwatch.client", "Client", 20, other=False),
               top("user.name", "User", 20, other=False)], [count("Alerts")], cross),
        Panel("Accesses outside assignments over time", "xy_stacked",
              [timeline(), top("user.name", "User", 10)], [count("Accesses")], FILES_OUTSIDE),
        Panel("The files", "table",
              [top("file.path", "File", 200, other=False), top("user.name", "User", 5),
               top("wallwatch.client", "Client", 3)],
              [count("Accesses"), last("event.action", "Last action")], FILES_OUTSIDE,
              w=48, h=20),
    ])


def off_hours() -> dict[str, Any]:
    reads = "wallwatch.off_hours: true and event.category: file and event.action: read"
    return dashboard("wallwatch-off-hours", "Wallwatch · Off-hours activity",
                     "When files are touched (in the firm's time zone), and who reads in bulk"
                     " outside working hours.", [
        Panel("File activity by hour and weekday", "heatmap",
              [top("wallwatch.local.hour", "Hour", 24, data_type="number", by_key=True),
               top("wallwatch.local.weekday", "Weekday", 7, by_key=True)],
              [count()], "event.category: file", w=48, h=14),
        Panel("Bulk readers outside working hours", "table",
              [top("user.name", "User", 25, other=False),
               top("wallwatch.client", "Client", 5)],
              [count("Reads"), unique("file.path", "Distinct files")], reads),
        Panel("Off-hours activity over time", "xy_stacked",
              [timeline(), top("user.name", "User", 10)], [count()],
              EVENTS + " and wallwatch.off_hours: true"),
        Panel("Off-hours bulk-read alerts", "table",
              [top("user.name", "User", 20, other=False),
               top("wallwatch.client", "Client", 5)], [count("Alerts")],
              ALERTS + ' and rule.id: "wall.off-hours-bulk-read"', w=48, h=10),
    ])


def logins() -> dict[str, Any]:
    failed = AUTH + " and event.outcome: failure"
    return dashboard("wallwatch-logins", "Wallwatch · Logins",
                     "Failed logins by address and user; successes after failures.", [
        Panel("Failed logins by source IP", "bar_h",
              [top("source.ip", "Source IP", 15, data_type="ip"), top("user.name", "User", 5)],
              [count("Failures")], failed),
        Panel("Failed logins by user", "bar_h", [top("user.name", "User", 15)],
              [count("Failures")], failed),
        Panel("Logins over time by outcome", "xy_stacked",
              [timeline(), top("event.outcome", "Outcome", 3)], [count("Logins")], AUTH, w=48),
        Panel("Successes after failures (alerts)", "table",
              [top("user.name", "User", 50, other=False),
               top("source.ip", "Source IP", 10, data_type="ip"),
               top("host.name", "Host", 10)], [count("Alerts")],
              ALERTS + ' and rule.id: "auth.guess-then-success"'),
        Panel("Users and addresses with failures and successes", "table",
              [top("user.name", "User", 50, other=False),
               top("source.ip", "Source IP", 10, data_type="ip")],
              [count("Failures", "event.outcome: failure"),
               count("Successes", "event.outcome: success")], AUTH),
    ])


def permissions() -> dict[str, Any]:
    return dashboard("wallwatch-permissions", "Wallwatch · Permission changes",
                     "Mode, owner and ACL changes: before and after, who, where.", [
        Panel("Permission changes over time", "xy_stacked",
              [timeline(), top("event.action", "Change", 5)], [count("Changes")], PERMISSIONS,
              w=48, h=10),
        Panel("Before and after", "table",
              [top("file.path", "File", 200, other=False), top("user.name", "Who", 5),
               top("host.name", "Host", 5)],
              [count("Changes"), last("file.mode_before", "Mode before"),
               last("file.mode", "Mode after"), last("file.owner_before", "Owner before"),
               last("file.owner", "Owner after"), last("file.acl_before", "ACL before"),
               last("file.acl", "ACL after")], PERMISSIONS, w=48, h=20),
        Panel("Who changes permissions", "bar_h", [top("user.name", "Who", 15)],
              [count("Changes")], PERMISSIONS),
        Panel("Where (clients)", "bar_h", [top("wallwatch.client", "Client", 15)],
              [count("Changes")], PERMISSIONS + " and wallwatch.client: *"),
    ])


def alerts() -> dict[str, Any]:
    return dashboard("wallwatch-alerts", "Wallwatch · Alerts",
                     "Every alert: rule, severity, user, client, host.", [
        Panel("Alerts over time by severity", "xy_stacked",
              [timeline(), top("event.severity_label", "Severity", 4)], [count("Alerts")],
              ALERTS, w=48, h=10),
        Panel("Alerts", "table",
              [top("rule.name", "Rule", 50, other=False),
               top("event.severity_label", "Severity", 4),
               top("user.name", "User", 10), top("wallwatch.client", "Client", 10),
               top("host.name", "Host", 10)],
              [count("Alerts")], ALERTS, w=48, h=24),
    ], time_from="now-7d")


def objects() -> list[dict[str, Any]]:
    return [data_view(), overview(), wall_breaches(), off_hours(), logins(), permissions(),
            alerts()]


def render() -> str:
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objects())


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT} ({len(objects())} objects)")

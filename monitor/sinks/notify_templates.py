"""Message templates (zh-CN and en shipped here), chosen per route, overridable by files.

A template is `string.Template` text: the first line is the title, the rest the
body ($name or ${name}; no attribute access, so a template cannot reach into
Python objects). To override one, put `<dir>/<language>/<kind>.txt` in the
directory named by `notify.templates`; kinds are `alert` (first message of an
incident), `update` (what followed inside an incident), `digest` (hourly /
daily routes) and `test`. A file may only use the names its kind provides
(checked when the config loads). Blank lines that an empty optional value
leaves (e.g. no Kibana link configured) are dropped.

The defaults live in this module rather than in data files so that they ship
with the package in every form it is installed in.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from dataclasses import dataclass

KINDS = ("alert", "update", "digest", "test")
COMMON = {"severity", "rule_title", "rule_id", "who", "where", "user", "client", "host",
          "share", "path", "ip", "incident", "search", "kibana_line", "sentence", "route",
          "when", "description"}
NAMES: dict[str, set[str]] = {
    "alert": COMMON | {"count"},
    "update": COMMON | {"new_alerts", "new_events", "actions", "files", "since", "until",
                        "state"},
    "digest": {"severity", "route", "period", "since", "until", "alerts", "events",
               "incidents", "items", "more"},
    "test": {"route", "host", "when"},
}

DEFAULTS: dict[str, dict[str, str]] = {
    "en": {
        "alert": """[$severity] $rule_title — $who @ $where
$sentence
When:     $when
Where:    host $host, share $share, path $path
Events:   $count
Incident: $incident
Evidence: $search
$kibana_line
""",
        "update": """[$severity] Update: $rule_title — $who @ $where
$sentence It went on: $new_alerts more alert(s) and $new_events more matching event(s).
Period:   $since — $until ($state)
Actions:  $actions
Files:    $files
Incident: $incident
Evidence: $search
$kibana_line
""",
        "digest": """[$severity] Wallwatch digest $period: $alerts alert(s), $incidents incident(s)
Route $route, $since — $until: $alerts alert(s) about $events event(s).
$items
$more
""",
        "test": """[TEST] Wallwatch notification test — route $route
If you can read this, route $route of the Wallwatch daemon on $host can reach you ($when).
""",
    },
    "zh-CN": {
        "alert": """[$severity] $rule_title — $who @ $where
$sentence
时间：$when
位置：主机 $host，共享 $share，路径 $path
事件数：$count
事件单号：$incident
查看证据：$search
$kibana_line
""",
        "update": """[$severity] 进展：$rule_title — $who @ $where
$sentence此后又有 $new_alerts 条告警、$new_events 个相关事件。
时段：$since — $until（$state）
操作：$actions
文件：$files
事件单号：$incident
查看证据：$search
$kibana_line
""",
        "digest": """[$severity] Wallwatch 汇总 $period：$alerts 条告警，$incidents 个事件单
通知路由 $route，$since — $until：$alerts 条告警，涉及 $events 个事件。
$items
$more
""",
        "test": """[测试] Wallwatch 通知测试 — 路由 $route
收到这条消息说明 $host 上 Wallwatch 的通知路由 $route 可以送达（$when）。
""",
    },
}

@dataclass(frozen=True)
class Message:
    title: str
    body: str


def _identifiers(text: str) -> set[str]:
    return set(string.Template(text).get_identifiers())


def check_template_dir(path: str) -> str | None:
    """What is wrong with an override directory, or None."""
    if not os.path.isdir(path):
        return f"template directory {path} does not exist"
    for language in DEFAULTS:
        for kind in KINDS:
            file = os.path.join(path, language, f"{kind}.txt")
            if not os.path.exists(file):
                continue
            try:
                with open(file, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as exc:
                return f"cannot read template {file}: {exc}"
            if not string.Template(text).is_valid():
                return f"template {file}: a $ that starts no name (write $$ for a dollar sign)"
            unknown = sorted(_identifiers(text) - NAMES[kind])
            if unknown:
                return (f"template {file} uses unknown name(s) {', '.join(unknown)}; "
                        f"{kind} templates may use: {', '.join(sorted(NAMES[kind]))}")
            if not text.strip():
                return f"template {file} is empty (its first line is the title)"
    return None


class Templates:
    """The shipped templates with a directory's overrides on top (read once)."""

    def __init__(self, directory: str | None = None) -> None:
        self.texts: dict[tuple[str, str], str] = {
            (lang, kind): text for lang, kinds in DEFAULTS.items() for kind, text in kinds.items()}
        if directory:
            for lang, kind in list(self.texts):
                file = os.path.join(directory, lang, f"{kind}.txt")
                if os.path.exists(file):
                    with open(file, encoding="utf-8") as f:
                        self.texts[(lang, kind)] = f.read()

    def render(self, language: str, kind: str, values: Mapping[str, str]) -> Message:
        """Fill a template. Values must already be clean (see notify_text.clean)."""
        text = self.texts.get((language, kind)) or self.texts[("en", kind)]
        filled = string.Template(text).safe_substitute(values)
        title, _, body = filled.partition("\n")
        lines = body.splitlines()
        out: list[str] = []
        for line in lines:  # an empty optional value leaves an empty line: drop it
            if line.strip() or (out and out[-1].strip()):
                out.append(line.rstrip())
        while out and not out[-1].strip():
            out.pop()
        return Message(title.strip(), "\n".join(out))

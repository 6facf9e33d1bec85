"""The texts of the reports, in English and Simplified Chinese.

A message is a format string; an English one that depends on a number is a
(singular, plural) pair chosen by the `n` argument. Chinese has no plural.
Values given to a message are plain text: the HTML renderer escapes the
finished sentence, so a message never contains markup.
"""

from __future__ import annotations

from datetime import date

LANGS = ("en", "zh-CN")

Text = str | tuple[str, str]

_EN: dict[str, Text] = {
    "title": "Access report: {client}",
    "subtitle": "{month} · times in {tz} · generated {generated}",
    "summary": "Summary",
    "sum_people": ("In {month}, {people} person accessed {client}'s files {events} times.",
                   "In {month}, {people} people accessed {client}'s files {events} times."),
    "sum_nobody": "Nobody accessed {client}'s files in {month}.",
    "sum_breach": ("{n} person not assigned to {client} accessed its files ({names}): "
                   "a breach of the wall between clients.",
                   "{n} people not assigned to {client} accessed its files ({names}): "
                   "a breach of the wall between clients."),
    "sum_no_breach": "Only staff assigned to {client} accessed its files.",
    "sum_unknown": ("{n} access was by accounts not on the staff list ({names}).",
                    "{n} accesses were by accounts not on the staff list ({names})."),
    "sum_off_hours": ("{n} access happened outside working hours ({names}).",
                      "{n} accesses happened outside working hours ({names})."),
    "sum_no_off_hours": "Nothing happened outside working hours.",
    "sum_alerts": ("{n} alert was raised; {open} is still open.",
                   "{n} alerts were raised; {open} are still open."),
    "sum_no_alerts": "No alerts were raised.",
    "sum_perms": ("Permissions on {client}'s folders changed {n} time.",
                  "Permissions on {client}'s folders changed {n} times."),
    "sum_no_perms": "Permissions on {client}'s folders did not change.",
    "who": "Who accessed the files",
    "what": "What they did",
    "off_hours": "Activity outside working hours",
    "off_hours_note": "Working hours come from the firm's business calendar "
                      "(weekends, public holidays and make-up working days included).",
    "alerts": "Wall breaches and other alerts",
    "perms": "Permission changes on the client's folders",
    "charts": "Charts",
    "chart_daily": "Daily activity by action",
    "chart_heat": "Activity by hour and weekday",
    "chart_heat_note": "Outlined cells are working hours on a normal week.",
    "chart_staff": "Staff by volume",
    "none": "None.",
    "col_user": "User", "col_status": "Assignment", "col_events": "Accesses",
    "col_first": "First", "col_last": "Last", "col_off": "Off hours", "col_failed": "Failed",
    "col_day": "Day", "col_time": "Time", "col_rule": "Alert", "col_severity": "Severity",
    "col_count": "Events", "col_path": "Path", "col_outcome": "How it ended",
    "col_action": "Change", "col_change": "Before → after",
    "assigned": "assigned", "not_assigned": "NOT ASSIGNED", "not_staff": "not on staff list",
    "unknown_user": "(unknown account)",
    "status_open": "open",
    "legend_assigned": "assigned", "legend_not_assigned": "not assigned",
    "legend_not_staff": "not on staff list",
    "g_read": "read", "g_open": "open / list", "g_write": "write / create",
    "g_delete": "delete", "g_rename": "rename", "g_permission": "permission change",
    "g_other": "other",
    "sev_low": "low", "sev_medium": "medium", "sev_high": "high", "sev_critical": "critical",
    "a_changed-file-permissions-of": "permissions", "a_changed-file-ownership-of": "owner",
    "a_changed-file-acl-of": "ACL",
    "footer": "Produced by Wallwatch from its tamper-evident event log on {host}.",
}

_ZH: dict[str, Text] = {
    "title": "访问报告：{client}",
    "subtitle": "{month} · 时间为 {tz} · 生成于 {generated}",
    "summary": "摘要",
    "sum_people": "{month}，共有 {people} 人访问了客户 {client} 的文件，合计 {events} 次。",
    "sum_nobody": "{month}，没有人访问客户 {client} 的文件。",
    "sum_breach": "有 {n} 名未分配到客户 {client} 的人员访问了其文件（{names}），"
                  "违反了客户之间的隔离。",
    "sum_no_breach": "只有分配到客户 {client} 的员工访问了其文件。",
    "sum_unknown": "有 {n} 次访问来自不在员工名单中的账户（{names}）。",
    "sum_off_hours": "有 {n} 次访问发生在工作时间以外（{names}）。",
    "sum_no_off_hours": "工作时间以外没有任何访问。",
    "sum_alerts": "共产生 {n} 条告警，其中 {open} 条仍未处理。",
    "sum_no_alerts": "没有产生任何告警。",
    "sum_perms": "客户 {client} 的文件夹权限共变更 {n} 次。",
    "sum_no_perms": "客户 {client} 的文件夹权限没有变更。",
    "who": "谁访问了文件",
    "what": "做了什么",
    "off_hours": "工作时间以外的活动",
    "off_hours_note": "工作时间依据事务所的工作日历（含周末、法定节假日和调休上班日）。",
    "alerts": "隔离违规及其他告警",
    "perms": "客户文件夹的权限变更",
    "charts": "图表",
    "chart_daily": "每日活动（按操作）",
    "chart_heat": "按星期和小时的活动",
    "chart_heat_note": "带边框的格子为正常一周的工作时间。",
    "chart_staff": "员工访问量",
    "none": "无。",
    "col_user": "用户", "col_status": "分配", "col_events": "访问次数",
    "col_first": "首次", "col_last": "最后", "col_off": "非工作时间", "col_failed": "失败",
    "col_day": "日期", "col_time": "时间", "col_rule": "告警", "col_severity": "级别",
    "col_count": "事件数", "col_path": "路径", "col_outcome": "处理结果",
    "col_action": "变更", "col_change": "变更前 → 变更后",
    "assigned": "已分配", "not_assigned": "未分配", "not_staff": "不在员工名单",
    "unknown_user": "（未知账户）",
    "status_open": "未处理",
    "legend_assigned": "已分配", "legend_not_assigned": "未分配",
    "legend_not_staff": "不在员工名单",
    "g_read": "读取", "g_open": "打开 / 浏览", "g_write": "写入 / 新建",
    "g_delete": "删除", "g_rename": "重命名", "g_permission": "权限变更",
    "g_other": "其他",
    "sev_low": "低", "sev_medium": "中", "sev_high": "高", "sev_critical": "严重",
    "a_changed-file-permissions-of": "权限", "a_changed-file-ownership-of": "所有者",
    "a_changed-file-acl-of": "ACL",
    "footer": "由 Wallwatch 根据 {host} 上防篡改的事件日志生成。",
    # titles of the shipped rules (rules/*.yaml carry English titles only)
    "rule_wall.cross-client-access": "员工打开了未分配给其的客户文件夹",
    "rule_wall.off-hours-bulk-read": "工作时间以外大量读取同一客户的文件",
    "rule_wall.many-clients": "同一用户短时间内访问了多个客户",
    "rule_wall.mass-delete": "短时间内删除大量文件",
    "rule_wall.mass-rename": "短时间内重命名大量文件（勒索软件特征）",
    "rule_wall.bait-file": "诱饵文件被访问",
    "rule_wall.permission-widened": "客户文件夹的权限被放宽",
    "rule_wall.ownership-change": "客户文件夹中的文件所有者被更改",
    "rule_wall.first-touch": "用户首次访问某客户",
    "rule_client.archived-activity": "已归档客户的文件夹中有活动",
    "rule_staff.departed-activity": "已离职员工的账户有活动",
    "rule_auth.ssh-password-guessing": "来自同一地址的 SSH 密码猜测",
    "rule_auth.guess-then-success": "密码猜测后同一地址登录成功",
    "rule_auth.new-ip-for-user": "用户首次从新地址登录",
    "rule_auth.login-off-hours": "工作时间以外登录",
    "rule_auth.smb-password-guessing": "来自同一地址的 SMB 密码猜测",
}

_CATALOGUE: dict[str, dict[str, Text]] = {"en": _EN, "zh-CN": _ZH}
_WEEKDAYS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
             "zh-CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日")}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def t(lang: str, key: str, n: int | None = None, **values: object) -> str:
    """The message `key` in `lang`, filled in; English for a key a language lacks."""
    text = _CATALOGUE.get(lang, _EN).get(key) or _EN[key]
    if isinstance(text, tuple):
        text = text[0] if n == 1 else text[1]
    return text.format(n=n, **values)


def has(lang: str, key: str) -> bool:
    return key in _CATALOGUE.get(lang, _EN)


def weekday(lang: str, index: int) -> str:
    """Short weekday name, Monday = 0."""
    return _WEEKDAYS.get(lang, _WEEKDAYS["en"])[index]


def month_name(lang: str, first: date) -> str:
    if lang == "zh-CN":
        return f"{first.year}年{first.month}月"
    return f"{_MONTHS_EN[first.month - 1]} {first.year}"


def join_names(lang: str, names: list[str]) -> str:
    return ("、" if lang == "zh-CN" else ", ").join(names)

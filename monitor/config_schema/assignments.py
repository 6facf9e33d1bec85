"""Schema of `assignments:` (assignments/settings.py): providers of who works for
which client, by type."""

from __future__ import annotations

from monitor.config_schema.model import Key, OneOf, Section

DEFAULT_GROUP_FILTER = ("(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
                        "(objectClass=group)(objectClass=posixGroup))")
CSV_COLUMNS = ("user", "client", "from", "until")

_MAPPING = (
    Key("group_pattern", "string", "Group name → client code: one `{client}`, `*` matches "
        "anything (case-insensitive).", example="team-{client}", default="client-{client}"),
    Key("group_regex", "string", "Instead of `group_pattern`: a regular expression with a "
        "`(?P<client>...)` group.", example="^(?P<client>[a-z0-9]+)-team$"),
    Key("staff_groups", "list of strings", "Groups whose members are known staff even "
        "without a client.", example=["staff"], default=[]),
)
_MAPPING_ONE_OF = OneOf((("group_pattern",), ("group_regex",)))

LDAP = Section("ldap", "Groups in LDAP, Active Directory or Samba AD; nested groups are "
               "resolved.", (
    Key("url", "URL", "`ldaps://host[:port]`, or `ldap://` (with `start_tls`).",
        example="ldaps://dc1.firm.local", required=True),
    Key("base", "string", "Search base of users and groups.", example="DC=firm,DC=local",
        required=True),
    Key("bind_dn", "string", "DN to bind as, with `password_file` or `password_env`.",
        example="CN=wallwatch,OU=Service,DC=firm,DC=local", default_doc="anonymous bind"),
    Key("password_file", "path", "File holding the bind password (read at each refresh).",
        example="secrets/ldap.pw"),
    Key("password_env", "string", "Environment variable holding the bind password.",
        example="WALLWATCH_LDAP_PW"),
    Key("group_filter", "string", "LDAP filter of the groups to read.",
        example="(objectClass=group)", default=DEFAULT_GROUP_FILTER),
    *_MAPPING,
    Key("user_attribute", "string", "The attribute holding a user's login name "
        "(`sAMAccountName` on Active Directory).", example="sAMAccountName", default="uid"),
    Key("member_attribute", "string", "The group attribute listing members (`memberUid` "
        "for posixGroup: names, not DNs).", example="member", default="member"),
    Key("group_name_attribute", "string", "The attribute holding a group's name.",
        example="cn", default="cn"),
    Key("ca_file", "path", "CA certificate of the directory's TLS certificate.",
        example="firm-ca.pem", default_doc="the system's CAs"),
    Key("start_tls", "true/false", "Upgrade an `ldap://` connection to TLS.", example=False,
        default=False),
    Key("timeout", "duration", "Connect and receive timeout.", example="5s", default="10s"),
), one_of=(OneOf((("bind_dn", "password_file"), ("bind_dn", "password_env"))),
           _MAPPING_ONE_OF))

GROUPS = Section("groups", "Local groups (`/etc/group` through NSS, or a file in its "
                 "format).", (
    *_MAPPING,
    Key("group_file", "path", "A group file to read instead of the system's groups.",
        example="group", default_doc="the system's groups (NSS)"),
), one_of=(_MAPPING_ONE_OF,))

COLUMNS = Section("assignments.columns", "Header of each column, when the export names "
                  "them differently.", tuple(
    Key(c, "string", f"Header of the `{c}` column.", example=h, default=c)
    for c, h in zip(CSV_COLUMNS, ("登录名", "客户代码", "开始日期", "结束日期"), strict=True)))

CSV = Section("csv", "A practice-management export: one row per assignment, with a "
              "header row `user,client,from,until` (dates may be empty).", (
    Key("path", "path", "The CSV file (read at each refresh).",
        example="/srv/pm/assignments.csv", required=True),
    Key("columns", "mapping", "Column headers.", section=COLUMNS),
    Key("encoding", "string", "Text encoding; Excel writes `utf-8-sig` or `gbk`.",
        example="gbk", default="utf-8-sig"),
    Key("delimiter", "string", "One character separating the fields.", example=";",
        default=","),
))

TYPES = (LDAP, GROUPS, CSV)

ASSIGNMENTS = Section("assignments", "Where assignments already live at the firm: each "
                      "provider is refreshed on a schedule and on SIGHUP, the last good copy "
                      "is kept while a directory is unreachable, and every change is itself "
                      "an event.", (
    Key("type", "string", "The provider type: one of the sections below.", example="ldap",
        required=True, choices=tuple(t.name for t in TYPES)),
    Key("name", "string", "Unique name of the provider (not `staff`).", example="ad",
        default_doc="the type"),
    Key("refresh", "duration", "How often it is read again (at least 1s).", example="30m",
        default="15m"),
), kind="list", variants=TYPES)

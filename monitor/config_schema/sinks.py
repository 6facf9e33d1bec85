"""Schema of the sinks' sections: `elasticsearch:` (sinks/es_config.py) and
`notify:` (sinks/notify_config.py)."""

from __future__ import annotations

from monitor.config_schema.model import Key, OneOf, Section
from monitor.event import SEVERITIES

# --- elasticsearch ------------------------------------------------------------------

ES_AUTH = Section("elasticsearch.auth", "Credentials: an API key, or a user and password; "
                  "each read from a file (chmod 600) or an environment variable, never "
                  "written in the config.", (
    Key("api_key_file", "path", "File holding the API key (the base64 `encoded` form).",
        example="secrets/es-api-key"),
    Key("api_key_env", "string", "Environment variable holding the API key.",
        example="WALLWATCH_ES_API_KEY"),
    Key("username", "string", "User name, with `password_file` or `password_env`.",
        example="wallwatch"),
    Key("password_file", "path", "File holding the password.", example="secrets/es-password"),
    Key("password_env", "string", "Environment variable holding the password.",
        example="WALLWATCH_ES_PASSWORD"),
), one_of=(OneOf((("api_key_file",), ("api_key_env",), ("username", "password_file"),
                   ("username", "password_env"))),))

ES_BATCH = Section("elasticsearch.batch", "How much one bulk request carries.", (
    Key("max_events", "whole number", "Documents per request (1 to 100000).",
        example=2000, default=5000),
    Key("max_bytes", "size", "Request body size, like `5mb` or `512kb` (1kb to 100mb).",
        example="2mb", default="5mb"),
))

ES_BACKOFF = Section("elasticsearch.backoff", "Retries of a failed request or of "
                     "rejected documents (429, 5xx): exponential with full jitter.", (
    Key("initial", "duration", "First wait.", example="1s", default="0.5s"),
    Key("max", "duration", "Longest wait; not shorter than `initial`.", example="2m",
        default="60s"),
))

ELASTICSEARCH = Section(
    "elasticsearch", "Ship events and alerts to an Elasticsearch 9.x cluster (the client's "
    "major version must equal the cluster's). The local store stays the write-ahead log: "
    "a cluster that is down only delays shipping.", (
        Key("url", "URL", "The cluster's address, `http://` or `https://`, without "
            "credentials.", example="https://es1.firm.lan:9200"),
        Key("urls", "list of URLs", "Several nodes of the cluster instead of one `url`.",
            example=["https://es1.firm.lan:9200", "https://es2.firm.lan:9200"]),
        Key("namespace", "string", "Data streams are `logs-wallwatch.events-<namespace>` and "
            "`logs-wallwatch.alerts-<namespace>`: lower-case letters, digits, `_`, `.`.",
            example="firm", default="default"),
        Key("auth", "mapping", "Credentials; none when absent.", section=ES_AUTH),
        Key("ca_file", "path", "The CA certificate that signed the cluster's certificate.",
            example="es-ca.crt", default_doc="the client's CA bundle (certifi)"),
        Key("verify", "true/false", "Verify the cluster's TLS certificate.", example=True,
            default=True),
        Key("batch", "mapping", "Bulk request size.", section=ES_BATCH),
        Key("retention_days", "whole number", "ILM deletes backing indices this many days "
            "after rollover (1 to 36500).", example=365, default=180),
        Key("timeout", "duration", "Timeout of one request.", example="60s", default="30s"),
        Key("backoff", "mapping", "Waits between retries.", section=ES_BACKOFF),
        Key("disk_high_water", "whole number", "Percent of the store's disk above which a "
            "shipping backlog is warned about (1 to 100, `%` allowed).", example=85,
            default=90),
        Key("compress", "true/false", "Gzip request bodies.", example=False, default=False),
    ), one_of=(OneOf((("url",), ("urls",)), required=True),))

# --- notify ---------------------------------------------------------------------------

LANGUAGES = ("zh-CN", "en")
MODES = ("immediate", "hourly", "daily", "digest")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MATCH = Section("notify.routes.match", "Which alerts the route takes: every criterion "
                "given must hold; each list is any-of; no `match` takes every alert.", (
    Key("severity", "string", "The lowest severity taken.", example="high", default="low",
        choices=SEVERITIES),
    Key("rules", "list of strings", "Glob patterns on `rule.id`.", example=["wall.*"],
        default=[]),
    Key("tags", "list of strings", "Rule tags, e.g. MITRE technique ids (case-insensitive).",
        example=["T1039"], default=[]),
    Key("clients", "list of strings", "Glob patterns on the client code "
        "(case-insensitive).", example=["acme"], default=[]),
    Key("hosts", "list of strings", "Glob patterns on the host name (case-insensitive).",
        example=["fs0*"], default=[]),
))

MUTE = Section("notify.routes.mute", "A mute window is `\"HH:MM-HH:MM\"` (every day; "
               "`22:00-07:00` crosses midnight) or a mapping with these keys.", (
    Key("days", "list of strings", "Weekdays the window applies to.", example=["sat", "sun"],
        default=list(WEEKDAYS), choices=WEEKDAYS),
    Key("hours", "string", "The quiet time of those days.", example="00:00-24:00",
        default="00:00-24:00"),
), kind="list")

ROUTES = Section("notify.routes", "Where alerts go. URLs are apprise URLs (`mailto://`, "
                 "`wecombot://`, `dingtalk://`, `workflows://`, `json://`…); give them in "
                 "`urls`, or better, since they hold secrets, in `url_files` or `url_env`.", (
    Key("name", "string", "A word naming the route (`wallwatch notify test NAME`).",
        example="it-mail", required=True),
    Key("urls", "list of strings", "apprise URLs written in the config.",
        example=["mailto://mail.firm.lan:25?from=wallwatch@firm.lan&to=it@firm.lan"],
        default=[]),
    Key("url_files", "list of paths", "Files with one URL a line (`#` comments).",
        example=["secrets/it-wecom.url"], default=[]),
    Key("url_env", "list of strings", "Environment variables each holding one URL.",
        example=["WALLWATCH_WECOM_URL"], default=[]),
    Key("match", "mapping", "Which alerts the route takes.", section=MATCH),
    Key("language", "string", "Language of the messages.", example="en", choices=LANGUAGES,
        default_doc="`notify.language`"),
    Key("mode", "string", "`immediate`: one message per incident and its updates; "
        "`hourly`, `daily`, `digest`: one summary per period.", example="digest",
        default="immediate", choices=MODES),
    Key("every", "duration", "The period of `mode: digest` (only with it).",
        example="15m", only_with=("mode", "digest")),
    Key("mute", "list", "Recurring local times the route stays quiet; deliveries wait.",
        example=["22:00-07:00", {"days": ["sat", "sun"], "hours": "00:00-24:00"}],
        default=[], section=MUTE),
), kind="list", any_of=("urls", "url_files", "url_env"))

INCIDENT = Section("notify.incident", "Alerts of one rule and group close together form "
                   "one incident: the first notifies at once, later ones update it.", (
    Key("gap", "duration", "Alerts closer than this belong to one incident.",
        example="1h", default="30m"),
    Key("update_every", "duration", "An incident's updates are sent at most this often.",
        example="2h", default="1h"),
))

RETRY = Section("notify.retry", "Failed deliveries are retried from the outbox, across "
                "restarts: the wait doubles from `backoff` up to `max_backoff`.", (
    Key("attempts", "whole number", "Tries before a delivery is given up (at least 1).",
        example=20, default=30),
    Key("backoff", "duration", "First wait.", example="10s", default="5s"),
    Key("max_backoff", "duration", "Longest wait.", example="10m", default="5m"),
))

NOTIFY = Section("notify", "Alerts to people, through apprise; every delivery is a row "
                 "in an outbox in the store, sent once across restarts.", (
    Key("language", "string", "Default language of the routes' messages.", example="zh-CN",
        default="zh-CN", choices=LANGUAGES),
    Key("templates", "path", "A folder of `<language>/<kind>.txt` files (kinds `alert`, "
        "`update`, `digest`, `test`) replacing the shipped templates.",
        example="templates", default_doc="the shipped templates"),
    Key("kibana_discover", "URL", "Kibana Discover URL: messages link to the alert's events.",
        example="https://kibana.firm.lan:5601/app/discover", default_doc="no link"),
    Key("incident", "mapping", "How alerts group into incidents.", section=INCIDENT),
    Key("retry", "mapping", "Retries of failed deliveries.", section=RETRY),
    Key("routes", "list", "At least one route.", required=True, section=ROUTES),
))

"""An Elasticsearch client built from EsConfig, and safe descriptions of its errors.

The client's own retries are off (max_retries=0): the shipper retries with its
own backoff and never gives up, and `es setup` should fail fast. Responses are
parsed with orjson (bulk responses for thousands of items are the hot path).
"""

from __future__ import annotations

import base64
import logging

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.serializer import OrjsonSerializer

from monitor.sinks.es_config import Auth, EsConfig

log = logging.getLogger(__name__)

CLIENT_MAJOR = 9  # the client speaks compatible-with=9: the cluster must be 9.x


def make_client(cfg: EsConfig) -> Elasticsearch:
    # the transport logs every request at INFO and every failed attempt at WARNING;
    # the shipper reports outages itself, once, with what waits
    for name, level in (("elastic_transport.transport", logging.WARNING),
                        ("elastic_transport.node_pool", logging.ERROR)):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
    auth = cfg.auth
    fast = OrjsonSerializer()
    kwargs: dict[str, object] = {
        "request_timeout": cfg.timeout,
        "max_retries": 0,
        "retry_on_timeout": False,
        "http_compress": cfg.compress,
        "verify_certs": cfg.verify,
        "serializers": {"application/json": fast, "application/vnd.elasticsearch+json": fast},
    }
    if cfg.ca_file:
        kwargs["ca_certs"] = cfg.ca_file
    if not cfg.verify:
        kwargs["ssl_show_warn"] = False  # said once below, not on every request
        log.warning("elasticsearch: certificate verification is OFF (verify: false)")
    if auth.api_key is not None:
        kwargs["api_key"] = auth.api_key.reveal()
    elif auth.username is not None and auth.password is not None:
        kwargs["basic_auth"] = (auth.username, auth.password.reveal())
    return Elasticsearch(list(cfg.urls), **kwargs)  # type: ignore[arg-type]


def auth_headers(auth: Auth) -> dict[str, str]:
    """HTTP headers carrying the credential (for Kibana, which takes the same ones)."""
    if auth.api_key is not None:
        return {"Authorization": f"ApiKey {auth.api_key.reveal()}"}
    if auth.username is not None and auth.password is not None:
        raw = f"{auth.username}:{auth.password.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {}


def mask(text: str, auth: Auth) -> str:
    """`text` with every secret of `auth` (and its Basic-auth encoding) replaced by ***."""
    for secret in auth.secrets():
        text = text.replace(secret, "***")
    for header in auth_headers(auth).values():
        token = header.split(" ", 1)[1]
        text = text.replace(token, "***")
    return text


def describe(exc: BaseException, auth: Auth) -> str:
    """One line about a failed request, safe to log and show: status and error type
    from the cluster, or the kind of connection failure; secrets masked."""
    if isinstance(exc, ApiError):
        text = f"HTTP {exc.meta.status} {exc.message}"
        body = exc.body
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict) and error.get("reason"):
                text += f": {error['reason']}"
    elif isinstance(exc, TransportError):
        text = f"{type(exc).__name__}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return mask(text[:500], auth)


def status_of(exc: BaseException) -> int | None:
    return exc.meta.status if isinstance(exc, ApiError) else None

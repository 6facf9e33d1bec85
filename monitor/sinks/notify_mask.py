"""Keeping the secrets inside apprise URLs out of logs, errors and reports.

An apprise URL is mostly secret: a WeCom or DingTalk URL *is* its key, a Slack
URL carries three tokens in its path, a mailto URL a password. apprise's own
`url(privacy=True)` does not mask everything (query parameters of `json://`
survive), so we never print a URL, only `display_url()`, and every text that
came back from a delivery attempt goes through a `Masker` built from the
route's URLs before it is logged or stored.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
MIN_SECRET = 4  # shorter fragments (ports, "to", "1") would mask half of every message


def _is_public_host(host: str) -> bool:
    """A host name that is an address, not a token: it has a dot or is an IP."""
    if host in ("localhost", ""):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return "." in host


def display_url(url: str) -> str:
    """What may be shown of a URL: its scheme and, when it is a real host, host and port."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "<unparseable URL>"
    scheme = parts.scheme or "?"
    if not _is_public_host(host):
        return f"{scheme}://{MASK}"
    userinfo = f"{MASK}@" if "@" in parts.netloc else ""
    where = host + (f":{port}" if port else "")
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{scheme}://{userinfo}{where}{tail}"


def secret_fragments(url: str) -> set[str]:
    """Every piece of a URL that may be a credential, in raw and decoded form."""
    out = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    # the raw netloc, not .hostname (lowercased) or .port (a token there fails to parse):
    # tgram://BOTID:TOKEN/…, dingtalk://SECRET@TOKEN/ keep credentials in these places
    userinfo, _, hostport = parts.netloc.rpartition("@")
    pieces = [*userinfo.split(":"), parts.fragment]
    host = hostport.split(":")[0] if not hostport.startswith("[") else hostport
    if not _is_public_host(host.lower()):
        pieces.extend(hostport.split(":"))
    elif ":" in hostport and not hostport.rsplit(":", 1)[1].isdigit():
        pieces.append(hostport.rsplit(":", 1)[1])
    pieces.extend(parts.path.split("/"))
    pieces.extend(value for _key, value in parse_qsl(parts.query, keep_blank_values=True))
    for piece in pieces:
        for form in (piece, unquote(piece)):
            if len(form) >= MIN_SECRET:
                out.add(form)
    return out


class Masker:
    """Replaces every known secret fragment in a text with ***."""

    def __init__(self, urls: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._fragments: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(urls)

    def add(self, urls: Iterable[str]) -> None:
        fragments: set[str] = set()
        for url in urls:
            fragments |= secret_fragments(url)
        self.add_fragments(fragments)

    @property
    def fragments(self) -> frozenset[str]:
        return frozenset(self._fragments)

    def add_fragments(self, fragments: Iterable[str]) -> None:
        with self._lock:
            self._fragments.update(fragments)
            # longest first, so a whole URL is masked before its pieces
            ordered = sorted(self._fragments, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text


class MaskingFilter(logging.Filter):
    """A logging filter that masks secrets in a record's final message (apprise
    logs through its own logger; its debug output names hosts and paths)."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record as it is
            return True
        masked = self.masker(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_INSTALLED: dict[str, MaskingFilter] = {}
_INSTALL_LOCK = threading.Lock()


def install_log_masking(masker: Masker, logger_names: Iterable[str] = ("apprise",)) -> None:
    """Mask the given secrets in everything the named loggers emit (idempotent:
    later calls add their URLs to the filter already installed)."""
    with _INSTALL_LOCK:
        for name in logger_names:
            current = _INSTALLED.get(name)
            if current is None:
                current = MaskingFilter(Masker())
                logging.getLogger(name).addFilter(current)
                _INSTALLED[name] = current
            current.masker.add_fragments(masker.fragments)

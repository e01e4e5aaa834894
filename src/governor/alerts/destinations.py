"""Alert destinations (GOVERNOR_ALERT_URLS): their redacted names; secrets kept out of text."""

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from governor.config import Settings

# Schemes whose host part is a server's name; for every other scheme it may be a token.
HOST_SCHEMES = frozenset(
    {"json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos", "ntfy", "ntfys",
     "gotify", "gotifys", "apprise", "apprises"}
)  # fmt: skip
MIN_FRAGMENT = 3  # shorter parts of a URL ("no", "25") are not scrubbed from text
SERVER_KEYS = frozenset({"smtp"})  # query keys that name a server, not a secret
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_SEPARATOR = re.compile(r"[\s,]+(?=[A-Za-z][A-Za-z0-9+.-]*://)")  # a comma inside a URL stays


@dataclass(frozen=True)
class Destination:
    """One Apprise URL, known by its redacted name; the URL itself is never printed."""

    name: str
    url: str = field(repr=False)

    def __post_init__(self) -> None:
        _FILTER.secrets.update(secret_fragments(self.url))

    def scrub(self, text: str) -> str:
        """The text with every secret part of this destination's URL replaced by '…'."""
        for fragment in secret_fragments(self.url):
            text = text.replace(fragment, "…")
        return text


def destinations(settings: Settings) -> list[Destination]:
    """The configured destinations, in order; a repeated name gets its position appended."""
    raw = settings.alert_urls.get_secret_value().strip().strip(",")
    urls = [url.strip(" \t\r\n,") for url in _SEPARATOR.split(raw)] if raw else []
    names = [redact(url) for url in urls]
    found = []
    for position, (name, url) in enumerate(zip(names, urls, strict=True), start=1):
        unique = name if names.count(name) == 1 else f"{name} #{position}"
        found.append(Destination(unique, url))
    return found


def redact(url: str) -> str:
    """A name that is safe to show: scheme and server (`json://127.0.0.1:8123/…`), no secrets."""
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else "?"
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number, an unclosed '[': no server's address
        return f"{scheme}://…"
    if scheme not in HOST_SCHEMES or not parts.hostname:
        return f"{scheme}://…"
    hidden = parts.username or parts.password or parts.path.strip("/") or parts.query
    return f"{scheme}://{parts.hostname}{port}{'/…' if hidden else ''}"


def secret_fragments(url: str) -> list[str]:
    """Every part of a URL that may be a secret, longest first (raw and %-decoded)."""
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    userinfo, _, location = rest.rpartition("@")
    host, _, path = location.partition("/")
    parts = [url, userinfo, *userinfo.split(":"), path, *path.split("/")]
    parts += [value for key, value in parse_qsl(query) if key.lower() not in SERVER_KEYS]
    if scheme.lower() not in HOST_SCHEMES:
        parts += [host, *host.split(":")]
    found = {p for part in parts for p in (part, unquote(part)) if len(p) >= MIN_FRAGMENT}
    return sorted(found, key=len, reverse=True)


class _ScrubSecrets(logging.Filter):
    """Rewrites a log record's message without the secrets of any destination made so far."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # malformed arguments: logging reports them itself
            return True
        for secret in sorted(self.secrets, key=len, reverse=True):
            message = message.replace(secret, "…")
        record.msg, record.args = message, None
        return True


_FILTER = _ScrubSecrets()
# Apprise logs URLs (paths with tokens) at DEBUG, and so does urllib3 under it.
for _name in ("apprise", "urllib3.connectionpool"):
    logging.getLogger(_name).addFilter(_FILTER)

"""What a config message may show: every value that came from ${VAR} or *_FILE is replaced by ***, and of what the
user wrote only what cannot be a secret (a scalar under no sensitive key, a URL as its scheme and host)."""

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

_SENSITIVE = re.compile(r"pass|secret|token|key|auth|cred", re.I)
_URL_KEY = re.compile(r"url", re.I)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


def names_a_url(key: str) -> bool:
    """Whether a key path holds a URL (`sources[0].url`, `channels.ops.urls[1]`)."""
    return bool(_URL_KEY.search(key))


def without_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def shown_input(key: str, value: Any) -> str:
    """What the user wrote, when it helps and cannot be a secret: scalars only, never under a sensitive key, and
    a URL only as its scheme and host."""
    if isinstance(value, dict | list | tuple) or _SENSITIVE.search(key):
        return ""
    if names_a_url(key) and not (isinstance(value, str) and _URL.fullmatch(value)):
        return ""  # a URL-like value without a scheme: its host cannot be told from a token
    return f" (got {_URL.sub(_url_outline, repr(value))})"


def _url_outline(match: re.Match[str]) -> str:
    """`https://user:pw@host/path?token=x` -> `https://host/***`: where it points, not what it carries."""
    scheme, _, rest = match.group(0).partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/***" if len(rest) > len(host) else f"{scheme}://{host}"


def masked(text: str, secrets: list[str]) -> str:
    """The message with every expanded value, raw or URL-encoded, replaced by ***."""
    forms = {form for secret in secrets for form in (secret, quote(secret, safe=""), quote(secret))}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text

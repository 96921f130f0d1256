"""Who may read and write. Reads are open (`web.read: open`) or need a read or write token (`web.read: token`);
writes always need a write token. A token comes as `Authorization: Bearer TOKEN`, or from the `tracker_token`
cookie the pages' sign-in form sets. Every configured token is compared in constant time (hmac.compare_digest), all
of them every time, so the time taken tells nothing of which one came close.

Forms carry a CSRF token: the double-submit pattern, a random value in a SameSite=Strict cookie that the form
echoes in a hidden field. A write from another site can neither read the cookie nor set the field.

401: no token where one is needed. 403: a token that is not one of the configured ones, or a read token offered
for a write, or writes not enabled (no `write_tokens`)."""

import hmac
import secrets
from collections.abc import Iterable
from enum import StrEnum

from fastapi import HTTPException, Request, Response

from tracker.config import Config

TOKEN_COOKIE = "tracker_token"
CSRF_COOKIE = "tracker_csrf"
CSRF_FIELD = "csrf"


class Need(StrEnum):
    READ = "read"
    WRITE = "write"


def presented(request: Request) -> str | None:
    """The token the request carries, if any: the Authorization header first, then the sign-in cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


def _usable(tokens: Iterable[str]) -> list[str]:
    # An unset ${VAR} is kept as written by the config (tracker serve refuses to start then); never a token.
    return [t for t in tokens if t and not t.startswith("${")]


def matches(token: str, tokens: Iterable[str]) -> bool:
    """Whether `token` is one of `tokens`: each compared in constant time, all of them every time."""
    found = False
    for candidate in _usable(tokens):
        found |= hmac.compare_digest(token.encode(), candidate.encode())
    return found


def check(config: Config, request: Request, need: Need) -> None:
    """Raise 401 or 403 unless the request may do what it asks."""
    web = config.web
    read_tokens = (*web.read_tokens, *web.write_tokens) if web else ()
    write_tokens = web.write_tokens if web else ()
    if need == Need.READ and (web is None or web.read == "open"):
        return
    if need == Need.WRITE and not _usable(write_tokens):
        raise HTTPException(403, "writes are not enabled: set web.write_tokens in the config")
    token = presented(request)
    if token is None:
        raise HTTPException(401, f"a {need.value} token is needed", headers={"WWW-Authenticate": "Bearer"})
    if not matches(token, write_tokens if need == Need.WRITE else read_tokens):
        raise HTTPException(403, f"this token may not {need.value}")


def writes_enabled(config: Config) -> bool:
    """Whether any write token is configured: without one no write can succeed, so the pages show no write form."""
    return bool(config.web and _usable(config.web.write_tokens))


def sign_in_offered(config: Config) -> bool:
    """Whether signing in can change anything: writes are enabled, or reads need a token."""
    web = config.web
    return writes_enabled(config) or bool(web and web.read != "open" and _usable((*web.read_tokens, *web.write_tokens)))


def may_write(config: Config, request: Request) -> bool:
    """Whether the request carries a write token (the pages show their forms then)."""
    token = presented(request)
    return bool(config.web and token and matches(token, config.web.write_tokens))


# --- CSRF --------------------------------------------------------------------------------------------------------
def csrf_token(request: Request, response: Response) -> str:
    """The form's CSRF value: the cookie's, or a new one set on `response`."""
    value = request.cookies.get(CSRF_COOKIE)
    if not value:
        value = secrets.token_urlsafe(32)
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return value


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless the form's field echoes the cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page and try again")

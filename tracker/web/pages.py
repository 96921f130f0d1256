"""The HTML pages: server-rendered Jinja2 templates (templates/), one stylesheet and one small script (static/), no
build step. Every page works with JavaScript off; the script only reloads the overview now and then.

Routes stay thin: each reads through reads.py (the dicts of tracker/listings.py) and renders one template. Every
filter is a GET parameter, so each view is a link. Writes are forms that POST with a CSRF field and a write token
(the form's password field, or the sign-in cookie); they call writes.py and redirect (303) to the listing, or show
the form again with the problems.

Rendering and escaping live in tracker/web/render.py: no template can forget to escape a value."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from tracker.domain.alerts import SnoozeKind
from tracker.domain.exposure_filter import ExposureFilter
from tracker.filters import (
    ASSET_KIND,
    BUILD_STATUS,
    BUILDS,
    DELIVERIES,
    DELIVERY_STATUS,
    EVENT_KIND,
    EVENTS,
    EXPOSURE,
    EXPOSURE_STATUS,
    PRODUCT,
    SEVERITY,
)
from tracker.web import reads, writes
from tracker.web.auth import TOKEN_COOKIE, Need, check, check_csrf, matches
from tracker.web.context import Ctx, WebContext
from tracker.web.exposure import SORTS
from tracker.web.render import page
from tracker.web.writes import WriteRefused

HERE = Path(__file__).parent
PAGE_ROWS = 100  # rows per page of the exposure and events listings
SNOOZE_KINDS = tuple(SnoozeKind)

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Form()]


@dataclass(frozen=True)
class Filled:
    """A form shown again: what was wrong (`{"field", "message"}` each), the values given, the status to answer."""

    problems: list[dict[str, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200


FRESH = Filled()


# --- who may read and write --------------------------------------------------------------------------------------
def _reader(ctx: WebContext, request: Request) -> None:
    check(ctx.config, request, Need.READ)


def _as_bearer(request: Request, token: str) -> Request:
    """The request as if it carried `token` in its Authorization header (a form's password field)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
    return Request({**request.scope, "headers": [*headers, (b"authorization", f"Bearer {token}".encode())]})


def _writer(ctx: WebContext, request: Request, csrf: str, token: str) -> None:
    """403 unless the form echoes the CSRF cookie and carries a write token (its field, or the sign-in cookie)."""
    check_csrf(request, csrf)
    check(ctx.config, _as_bearer(request, token.strip()) if token.strip() else request, Need.WRITE)


def _done(where: str) -> RedirectResponse:
    return RedirectResponse(where, 303)


# --- sign-in -----------------------------------------------------------------------------------------------------
@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "signin.html", next=_safe_next(next), problems=[])


@router.post("/signin")
def signin(request: Request, ctx: Ctx, token: Token = "", csrf: Token = "", next: Token = "/") -> Response:
    check_csrf(request, csrf)
    web = ctx.config.web
    known = (*web.read_tokens, *web.write_tokens) if web else ()
    if not token.strip() or not matches(token.strip(), known):
        problems = [{"field": "token", "message": "not a token this tracker knows"}]
        return page(request, "signin.html", 403, next=_safe_next(next), problems=problems)
    response = _done(_safe_next(next))
    secure = request.url.scheme == "https"
    response.set_cookie(TOKEN_COOKIE, token.strip(), httponly=True, samesite="strict", secure=secure)
    return response


@router.post("/signout")
def signout(request: Request, csrf: Token = "") -> Response:
    check_csrf(request, csrf)
    response = _done("/signin")
    response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="strict")
    return response


def _safe_next(target: str) -> str:
    """Only a path of this site (never `//evil` or `https://evil`)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


# --- the read pages ----------------------------------------------------------------------------------------------
@router.get("/")
def overview(request: Request, ctx: Ctx) -> HTMLResponse:
    _reader(ctx, request)
    return page(request, "overview.html", o=reads.overview(ctx), refresh=True)


@router.get("/builds")
def builds(request: Request, ctx: Ctx, product: str = "", line: str = "", status: str = "") -> HTMLResponse:
    _reader(ctx, request)
    reads.checked(ctx, BUILDS, product=product, line=line, status=status)
    every = reads.builds(ctx, product or None, line or None, None)
    reissues = {(row["product"], row["replaced_by"]) for row in every if row["replaced_by"]}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in every:
        if not status or row["status"] == status:
            shown = {**row, "reissue": (row["product"], row["build"]) in reissues}
            groups.setdefault((row["product"], row["line"] or ""), []).append(shown)
    wanted = {"product": product, "line": line, "status": status}
    total = sum(len(rows) for rows in groups.values())
    named = reads.source_namer(ctx)
    return page(request, "builds.html", groups=groups, total=total, wanted=wanted, source_name=named, **_vocabulary())


@router.get("/builds/{product}/{number}")
def build(request: Request, ctx: Ctx, product: str, number: int) -> HTMLResponse:
    _reader(ctx, request)
    found = reads.build(ctx, product, number)
    if found is None:
        raise HTTPException(404, f"no {product} build {number} in the catalog")
    return page(request, "build.html", b=found, source_name=reads.source_namer(ctx))


@router.get("/events")
def events(
    request: Request,
    ctx: Ctx,
    kind: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies the default
    product: str = "",
    line: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
    limit: int = PAGE_ROWS,
) -> HTMLResponse:
    _reader(ctx, request)
    given = reads.checked(ctx, EVENTS, kind=kind, product=product, line=line, since=since, until=until)
    wanted = reads.EventFilter(
        kinds=given["kind"], product=given["product"], line=given["line"], since=given["since"], until=given["until"]
    )
    shown = reads.events(ctx, wanted, cursor or None, reads.limit_of(limit))
    filters = {"kind": [k for k in kind if k], "product": product, "line": line, "since": since, "until": until}
    return page(
        request,
        "events.html",
        p=shown,
        wanted=filters,
        paged=bool(cursor),
        source_name=reads.source_namer(ctx),
        **_vocabulary(),
    )


@router.get("/exposure")
def exposure(
    request: Request,
    ctx: Ctx,
    status: str = "",
    severity: str = "",
    cluster: str = "",
    vcenter: str = "",
    tag: str = "",
    kind: str = "",
    q: str = "",
    min_severity: str = "",
    sort: str = "severity",
    cursor: str = "",
    limit: int = PAGE_ROWS,
) -> HTMLResponse:
    _reader(ctx, request)
    reads.checked(ctx, EXPOSURE, status=status, severity=severity, min_severity=min_severity, kind=kind)
    wanted = ExposureFilter(status, severity, cluster, vcenter, tag, kind, q, min_severity)
    if sort not in SORTS:
        raise ValueError(f"sort: expected one of {', '.join(SORTS)}")
    shown = reads.exposure(ctx, wanted, sort, cursor or None, reads.limit_of(limit))
    return page(
        request,
        "exposure.html",
        p=shown,
        wanted=wanted,
        sort=sort,
        sorts=SORTS,
        paged=bool(cursor),
        assessment=reads.assessment(ctx),
        **_vocabulary(),
    )


@router.get("/assets/{name:path}")
def asset(request: Request, ctx: Ctx, name: str) -> HTMLResponse:
    _reader(ctx, request)
    found = reads.asset(ctx, name)
    if found is None:
        raise HTTPException(404, f"no asset named {name!r} in the inventory")
    form = {"kind": SnoozeKind.ASSET, "target": found["name"]}
    return page(request, "asset.html", a=found, problems=[], form=form, snooze_kinds=SNOOZE_KINDS)


@router.get("/sources")
def sources(request: Request, ctx: Ctx, all: bool = False) -> HTMLResponse:
    _reader(ctx, request)
    named = reads.source_namer(ctx)  # a followed page by its release ("ESXi 7.0 U3 release notes"), not its id
    return page(request, "sources.html", sources=reads.sources(ctx, all), show_all=all, source_name=named)


@router.get("/deliveries")
def deliveries(request: Request, ctx: Ctx, status: str = "") -> HTMLResponse:
    _reader(ctx, request)
    return _deliveries_page(request, ctx, status, FRESH)


def _deliveries_page(request: Request, ctx: WebContext, status: str, filled: Filled) -> HTMLResponse:
    statuses = list(DELIVERY_STATUS.values)
    reads.checked(ctx, DELIVERIES, status=status)
    rows = reads.deliveries(ctx, status or None)
    shown = {"rows": rows, "status": status, "statuses": statuses, "problems": filled.problems}
    return page(request, "deliveries.html", filled.status, **shown)


@router.get("/watchlists")
def watchlists(request: Request, ctx: Ctx) -> HTMLResponse:
    _reader(ctx, request)
    return _watchlists_page(request, ctx, FRESH)


def _watchlists_page(request: Request, ctx: WebContext, filled: Filled) -> HTMLResponse:
    shown = {"rows": reads.watchlists(ctx), "channels": sorted(ctx.config.channels), **_vocabulary()}
    return page(request, "watchlists.html", filled.status, problems=filled.problems, form=filled.values, **shown)


@router.get("/snoozes")
def snoozes(request: Request, ctx: Ctx) -> HTMLResponse:
    _reader(ctx, request)
    return _snoozes_page(request, ctx, FRESH)


def _snoozes_page(request: Request, ctx: WebContext, filled: Filled) -> HTMLResponse:
    shown = {
        "rows": reads.snoozes(ctx),
        "form": filled.values or {"kind": SnoozeKind.ASSET},
        "snooze_kinds": SNOOZE_KINDS,
    }
    return page(request, "snoozes.html", filled.status, problems=filled.problems, **shown)


def _vocabulary() -> dict[str, Any]:
    """The choices of the filters' menus, from each filter's one definition (tracker/filters.py), so a menu offers
    exactly what the filter accepts."""
    return {
        "products": list(PRODUCT.values),
        "build_statuses": list(BUILD_STATUS.values),
        "event_kinds": list(EVENT_KIND.values),
        "exposure_statuses": list(EXPOSURE_STATUS.values),
        "severities": list(SEVERITY.values),
        "asset_kinds": list(ASSET_KIND.values),
    }


# --- the forms that write ----------------------------------------------------------------------------------------
class Signed(BaseModel):
    """What every write form carries: the CSRF field, and the write token unless the sign-in cookie holds one."""

    csrf: str = ""
    token: str = ""


class SnoozeForm(Signed):
    kind: str = ""
    target: str = ""
    until: str = ""
    reason: str = ""

    def values(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target, "until": self.until, "reason": self.reason}


class WatchlistForm(Signed):
    name: str = ""
    owner: str = ""
    products: list[str] = []
    events: list[str] = []
    immediate: list[str] = []
    digest: list[str] = []
    lines: str = ""  # the text fields take a comma-separated list
    vcenters: str = ""
    clusters: str = ""
    tags: str = ""
    min_severity: str = "none"

    def spec(self) -> dict[str, Any]:
        """The watchlist as `tracker watch add` gives it."""
        spec: dict[str, Any] = {"name": self.name.strip(), "owner": self.owner.strip()}
        for key in ("products", "events", "immediate", "digest"):
            spec[key] = [v for v in getattr(self, key) if v]
        for key in ("lines", "vcenters", "clusters", "tags"):
            spec[key] = [part.strip() for part in getattr(self, key).split(",") if part.strip()]
        spec["min_severity"] = self.min_severity or "none"
        return spec


def _attempt(write: Callable[[], object], listing: str, again: Callable[[Filled], Response], values: Any) -> Response:
    """Do the write and go to the listing (303), or show the form again with what writes.py refused."""

    try:
        write()
    except WriteRefused as refused:
        return again(Filled(refused.problems, values, refused.status))
    return _done(listing)


@router.post("/snoozes")
def snooze_add(request: Request, ctx: Ctx, form: Annotated[SnoozeForm, Form()]) -> Response:
    _writer(ctx, request, form.csrf, form.token)
    kind, target, until, reason = form.kind, form.target.strip(), form.until, form.reason.strip()
    return _attempt(
        lambda: writes.add_snooze(ctx, kind, target, until, reason),
        "/snoozes",
        partial(_snoozes_page, request, ctx),
        form.values(),
    )


@router.post("/snoozes/{snooze_id}/remove")
def snooze_remove(request: Request, ctx: Ctx, snooze_id: int, form: Annotated[Signed, Form()]) -> Response:
    _writer(ctx, request, form.csrf, form.token)
    again = partial(_snoozes_page, request, ctx)
    return _attempt(lambda: writes.remove_snooze(ctx, snooze_id), "/snoozes", again, {})


@router.post("/watchlists")
def watchlist_add(request: Request, ctx: Ctx, form: Annotated[WatchlistForm, Form()]) -> Response:
    _writer(ctx, request, form.csrf, form.token)
    spec = form.spec()
    again = partial(_watchlists_page, request, ctx)
    return _attempt(lambda: writes.add_watchlist(ctx, spec), "/watchlists", again, spec)


@router.post("/watchlists/{name:path}/remove")
def watchlist_remove(request: Request, ctx: Ctx, name: str, form: Annotated[Signed, Form()]) -> Response:
    _writer(ctx, request, form.csrf, form.token)
    again = partial(_watchlists_page, request, ctx)
    return _attempt(lambda: writes.remove_watchlist(ctx, name), "/watchlists", again, {})


@router.post("/deliveries/{outbox_id}/retry")
def delivery_retry(request: Request, ctx: Ctx, outbox_id: int, form: Annotated[Signed, Form()]) -> Response:
    _writer(ctx, request, form.csrf, form.token)
    again = partial(_deliveries_page, request, ctx, "")
    return _attempt(lambda: writes.retry_delivery(ctx, outbox_id), "/deliveries", again, {})

"""How the pages are rendered: the Jinja2 environment (autoescape over escape.visible in `finalize`, as in
notify/render.py, so no template can forget it; link targets through the `href` filter, http(s) only; counted
nouns through the `count` filter, `{{ n | count("build") }}`: "1 build", "2 builds"; times through the `when`
filter, in the configured zone with its name: `2022-02-16 09:00 CET`), what every page shows (the
nav bar, the time, the CSRF value), the error page, and the static files."""

from collections.abc import Callable, Mapping
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from tracker.domain.clock import human, machine
from tracker.domain.words import count
from tracker.escape import Verbatim, href, visible
from tracker.web.auth import TOKEN_COOKIE, csrf_token, matches, may_write, sign_in_offered, writes_enabled
from tracker.web.context import WebContext

HERE = Path(__file__).parent
NAV = (
    ("/", "Overview"),
    ("/exposure", "Exposure"),
    ("/builds", "Builds"),
    ("/events", "Events"),
    ("/sources", "Sources"),
    ("/deliveries", "Deliveries"),
    ("/watchlists", "Watchlists"),
    ("/snoozes", "Snoozes"),
)


def mount_static(app: FastAPI) -> None:
    """The stylesheet and the refresh script under /static."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


# --- rendering ---------------------------------------------------------------------------------------------------
def _finalize(value: object) -> object:
    """What Jinja2 does with each `{{ value }}` before autoescaping it: nothing shown for None, invisible characters
    written out; checked link targets and markup pass as they are."""
    if value is None:
        return ""
    return value if isinstance(value, Verbatim | Markup) else visible(value)


def quotes(evidence: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """An event's evidence as a page shows it: each excerpt once, first observed first, with every source that
    quoted it (two sources often quote the same vendor sentence)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in evidence:
        grouped.setdefault(" ".join(str(item["excerpt"]).split()), []).append(item)
    return list(grouped.items())


def path_part(value: object) -> str:
    """One segment of a path (an asset's name) with every reserved character encoded."""
    return quote(str(value), safe="")


@cache
def _environment(zone: str) -> Environment:
    """The pages' environment for one configured `timezone`: `{{ t | when }}` is `2022-02-16 09:00 CET` there
    (tracker/domain/clock.py, the formatter of every face)."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    environment.filters.update(href=href, when=partial(human, zone=zone), path=path_part, count=count, quotes=quotes)
    return environment


def _link(request: Request) -> Callable[..., str]:
    """`link(sort="cluster")`: this page's URL with some query parameters changed (an empty value drops one)."""

    def link(**changes: str) -> str:
        params = {k: v for k, v in request.query_params.items() if k not in changes and v}
        params.update({k: v for k, v in changes.items() if v})
        return f"{request.url.path}?{urlencode(params)}" if params else request.url.path

    return link


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    """`name` rendered with what every page shows (the nav bar, the time, the CSRF value), as a response."""
    web: WebContext = request.app.state.ctx
    cookies = Response()
    template = _environment(web.config.timezone).get_template(name)
    shown = template.render(
        request_path=request.url.path,
        nav=NAV,
        now=machine(web.now),
        signed_in=_signed_in(web, request),
        may_write=may_write(web.config, request),
        writes_on=writes_enabled(web.config),  # no write token configured: no write form, no "Sign in" for one
        sign_in=sign_in_offered(web.config),
        csrf=csrf_token(request, cookies),
        link=_link(request),
        **context,
    )
    response = HTMLResponse(shown, code)
    for value in cookies.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    return response


def _signed_in(web: WebContext, request: Request) -> bool:
    cookie, tokens = request.cookies.get(TOKEN_COOKIE), web.config.web
    return bool(cookie and tokens and matches(cookie, (*tokens.read_tokens, *tokens.write_tokens)))


def error_page(request: Request, status: int, message: str, headers: Mapping[str, str] | None) -> Response:
    """A page saying what went wrong; a page read without the token it needs goes to the sign-in page."""
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/signin?{urlencode({'next': next_of(request)})}", 303)
    try:
        response = page(request, "error.html", status, status_code=status, message=message)
        response.headers.update(headers or {})
        return response
    except Exception:  # the error page must answer even when a template cannot
        body = f"<!doctype html><title>Error {status}</title><h1>Error {status}</h1><p>{escape(visible(message))}</p>"
        return HTMLResponse(body, status, headers=headers)


def next_of(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")

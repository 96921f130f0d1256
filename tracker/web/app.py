"""create_app(): the FastAPI application of the web face, its routers, security headers and error shapes.

Errors: under /api/ and /feeds/ and for the probes, JSON `{"detail": ...}` (a 422 lists every problem); on a page, a
small HTML page saying what went wrong. Every response carries a Content-Security-Policy that allows only this
origin's own scripts and styles (no inline script), and is never framed."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from tracker.config import Config
from tracker.filters import FilterRefused
from tracker.web import api, feeds, ops, pages
from tracker.web.context import PollQueue, WebContext
from tracker.web.exposure import BadCursor, ExposureCache
from tracker.web.render import error_page, mount_static

if TYPE_CHECKING:
    from tracker.jobs.poll import PollResult

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_JSON_PREFIXES = ("/api/", "/feeds/", "/healthz", "/readyz", "/metrics")


def create_app(config: Config, engine: Engine, clock: Callable[[], datetime], mode: str = "serve") -> FastAPI:
    """The app over one database; `mode` is "service" inside `tracker run`, "serve" for `tracker serve`."""

    app = FastAPI(
        title="Release Tracker",
        summary="VMware ESXi and vCenter builds, pulls and reissues, matched against your inventory.",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads scripts from a CDN: the CSP and an offline network forbid it
        redoc_url=None,
    )
    exposure = ExposureCache(config, engine, clock)

    def poll() -> "PollResult":
        """`POST /api/v1/poll`: every source, as `tracker poll` polls them, then the outbox, so that its alerts go
        out at once."""
        # lazy: the cycle (httpx, the sources), only once a poll is asked for
        from tracker.cycle import Request
        from tracker.jobs import poll as use_case

        after = use_case.AfterPoll(wait=use_case.POLL_WAIT, outbox=use_case.Outbox.YES, give_memory_back=True)
        result = use_case.poll(config, lambda: engine, Request(clock()), after)
        exposure.changed()
        return result

    app.state.ctx = WebContext(
        config=config,
        engine=engine,
        clock=clock,
        exposure=exposure,
        polls=PollQueue(poll),
        started_at=clock(),
        notes={"mode": mode},
    )
    for router in (api.router, feeds.router, ops.router, pages.router):
        app.include_router(router)
    mount_static(app)
    app.middleware("http")(_security_headers)
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(FilterRefused, _refused_filter)  # type: ignore[arg-type]
    app.add_exception_handler(BadCursor, _bad_value)  # type: ignore[arg-type]
    app.add_exception_handler(ValueError, _bad_value)  # type: ignore[arg-type]
    return app


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PREFIXES) or "application/json" in request.headers.get("accept", "")


async def _http_error(request: Request, error: HTTPException) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": error.detail}, error.status_code, headers=error.headers)

    return error_page(request, error.status_code, str(error.detail), error.headers)


async def _invalid(request: Request, error: RequestValidationError) -> Response:
    problems = [_problem(e) for e in error.errors()]
    if wants_json(request):
        return JSONResponse({"detail": problems}, 422)

    return error_page(request, 422, "; ".join(f"{p['field']}: {p['message']}" for p in problems), None)


def _problem(e: Any) -> dict[str, Any]:
    where = [str(part) for part in e.get("loc", ()) if part not in ("query", "body", "path")]
    return {"field": ".".join(where), "message": e.get("msg", "invalid")}


async def _refused_filter(request: Request, error: FilterRefused) -> Response:
    """A bad filter value (tracker/filters.py): every problem, in the words the CLI uses too."""
    if wants_json(request):
        return JSONResponse({"detail": error.detail()}, 422)

    return error_page(request, 422, "; ".join(str(p) for p in error.problems), None)


async def _bad_value(request: Request, error: ValueError) -> Response:
    field, _, message = str(error).partition(": ")
    problem = {"field": field, "message": message or str(error)}
    if wants_json(request):
        return JSONResponse({"detail": [problem]}, 422)

    return error_page(request, 422, str(error), None)

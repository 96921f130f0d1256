"""/api/v1: the JSON API. Each listing has the CLI's `--json` keys (tracker/listings.py) and its options' names as
filters; every listing answers `{"items", "next_cursor", "total"}` and takes `limit` (up to 1,000) and `cursor`: ask
again with `cursor=NEXT_CURSOR` until it is null. Reads follow `web.read`; writes need
`Authorization: Bearer WRITE_TOKEN`. Errors are `{"detail": ...}`; a 422 lists every problem as `{"field", "message"}`.

Bodies are encoded with the standard library's C encoder straight from the listings' dicts (FastAPI's generic
encoder costs ~10x more on a 1,000-row page)."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from tracker.domain.alerts import SnoozeKind
from tracker.domain.clock import machine
from tracker.domain.exposure_filter import ExposureFilter
from tracker.filters import BUILDS, DELIVERIES, EVENTS, EXPOSURE
from tracker.web import reads, writes
from tracker.web.auth import Need, check
from tracker.web.context import Ctx
from tracker.web.exposure import SORTS
from tracker.web.reads import EventFilter


def _reader(request: Request) -> None:
    check(request.app.state.ctx.config, request, Need.READ)


def _writer(request: Request) -> None:
    check(request.app.state.ctx.config, request, Need.WRITE)


router = APIRouter(prefix="/api/v1", tags=["api"])
reading = APIRouter(dependencies=[Depends(_reader)])
writing = APIRouter(dependencies=[Depends(_writer)])

Limit = Annotated[int, Query(ge=1, le=reads.MAX_LIMIT, description="Rows per page (1 to 1,000).")]
Cursor = Annotated[str | None, Query(description="The `next_cursor` of the previous page.")]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status, media_type="application/json")


def _refused(error: writes.WriteRefused) -> HTTPException:
    return HTTPException(error.status, error.problems)


def _choice(field: str, value: str | None, allowed: list[str]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{field}: expected one of {', '.join(allowed)}, got {value!r}")


# --- reads ---------------------------------------------------------------------------------------------------------
@reading.get("/builds", summary="The catalog, newest first (as `tracker builds --json`)")
def builds(
    ctx: Ctx,
    product: str | None = None,
    line: str | None = None,
    status: str | None = None,
    limit: Limit = reads.MAX_LIMIT,
    cursor: Cursor = None,
) -> Response:
    wanted = reads.checked(ctx, BUILDS, product=product, line=line, status=status)
    shown = reads.builds(ctx, wanted["product"], wanted["line"], wanted["status"])
    return _json(reads.page_of(shown, "build", cursor, limit).json())


@reading.get("/builds/{product}/{build}", summary="One build: its evidence per source, its events, what it replaces")
def build(ctx: Ctx, product: str, build: int) -> Response:
    found = reads.build(ctx, product, build)
    if found is None:
        raise HTTPException(404, f"no {product} build {build} in the catalog")
    return _json(found)


@reading.get("/events", summary="Events newest first, paged (as `tracker events --json`)")
def events(
    ctx: Ctx,
    kind: Annotated[list[str] | None, Query(description="new, pulled, reissued ... (repeatable)")] = None,
    product: str | None = None,
    line: str | None = None,
    since: str | None = None,
    until: str | None = None,
    build: int | None = None,
    advisory: str | None = None,
    limit: Limit = reads.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    given = reads.checked(ctx, EVENTS, kind=kind or [], product=product, line=line, since=since, until=until)
    wanted = EventFilter(
        kinds=given["kind"],
        product=given["product"],
        line=given["line"],
        since=given["since"],
        until=given["until"],
        build=build,
        advisory=advisory,
    )
    return _json(reads.events(ctx, wanted, cursor, limit).json())


def _exposure_filter(
    request: Request,
    status: str = "",
    severity: str = "",
    cluster: str = "",
    vcenter: str = "",
    tag: str = "",
    kind: str = "",
    q: str = "",
    min_severity: str = "",
) -> ExposureFilter:
    given = {"status": status, "severity": severity, "min_severity": min_severity, "kind": kind}
    reads.checked(request.app.state.ctx, EXPOSURE, **given)
    return ExposureFilter(status, severity, cluster, vcenter, tag, kind, q, min_severity)


Wanted = Annotated[ExposureFilter, Depends(_exposure_filter)]


@reading.get("/exposure", summary="Each asset's findings and safe target, paged (as `tracker exposure --json`)")
def exposure(
    ctx: Ctx,
    wanted: Wanted,
    sort: Annotated[str, Query(description=f"One of {', '.join(SORTS)}.")] = "severity",
    limit: Limit = reads.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    _choice("sort", sort, list(SORTS))
    return Response(reads.exposure_json(ctx, wanted, sort, cursor, limit), media_type="application/json")


@reading.get("/assets", summary="The inventory by name, paged (as `tracker inventory list --json`)")
def assets(ctx: Ctx, wanted: Wanted, limit: Limit = reads.DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    return _json(reads.assets(ctx, wanted, cursor, limit).json())


@reading.get("/assets/{name}", summary="One asset: its findings, its target and why, its snoozes")
def asset(ctx: Ctx, name: str) -> Response:
    found = reads.asset(ctx, name)
    if found is None:
        raise HTTPException(404, f"no asset named {name!r}")
    return _json(found)


@reading.get("/sources", summary="Each source's health and schedule (as `tracker sources --json`)")
def sources(
    ctx: Ctx,
    all: bool = False,
    limit: Limit = reads.MAX_LIMIT,
    cursor: Cursor = None,
) -> Response:
    return _json(reads.page_of(reads.sources(ctx, all), "id", cursor, limit).json())


@reading.get("/health", summary="The tracker's health verdict (as `tracker health --json`): status, problems, sources")
def health(ctx: Ctx) -> Response:
    """Always 200 with the verdict (`status`: healthy or degraded); `/readyz` answers whether it can serve."""
    return _json(reads.health(ctx))


@reading.get("/deliveries", summary="The outbox, newest first (as `tracker deliveries --json`)")
def deliveries(
    ctx: Ctx, status: str | None = None, limit: Limit = reads.DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    wanted = reads.checked(ctx, DELIVERIES, status=status)
    return _json(reads.page_of(reads.deliveries(ctx, wanted["status"]), "id", cursor, limit).json())


@reading.get("/watchlists", summary="The watchlists, the config's and those added (as `tracker watch list --json`)")
def watchlists(ctx: Ctx, limit: Limit = reads.MAX_LIMIT, cursor: Cursor = None) -> Response:
    return _json(reads.page_of(reads.watchlists(ctx), "name", cursor, limit).json())


@reading.get("/snoozes", summary="The snoozes, standing and ended (as `tracker snooze list --json`)")
def snoozes(ctx: Ctx, limit: Limit = reads.MAX_LIMIT, cursor: Cursor = None) -> Response:
    return _json(reads.page_of(reads.snoozes(ctx), "id", cursor, limit).json())


# --- writes --------------------------------------------------------------------------------------------------------
@writing.post("/inventory", summary="Import an inventory file: all or nothing (422 lists each bad row and column)")
async def inventory(
    ctx: Ctx,
    request: Request,
    filename: Annotated[str, Query(description="The file's name, when the body is the file itself.")] = "inventory",
    format: Annotated[str, Query(description="auto, csv, rvtools, yaml or json.")] = "auto",
    replace: bool = False,
    dry_run: bool = False,
) -> Response:
    data, name = await _upload(request, filename)
    try:
        return _json(writes.import_inventory(ctx, data, name, format, replace, dry_run))
    except writes.WriteRefused as error:
        raise _refused(error) from None


async def _upload(request: Request, filename: str) -> tuple[bytes, str]:
    """A multipart upload's `file` field, or the raw body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValueError("file: expected the inventory file in a multipart field named `file`")
        return await upload.read(), upload.filename or filename
    return await request.body(), filename


@writing.post("/snoozes", status_code=201, summary="Snooze an asset, a build or an advisory until a date")
def add_snooze(
    ctx: Ctx,
    body: Annotated[
        dict[str, Any],
        Body(examples=[{"asset": "esx01", "until": "2022-03-01", "reason": "waiting for the vendor's fix"}]),
    ],
) -> Response:
    given = [k for k in SnoozeKind if body.get(k) not in (None, "")]
    if len(given) != 1:
        raise HTTPException(422, [{"field": "target", "message": "give exactly one of asset, build or advisory"}])
    try:
        item = writes.add_snooze(
            ctx, given[0], str(body[given[0]]), str(body.get("until", "")), str(body.get("reason", ""))
        )
    except writes.WriteRefused as error:
        raise _refused(error) from None
    return _json(item, 201)


@writing.delete("/snoozes/{snooze_id}", status_code=204, summary="End a snooze now")
def remove_snooze(ctx: Ctx, snooze_id: int) -> Response:
    try:
        writes.remove_snooze(ctx, snooze_id)
    except writes.WriteRefused as error:
        raise _refused(error) from None
    return Response(status_code=204)


@writing.post("/watchlists", status_code=201, summary="Add a watchlist (the fields of `tracker watch add`)")
def add_watchlist(ctx: Ctx, body: Annotated[dict[str, Any], Body()]) -> Response:
    try:
        return _json(writes.add_watchlist(ctx, body), 201)
    except writes.WriteRefused as error:
        raise _refused(error) from None


@writing.delete("/watchlists/{name}", status_code=204, summary="Remove a watchlist added through the API or CLI")
def remove_watchlist(ctx: Ctx, name: str) -> Response:
    try:
        writes.remove_watchlist(ctx, name)
    except writes.WriteRefused as error:
        raise _refused(error) from None
    return Response(status_code=204)


@writing.post("/deliveries/{outbox_id}/retry", summary="Queue a failed or waiting delivery again now")
def retry_delivery(ctx: Ctx, outbox_id: int) -> Response:
    try:
        return _json(writes.retry_delivery(ctx, outbox_id))
    except writes.WriteRefused as error:
        raise _refused(error) from None


@writing.post("/poll", status_code=202, summary="Run a whole poll cycle now, as `tracker poll` does")
def poll(ctx: Ctx) -> Response:
    if ctx.polls.queue():
        return _json({"queued": True}, 202)
    return _json({"queued": False, "detail": "a cycle asked for here is running already"}, 202)


@reading.get("/poll", summary="Whether a poll cycle asked for here runs now, and what the last one did")
def last_poll(ctx: Ctx) -> Response:
    last = ctx.polls.last
    if last is None:
        return _json({"running": ctx.polls.running, "last": None})
    from tracker.jobs.poll import poll_line  # lazy: the cycle, loaded once a poll was asked for

    report = last.report
    done = {
        "asked_at": machine(last.request.now),
        "summary": poll_line(last),
        "sources": len(report.outcomes) if report else 0,
        "events": len(report.events) if report else 0,
        "alerts_queued": report.queued if report else 0,
        "blocked_by": last.blocked_by.holder if last.blocked_by else None,
        "lease_lost": last.lease_lost,
        "outbox": last.outbox,
    }
    return _json({"running": ctx.polls.running, "last": done})


router.include_router(reading)
router.include_router(writing)

"""The operations endpoints: `/healthz` (the process answers), `/readyz` (can it serve: the database answers and
polling is not stalled; its body carries the health verdict `tracker health` prints) and `/metrics` in Prometheus's
text format (each source's state and the tracker's status from the same verdict).

Metrics are read from the database at each scrape by a collector on a registry of this app's own (never the
process-global one), so a `tracker serve` replica reports what the service recorded. The cycle records no row of
its own: its duration is read from its fetch rows, as its longest fetch (pages are fetched side by side, so this is
the cycle's time less its parse and record steps)."""

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from tracker import build_info
from tracker.domain.health import SourceState, Status, readiness
from tracker.jobs.health import health_verdict
from tracker.jobs.sources import gather_sources
from tracker.listings import health_item, source_items
from tracker.store.db import session_scope
from tracker.store.reads import event_counts, last_cycle, last_digest_sent, outbox_counts
from tracker.store.repo import utc
from tracker.web.auth import Need, check
from tracker.web.context import Ctx, WebContext

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, str]:
    """The process answers (nothing else is checked: a liveness probe must not restart it for a vendor outage),
    with the build it runs (the version and the database schema, as `tracker --version` prints them)."""
    return {"status": "ok", "mode": ctx.notes.get("mode", ""), **build_info()}


@router.get("/readyz")
def readyz(ctx: Ctx) -> Response:
    """Readiness means "this tracker can serve": 200 while its database answers and what it serves is current
    (polling is not stalled; a `tracker run` just started gets its grace), whether the tracker is healthy or
    degraded: a source in trouble or a failed delivery leaves it serving, and taking the web face away would hide
    the very problems it shows. 503 when it cannot: the database does not answer (`tracker health` exits 1), or no
    source was polled for twice the shortest interval (old news served as current).

    The body agrees with the code (`ready`, and `reason` when not) and carries the one health verdict as `tracker
    health --json` and `/api/v1/health` give it: `status` is `healthy` (exit 0), `degraded` (exit 3, the problems
    listed) or `unavailable` (exit 1). It never says "ready" as its status beside problems."""
    try:
        verdict = health_verdict(ctx.config, ctx.engine, ctx.now)
    except SQLAlchemyError as error:
        reason = f"the database does not answer: {type(error).__name__}"
        return JSONResponse({"ready": False, "reason": reason, "status": Status.UNAVAILABLE.value, "problems": []}, 503)
    answer = readiness(verdict, _starting(ctx))
    body = {"ready": answer.ready, **({"reason": answer.reason} if answer.reason else {}), **health_item(verdict)}
    return JSONResponse(body, 200 if answer.ready else 503)


def _starting(ctx: WebContext) -> bool:
    """`tracker run` just started has not polled yet: it gets its most frequent source's interval and a tick.
    `tracker serve` polls nothing itself: what it finds is what there is."""
    shortest = min((s.interval for s in ctx.config.sources), default=3600)
    grace = shortest + ctx.config.service.tick
    return ctx.notes.get("mode") == "service" and time.monotonic() - ctx.up_since < grace


def _reader(request: Request) -> None:
    check(request.app.state.ctx.config, request, Need.READ)


@router.get("/metrics", dependencies=[Depends(_reader)])
def metrics(ctx: Ctx, request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # lazy: loaded at the first scrape (idle RSS)

    registry = getattr(request.app.state, "metrics", None)
    if registry is None:
        registry = request.app.state.metrics = _registry(ctx)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _registry(ctx: WebContext) -> Any:
    from prometheus_client import CollectorRegistry  # lazy: loaded at the first scrape (idle RSS)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(ctx))
    return registry


class _Collector:
    """Every metric, read at scrape time."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    def describe(self) -> list[Any]:
        return []  # no fixed description: collected at each scrape

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # lazy: loaded at the first scrape (idle RSS)

        with session_scope(self.ctx.engine) as session:
            events, outbox = event_counts(session), outbox_counts(session)
            digest, cycle = last_digest_sent(session), last_cycle(session)
        listing = gather_sources(self.ctx.config, self.ctx.engine, self.ctx.now)
        sources, verdict = source_items(listing, show_all=False), listing.verdict
        gauge = GaugeMetricFamily
        yield _build_info()
        if cycle is not None:
            yield gauge("tracker_poll_cycle_duration_seconds", "The last poll cycle's duration.", cycle[1])
            yield gauge("tracker_poll_cycle_last_timestamp_seconds", "When the last cycle started.", _ts(cycle[0]))
        yield gauge("tracker_healthy", "1 when `tracker health` says healthy, 0 when degraded.", float(verdict.healthy))
        yield gauge("tracker_health_problems", "The problems `tracker health` names.", float(len(verdict.problems)))
        health = gauge("tracker_source_health", "1 for each source's state.", labels=["source", "state"])
        success = gauge("tracker_source_last_success_timestamp_seconds", "A source's last success.", labels=["source"])
        failures = gauge("tracker_source_failures", "A source's failures in a row.", labels=["source"])
        for source in sources:
            for state in SourceState:
                health.add_metric([source["id"], state.value], 1.0 if source["health"] == state else 0.0)
            if source["last_success"]:
                success.add_metric([source["id"]], _ts(source["last_success"]))
            failures.add_metric([source["id"]], float(source["failures"]))
        yield from (health, success, failures)
        yield _labelled("tracker_events", "Events recorded, by kind.", "kind", events)
        yield _labelled("tracker_outbox_messages", "Outbox messages, by status.", "status", outbox)
        yield gauge("tracker_outbox_failed", "Messages that failed for good.", float(outbox.get("failed", 0)))
        if digest is not None:
            yield gauge("tracker_digest_last_sent_timestamp_seconds", "When the last digest was sent.", _ts(digest))
        counts = self.ctx.exposure.current().counts()
        yield _labelled("tracker_assets", "Assets by the severity of their worst finding.", "severity", counts)


def _build_info() -> Any:
    from prometheus_client.core import GaugeMetricFamily  # lazy: loaded at the first scrape (idle RSS)

    info = build_info()
    family = GaugeMetricFamily(
        "tracker_build_info", "The tracker's version and database schema (always 1).", labels=list(info)
    )
    family.add_metric(list(info.values()), 1.0)
    return family


def _labelled(name: str, text: str, label: str, values: dict[str, int]) -> Any:
    from prometheus_client.core import GaugeMetricFamily  # lazy: loaded at the first scrape (idle RSS)

    family = GaugeMetricFamily(name, text, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], float(value))
    return family


def _ts(value: datetime | str) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return utc(value).timestamp()

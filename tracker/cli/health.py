"""`tracker health`: the tracker's own health for operators, monitoring and the Docker HEALTHCHECK.

Exit codes: 0 healthy, 3 degraded (each problem named: what, why, since when), 1 it cannot check (the database
cannot be opened), 2 a bad config or option.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

from tracker.cli.common import JsonOpt, get_config, get_now, open_engine
from tracker.cli.output import echo_json, esc, iso, rich_console, short, utc

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.domain.health import FailedDelivery, SourceFacts, Verdict
    from tracker.store.models import DeliveryRow, OutboxRow, SourceRow

commands = typer.Typer()

DEGRADED = 3


@commands.command()
def health(as_json: JsonOpt = False) -> None:
    """Is the tracker still hearing the vendor and telling people? Exit 0 healthy, 3 degraded (each problem named,
    with its reason and since when), 1 when it cannot check, 2 on a bad config."""
    # lazy: the ORM, which --help must not load
    from tracker.domain.health import assess
    from tracker.store import OutboxStatus
    from tracker.store.db import session_scope
    from tracker.store.outbox import deliveries
    from tracker.store.sources import active_sources

    config = get_config()
    engine = open_engine(config)
    now = get_now()
    with session_scope(engine) as session:  # read only
        sources = _source_facts(config, {r.id: r for r in active_sources(session)}, now)
        failed = [_failure(row, attempts) for row, attempts in deliveries(session, OutboxStatus.FAILED)]
    verdict = assess(sources, failed, now)
    if as_json:
        echo_json(_as_data(verdict))
    else:
        _print(verdict)
    if not verdict.healthy:
        raise typer.Exit(DEGRADED)


def _source_facts(config: "Config", stored: "dict[str, SourceRow]", now: datetime) -> "list[SourceFacts]":
    from tracker.domain.health import SourceFacts  # lazy: as in health()

    facts = []
    for source in config.sources:
        interval = timedelta(seconds=source.interval)
        row = stored.get(source.id)
        if row is None:  # configured since the last command that synced the sources: not polled yet
            facts.append(SourceFacts(source.id, "ok", interval, now))
            continue
        facts.append(
            SourceFacts(
                row.id,
                row.health,
                interval,
                utc(row.created_at),
                _utc(row.last_fetch_at),
                _utc(row.last_success_at),
                row.last_error,
                _utc(row.last_error_at),
            )
        )
    return facts


def _failure(row: "OutboxRow", attempts: "list[DeliveryRow]") -> "FailedDelivery":
    from tracker.domain.health import FailedDelivery  # lazy: as in health()

    at = max([a.attempted_at for a in attempts] or [row.created_at])
    return FailedDelivery(row.channel, f"{row.kind} {row.dedup_key}", row.last_error, utc(at))


def _utc(value: datetime | None) -> datetime | None:
    return utc(value) if value else None


def _as_data(verdict: "Verdict") -> dict[str, Any]:
    return {
        "status": "healthy" if verdict.healthy else "degraded",
        "problems": [{"subject": p.subject, "reason": p.reason, "since": iso(p.since)} for p in verdict.problems],
        "sources": [
            {
                "id": s.id,
                "state": s.state.value,
                "last_success": iso(s.last_success_at),
                "last_error": s.last_error,
                "last_error_at": iso(s.last_error_at),
            }
            for s in verdict.sources
        ],
    }


def _print(verdict: "Verdict") -> None:
    console = rich_console()
    if verdict.healthy:
        states = [s.state.value for s in verdict.sources]
        waiting = states.count("never polled")
        tail = f" ({waiting} not polled yet, within their interval)" if waiting else ""
        console.print(f"healthy: {len(states) - waiting} source(s) polled and ok, no failed delivery{tail}")
        return
    console.print(f"[red]degraded[/]: {len(verdict.problems)} problem(s)")
    for problem in verdict.problems:
        since = f" (since {short(iso(problem.since))})" if problem.since else ""
        console.print(f"  {esc(problem.subject)}: {esc(problem.reason)}{since}")

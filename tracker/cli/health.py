"""`tracker health`: the tracker's own health for operators, monitoring and the Docker HEALTHCHECK.

Exit codes: 0 healthy, 3 degraded (each problem named: what, why, since when), 1 it cannot check (the database
cannot be opened), 2 a bad config or option.
"""

from typing import TYPE_CHECKING, Any

import typer

from tracker.cli.common import JsonOpt, get_config, get_now, open_engine
from tracker.cli.output import echo_json, esc, iso, rich_console, short
from tracker.domain.words import count

if TYPE_CHECKING:
    from tracker.domain.health import Verdict

commands = typer.Typer()

DEGRADED = 3


@commands.command()
def health(as_json: JsonOpt = False) -> None:
    """Is the tracker still hearing the vendor and telling people? Exit 0 healthy, 3 degraded (each problem named,
    with its reason and since when), 1 when it cannot check, 2 on a bad config."""
    from tracker.jobs.health import health_verdict  # lazy: the ORM, which --help must not load

    config = get_config()
    verdict = health_verdict(config, open_engine(config), get_now())
    if as_json:
        echo_json(_as_data(verdict))
    else:
        _print(verdict)
    if not verdict.healthy:
        raise typer.Exit(DEGRADED)


def _as_data(verdict: "Verdict") -> dict[str, Any]:
    return {
        "status": "healthy" if verdict.healthy else "degraded",
        "warnings": list(verdict.warnings),
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
        console.print(f"healthy: {count(len(states) - waiting, 'source')} polled and ok, no failed delivery{tail}")
        for warning in verdict.warnings:
            console.print(f"  [yellow]warning[/]: {esc(warning)}")
        return
    console.print(f"[red]degraded[/]: {count(len(verdict.problems), 'problem')}")
    for problem in verdict.problems:
        since = f" (since {short(iso(problem.since))})" if problem.since else ""
        console.print(f"  {esc(problem.subject)}: {esc(problem.reason)}{since}")

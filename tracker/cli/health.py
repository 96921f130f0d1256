"""`tracker health`: the tracker's own health for operators, monitoring and the Docker HEALTHCHECK.

Exit codes: 0 healthy, 3 degraded (each problem named: what, why, since when), 1 it cannot check (the database
cannot be opened), 2 a bad config or option. The verdict is tracker/domain/health.py's, the one every face shows;
this command only prints it (`--json`: tracker/listings.py's health_item, as `/api/v1/health` serves it).
"""

import typer

from tracker.cli.common import JsonOpt, get_config, get_now, open_engine
from tracker.cli.output import echo_json, esc, rich_console
from tracker.domain.clock import human
from tracker.domain.health import SourceState, Verdict
from tracker.domain.words import count

commands = typer.Typer()

DEGRADED = 3


@commands.command()
def health(as_json: JsonOpt = False) -> None:
    """Is the tracker still hearing the vendor and telling people? Exit 0 healthy, 3 degraded (each problem named,
    with its reason and since when), 1 when it cannot check, 2 on a bad config."""
    from tracker.jobs.health import health_verdict  # lazy: the ORM, which --help must not load
    from tracker.listings import health_item  # lazy: with the ORM's types, which --help must not load

    config = get_config()
    verdict = health_verdict(config, open_engine(config), get_now())
    if as_json:
        echo_json(health_item(verdict))
    else:
        _print(verdict, config.timezone)
    if not verdict.healthy:
        raise typer.Exit(DEGRADED)


def _print(verdict: Verdict, zone: str) -> None:
    """The verdict in words: the status, each problem, then the sources by state, naming each one that is not `ok`
    (a source not polled yet within its interval, one removed from the config) with its reason."""
    console = rich_console()
    if verdict.healthy:
        console.print("[green]healthy[/]: no problem")
    else:
        console.print(f"[red]degraded[/]: {count(len(verdict.problems), 'problem')}")
    for problem in verdict.problems:
        since = f" (since {human(problem.since, zone)})" if problem.since else ""
        console.print(f"  {esc(problem.subject)}: {esc(problem.reason)}{since}")
    for warning in verdict.warnings:
        console.print(f"  [yellow]warning[/]: {esc(warning)}")
    states = ", ".join(f"{n} {state.value}" for state, n in verdict.states().items())
    console.print(f"{count(len(verdict.sources), 'source')}{': ' + states if states else ''}")
    for source in verdict.sources:
        if source.state != SourceState.OK and not source.problem:  # the problems are named above
            console.print(f"  {esc(source.id)}: {esc(source.state.value)}: {esc('; '.join(source.reasons))}")

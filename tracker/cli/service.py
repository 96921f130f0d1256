"""The service and its story replayed offline: run, demo."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from tracker.cli.common import STATE, get_config, get_now, open_engine

commands = typer.Typer()  # added to the app without a name: its commands are top-level


@commands.command()
def run(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Run one tick and exit: the due sources in one cycle, the outbox, the digests (for cron; with --now,"
            " a source is due when never polled or when its interval has elapsed since its last poll).",
        ),
    ] = False,
) -> None:
    """Run the service: every tick, poll the sources that are due in one cycle, deliver the outbox and send due
    digests, until stopped (SIGTERM finishes the current step)."""
    config = get_config(channels=True, uses=("sources",))
    engine = open_engine(config)
    if once:
        from tracker.jobs import service_tick

        for line in service_tick(config, engine, get_now()):
            typer.echo(line, err=True)
        return
    # lazy: the jobs (the ORM, apprise) and APScheduler, which --help must not load
    from tracker.scheduler import run_service

    fixed = STATE.now

    def clock() -> datetime:
        return get_now() if fixed else datetime.now(UTC)

    run_service(config, engine, clock, lambda line: typer.echo(line, err=True))


@commands.command()
def demo() -> None:
    """Replay the ESXi 7.0 U3 story offline (Sept 2021 to Feb 2022) against bundled pages and a sample inventory,
    printing each alert and the final digest as people would read them. Needs no config and no network."""
    # lazy: the demo loads the whole service
    from tracker.demo import run_demo

    run_demo(lambda line: typer.echo(line))

"""The service and its story replayed offline: run, demo."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import STATE, fail, get_config, get_now, open_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.config import Config

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
    config = get_config(channels=True, uses=("sources", "web"))
    engine = open_engine(config)
    if once:
        _once(config, engine)
        return
    # lazy: the jobs (the ORM, apprise) and APScheduler, which --help must not load
    from tracker.scheduler import run_service

    clock = _service_clock()
    run_service(config, engine, clock, lambda line: typer.echo(line, err=True))


def _once(config: "Config", engine: "Engine") -> None:
    """`tracker run --once`: the due sources in one cycle, then the outbox (reopened snoozes and health notices
    queued first), then the digests; a line for each on stderr, as the service logs them."""
    # lazy: the progress line, the cycle (httpx, the sources) and the jobs (the ORM, apprise), which --help must not
    # load
    from tracker.cli.progress import cycle_progress
    from tracker.cycle import Request
    from tracker.jobs import poll as use_case
    from tracker.jobs.delivery import digest_tick

    now = get_now()
    after = use_case.AfterPoll(wait=use_case.POLL_WAIT, outbox=use_case.Outbox.YES)  # the process ends after it
    with cycle_progress(as_json=False) as progress:  # a terminal's only: cron's mail never shows it
        result = use_case.poll(config, lambda: engine, Request(now, due_only=True), after, use_case.Listeners(progress))
    for line in (use_case.poll_line(result), result.outbox, digest_tick(config, engine, now)):
        if line:
            typer.echo(line, err=True)


def _service_clock() -> Callable[[], datetime]:
    """The clock of a process that runs on: fixed under --now (or TRACKER_NOW), else the real one."""
    fixed = STATE.now

    def clock() -> datetime:
        return get_now() if fixed else datetime.now(UTC)

    return clock


@commands.command()
def serve(
    listen: Annotated[
        str | None,
        typer.Option("--listen", metavar="HOST:PORT", help="Where to listen (default: web.listen, or 127.0.0.1:8080)."),
    ] = None,
) -> None:
    """Serve the web face alone (pages, /api/v1, feeds, /metrics), without polling: for a read-only replica beside
    the service, or to look at a database. `tracker run` serves it too when the config has `web:`."""
    # lazy: FastAPI and uvicorn, which --help must not load
    from tracker.config import WebConfig
    from tracker.web.server import serve as serve_web

    config = get_config(uses=("web",))  # the tokens: an unset ${VAR} is named here, before anything listens
    if listen is not None:
        try:
            web = WebConfig.model_validate({**(config.web.model_dump() if config.web else {}), "listen": listen})
        except ValueError:
            fail(f"--listen: expected HOST:PORT such as 127.0.0.1:8080, got {listen!r}", 2)
        config = config.model_copy(update={"web": web})
    engine = open_engine(config)
    clock = _service_clock()
    serve_web(config, engine, clock, lambda line: typer.echo(line, err=True))


@commands.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve", help="Then keep the web dashboard up over the replayed story until Ctrl-C.")
    ] = False,
    listen: Annotated[
        str, typer.Option("--listen", metavar="HOST:PORT", help="Where --serve listens.")
    ] = "127.0.0.1:8080",
) -> None:
    """Replay the ESXi 7.0 U3 story offline (Sept 2021 to Feb 2022) against bundled pages and a sample inventory,
    printing each alert and the final digest as people would read them. Needs no config and no network."""
    # lazy: the demo loads the whole service
    from tracker.config import WebConfig
    from tracker.demo import run_demo

    if serve:
        try:
            WebConfig(listen=listen)
        except ValueError:
            fail(f"--listen: expected HOST:PORT such as 127.0.0.1:8080, got {listen!r}", 2)
    run_demo(lambda line: typer.echo(line), listen if serve else None)

"""Running the web face on uvicorn: in the foreground for `tracker serve` (uvicorn handles SIGTERM and Ctrl-C),
or on a thread beside the scheduler for `tracker run` (stopped with the service)."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import uvicorn
from sqlalchemy import Engine

from tracker.config import Config, WebConfig
from tracker.web.app import create_app

Log = Callable[[str], None]


def _server(config: Config, engine: Engine, clock: Callable[[], datetime], mode: str) -> "Server":
    web = config.web or WebConfig()
    app = create_app(config, engine, clock, mode)
    app.state.ctx.exposure.warm()
    settings = uvicorn.Config(
        app,
        host=web.host,
        port=web.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    return Server(settings)


def serve(config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> None:
    """`tracker serve`: the web face alone, until SIGTERM or Ctrl-C."""
    server = _server(config, engine, clock, "serve")
    reads = (config.web or WebConfig()).read
    server.on_start = lambda url: log(f"web: serving on {url} (reads: {reads}); stop with Ctrl-C")
    server.run()
    log("web: stopped")


class Server:
    """uvicorn's server, saying its real address once listening (port 0 picks a free one)."""

    def __init__(self, settings: object) -> None:
        class _Announcing(uvicorn.Server):
            async def startup(inner, sockets: object = None) -> None:
                await super().startup(sockets)  # type: ignore[arg-type]
                if inner.started:
                    self.url = _url(inner)
                    self.on_start(self.url)

            @contextmanager
            def capture_signals(inner) -> Iterator[None]:
                # uvicorn raises the signal again once it has shut down (the process then dies of it, 130 or
                # 143); the tracker exits 0 after a clean stop, as `tracker run` does.
                with super().capture_signals():
                    try:
                        yield
                    finally:
                        inner._captured_signals.clear()

        self.url = ""
        self.on_start: Log = lambda _url: None
        self._server = _Announcing(settings)  # type: ignore[arg-type]

    def run(self) -> None:
        self._server.run()

    def stop(self) -> None:
        self._server.should_exit = True

    @property
    def started(self) -> bool:
        return bool(self._server.started)


def _url(server: object) -> str:
    sockets = [s for srv in getattr(server, "servers", []) for s in srv.sockets]
    host, port = sockets[0].getsockname()[:2] if sockets else ("127.0.0.1", 0)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class WebThread:
    """`tracker run` with `web:` set: the web face on its own thread, sharing the service's engine."""

    def __init__(self, config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> None:
        self.server = _server(config, engine, clock, "service")
        self.server.on_start = lambda url: log(f"web: serving on {url}")
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.server.stop()
        self.thread.join(timeout)

"""A throwaway PostgreSQL server for tests: its own cluster in a temporary folder, on 127.0.0.1, a random port.

    with start_postgres() as server:
        engine = make_engine(server.url("tracker"))

It needs PostgreSQL's server programs (Debian's `postgresql`; scripts/install-test-deps.sh). Without them
`start_postgres` raises PostgresUnavailable naming the package, and the fixture turns that into a failure. As root
(CI), the server runs as the `postgres` user the package creates: PostgreSQL refuses to run as root.

The server's time zone is deliberately not UTC: the tracker must store and read UTC whatever the server's zone is.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "apt-get install -y postgresql  (or: bash scripts/install-test-deps.sh)"
SERVER_ZONE = "America/New_York"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says what to install or what went wrong."""


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    stop: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)  # fast shutdown, same data
    start: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)  # again, on the same port

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _bin_dir() -> Path:
    """Where initdb and pg_ctl are: on PATH, else Debian's versioned folder (newest first)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable(f"PostgreSQL's server programs (initdb, pg_ctl) are not installed: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix and owner for the server's files: nothing as a normal user; `postgres` as root."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError as error:
        raise PostgresUnavailable(f"running as root and there is no `postgres` user: {INSTALL_HINT}") from error
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root and `runuser` (util-linux) is missing")
    return [runuser, "-u", "postgres", "--"], account.pw_uid, account.pw_gid


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@contextmanager
def start_postgres() -> Iterator[Postgres]:
    """initdb a cluster in a new temporary folder, start it on a free port (TCP on 127.0.0.1 only); stop it and
    remove the folder after, also when it fails to start. As root the folder is made in /tmp: pytest's own
    temporary folders (and a TMPDIR under /root) are private to root, and the server runs as `postgres`."""
    bin_dir = _bin_dir()
    prefix, uid, gid = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="tracker-postgres-", dir="/tmp" if prefix else None))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        sockets.mkdir()
        if uid is not None and gid is not None:
            for path in (folder, sockets):
                os.chown(path, uid, gid)
        user = "postgres" if prefix else pwd.getpwuid(os.geteuid()).pw_name
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C"]
        _run([*prefix, *initdb, "--no-sync"], "initdb")
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets}"
            f" -c timezone={SERVER_ZONE} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )

        def start() -> None:
            try:
                _run([*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"], "pg_ctl start")
            except PostgresUnavailable as error:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
                raise PostgresUnavailable(f"{error}\nserver log:\n{tail}") from None

        def stop() -> None:
            _run([*pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"], "pg_ctl stop")

        start()
        yield Postgres("127.0.0.1", port, user, stop, start)
    finally:
        if (data / "postmaster.pid").exists():  # running, or left half-started: stop it either way
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

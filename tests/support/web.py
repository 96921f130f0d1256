"""The web face over the replayed ESXi 7.0 U3 story, as a real `tracker serve` process on 127.0.0.1.

`story_database(folder)` replays the demo's story (tracker/demo: the bundled pages, the sample inventory) into
`folder`/tracker.db once; `WebServer` copies it, writes a config with `web:` (tokens from environment variables,
as the config requires) and starts `tracker serve --now FINAL` on a free port, waiting until it answers."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

FINAL = "2022-02-16T08:00:00Z"  # the story's end: U3c past its cooldown, VMSA-2022-0004 out
READ_TOKEN = "read-token-0123456789abcdef"
WRITE_TOKEN = "write-token-0123456789abcdef"


def story_database(folder: Path) -> Path:
    """Replay the demo story into `folder` (tracker.db, tracker.yaml); the folder."""
    from tracker.demo import replay_story, story_site

    folder.mkdir(parents=True, exist_ok=True)
    with story_site() as stage:
        replay_story(folder, stage, lambda _line: None)
    return folder


@dataclass
class WebServer:
    url: str
    config: Path
    process: subprocess.Popen[str]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`tracker ARGS` on the same config and clock, as an admin on the server would run it."""
        command = [sys.executable, "-m", "tracker.cli", "--config", str(self.config), "--now", FINAL, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=_env())


def _exited(process: subprocess.Popen[str], log: Path) -> None:
    if process.poll() is not None:
        raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")


def _env() -> dict[str, str]:
    return {**os.environ, "TRACKER_READ_TOKEN": READ_TOKEN, "TRACKER_WRITE_TOKEN": WRITE_TOKEN}


def web_config(story: Path, folder: Path, read: str = "open", extra: str = "") -> Path:
    """A copy of the story's database and config in `folder`, with a `web:` section."""
    folder.mkdir(parents=True, exist_ok=True)
    source, copy = sqlite3.connect(story / "tracker.db"), sqlite3.connect(folder / "tracker.db")
    with copy:
        source.backup(copy)  # with what the write-ahead log still holds, which a file copy would lose
    source.close()
    copy.close()
    text = (story / "tracker.yaml").read_text(encoding="utf-8")
    text = re.sub(r"^database: .*$", f"database: sqlite:///{folder / 'tracker.db'}", text, flags=re.M)
    text += (
        f"web:\n  listen: 127.0.0.1:0\n  read: {read}\n"
        "  read_tokens: ['${TRACKER_READ_TOKEN}']\n  write_tokens: ['${TRACKER_WRITE_TOKEN}']\n" + extra
    )
    config = folder / "tracker.yaml"
    config.write_text(text, encoding="utf-8")
    return config


@contextmanager
def web_server(config: Path, *args: str) -> Iterator[WebServer]:
    """`tracker serve` (or `tracker ARGS` such as `run`) on `config`, until the block ends (SIGTERM)."""
    command = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", FINAL, *(args or ("serve",))]
    log = config.parent / "server.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        found = wait_until(
            lambda: re.search(r"web: serving on (http://\S+)", log.read_text()) or _exited(process, log),
            60,
            "the web server to listen",
        )
        yield WebServer(found.group(1), config, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

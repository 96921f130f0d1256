"""A long poll says how far it is, on a terminal only: a first poll that follows release notes one politeness delay
apart draws one transient line on stderr ("polling: 3 of 16 pages fetched; waiting on 127.0.0.1 (politeness
delay)") once it has run 2 s; with --json, or with stderr a pipe (cron, a file), and in a quick cycle, none."""

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.site import FixtureSite
from tracker.cli.progress import SHOW_AFTER, progress_text
from tracker.cycle.fetch import Fetching

NOW = "2022-01-28T08:00:00Z"  # KB rows link ~60 release-notes pages, all new to a first poll
SLOW = "{politeness_delay: 0.2, follow_limit: 7, timeout: 5}"  # 16 pages on one host: 15 gaps, 3 s
QUICK = "{politeness_delay: 0, follow_limit: 2, timeout: 5}"
LINE = "polling: "


def first_poll_config(site: FixtureSite, folder: Path, http: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: 'sqlite:///{folder}/tracker.db'\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        f"http: {http}\n",
        encoding="utf-8",
    )
    site.stage("09-2022-01-28")
    return config


def tracker(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", NOW, *args]


def terminal_env() -> dict[str, str]:
    """A terminal as rich recognises one (not "dumb"), with nothing in the environment telling rich otherwise."""
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_INTERACTIVE", "TTY_COMPATIBLE", "FORCE_COLOR")}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "160"}


def on_a_terminal(command: list[str]) -> tuple[int, str, str]:
    """Run `command` with its stderr on a pseudo-terminal: exit code, stdout, and what the terminal showed."""
    ours, theirs = pty.openpty()
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=theirs, env=terminal_env()
        )
    finally:
        os.close(theirs)
    shown = bytearray()
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        ready, _, _ = select.select([ours], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(ours, 65536)
        except OSError:  # EIO: the process closed the terminal (it exited)
            break
        if not chunk:
            break
        shown += chunk
    os.close(ours)
    out, _ = process.communicate(timeout=30)
    return process.returncode, out.decode(), shown.decode(errors="replace")


def test_a_long_first_poll_on_a_terminal_shows_pages_fetched_of_planned_and_the_host_waited_on(
    site: FixtureSite, tmp_path: Path
):
    code, out, shown = on_a_terminal(tracker(first_poll_config(site, tmp_path, SLOW), "poll"))
    assert code == 0, shown
    assert "polled 16 sources" in out
    assert LINE in shown and " of 16 pages fetched" in shown, shown
    assert "waiting on 127.0.0.1 (politeness delay)" in shown, shown
    assert LINE not in out  # the line is stderr's, and transient


@pytest.mark.parametrize("how", ["--json on a terminal", "stderr a pipe"], ids=["json-on-a-terminal", "stderr-a-pipe"])
def test_a_long_first_poll_draws_no_progress_with_json_or_off_a_terminal(site: FixtureSite, tmp_path: Path, how: str):
    config = first_poll_config(site, tmp_path, SLOW)
    started = time.monotonic()
    if how == "--json on a terminal":
        code, out, shown = on_a_terminal(tracker(config, "poll", "--json"))
        assert len(json.loads(out)["sources"]) == 16
    else:
        result = subprocess.run(tracker(config, "poll"), capture_output=True, text=True, timeout=60, env=terminal_env())
        code, out, shown = result.returncode, result.stdout, result.stderr
    assert code == 0, shown
    assert time.monotonic() - started > SHOW_AFTER + 0.5  # long enough that a terminal would have shown it
    assert LINE not in out and LINE not in shown and "pages fetched" not in out + shown


def test_a_quick_poll_on_a_terminal_draws_nothing(site: FixtureSite, tmp_path: Path):
    code, out, shown = on_a_terminal(tracker(first_poll_config(site, tmp_path, QUICK), "poll"))
    assert code == 0, shown
    assert "polled 6 sources" in out
    assert "polling" not in shown and "fetched" not in shown


def test_run_once_on_a_terminal_shows_the_progress_of_its_cycle(site: FixtureSite, tmp_path: Path):
    code, _, shown = on_a_terminal(tracker(first_poll_config(site, tmp_path, SLOW), "run", "--once"))
    assert code == 0, shown
    assert " of 16 pages fetched" in shown and "poll: " in shown, shown


@pytest.mark.parametrize(
    ("fetching", "text"),
    [
        (Fetching(2, 0), "polling: 0 of 2 pages fetched"),
        (Fetching(1, 0, "docs.vmware.com"), "polling: 0 of 1 page fetched; fetching from docs.vmware.com"),
        (
            Fetching(40, 12, "docs.vmware.com", pausing=True),
            "polling: 12 of 40 pages fetched; waiting on docs.vmware.com (politeness delay)",
        ),
        (Fetching(3, 1, "evil\x1b[2J.example"), "polling: 1 of 3 pages fetched; fetching from evil\\x1b[2J.example"),
    ],
)
def test_the_progress_line_reads(fetching: Fetching, text: str):
    assert progress_text(fetching) == text

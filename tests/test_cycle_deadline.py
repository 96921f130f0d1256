"""A poll cycle has a deadline (`service.cycle_deadline`): a vendor page that trickles forever (a byte always comes
within the per-read timeout) is abandoned when it passes and recorded as an error that `tracker sources` shows,
while the other sources' results are recorded as usual; `tracker poll` and `tracker run --once` end, and their
process does not wait for the abandoned fetch to exit. Real processes against a real site on 127.0.0.1."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.slow_pages import SlowSite

DEADLINE = 3  # seconds: the cycle deadline these configs set
BOUND = 90  # seconds: a generous upper bound that proves "it ended" on a loaded machine; a hang never ends
NOW = "2021-09-20T08:00:00Z"
LATER = "2021-09-20T10:00:00Z"
MISSED = f"missed the cycle's deadline of {DEADLINE} s"


@pytest.fixture
def slow_site() -> Iterator[SlowSite]:
    server = SlowSite().start()
    server.stage("01-2021-09-20")
    try:
        yield server
    finally:
        server.stop()


def _config(site: SlowSite, folder: Path, politeness: float = 0) -> Path:
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: 'sqlite:///{folder}/tracker.db'\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        f"http: {{politeness_delay: {politeness}, follow_limit: 500, timeout: 20}}\n"
        f"service: {{cycle_deadline: {DEADLINE}s}}\n",
        encoding="utf-8",
    )
    return config


def _tracker(config: Path, *args: str, now: str = NOW) -> subprocess.CompletedProcess[str]:
    """`tracker ARGS` in its own process, as cron or an admin runs it; it must end within BOUND seconds."""
    command = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", now, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=BOUND, check=False)


def _sources(config: Path) -> dict[str, dict[str, Any]]:
    shown = Cli(config)("sources", "--all", "--json", now=LATER)
    return {item["id"]: item for item in json.loads(shown)}


@pytest.mark.parametrize(
    ("command", "politeness"),
    [(["poll"], 0), (["poll"], 0.05), (["run", "--once"], 0)],
    ids=["poll", "poll-one-page-at-a-time", "run-once"],
)
def test_a_kb_page_trickling_forever_is_an_error_at_the_deadline_and_the_other_kb_is_recorded(
    slow_site: SlowSite, tmp_path: Path, command: list[str], politeness: float
) -> None:
    config = _config(slow_site, tmp_path, politeness)
    slow_site.trickle("/kb/326316.html")

    ended = _tracker(config, *command)

    assert ended.returncode == 0, ended.stderr  # the cycle ran: a source that failed is shown by `tracker sources`
    assert "/kb/326316.html" in slow_site.arrived  # it was fetched, and trickled
    sources = _sources(config)
    assert sources["vcenter-kb"]["health"] != "ok"
    assert sources["vcenter-kb"]["last_error"].endswith(MISSED)
    assert sources["vcenter-kb"]["last_success"] is None
    assert sources["esxi-kb"]["health"] == "ok" and sources["esxi-kb"]["rows_seen"] > 0
    assert sources["esxi-kb"]["last_error"] is None
    builds = Cli(config)("builds", "--product", "esxi", "--json", now=LATER)
    assert any(b["build"] == 18426014 for b in json.loads(builds))  # ESXi 7.0 U2d, recorded from the healthy KB


def test_release_notes_trickling_under_the_lease_end_the_cycle_and_pages_never_fetched_wait_for_the_next(
    slow_site: SlowSite, tmp_path: Path
) -> None:
    config = _config(slow_site, tmp_path)
    slow_site.trickle("/notes/esxi-70u2d.html")

    first = _tracker(config, "poll")

    assert first.returncode == 0, first.stderr
    sources = _sources(config)
    notes = {item["url"].rsplit("/", 1)[1]: item for item in sources.values() if not item["configured"]}
    assert notes["esxi-70u2d.html"]["last_error"].endswith(MISSED)
    assert notes["esxi-70u2c.html"]["health"] == "ok"  # its siblings answered in time: recorded
    assert sources["esxi-kb"]["health"] == "ok" and sources["vcenter-kb"]["health"] == "ok"
    vcenter_notes = [item for name, item in notes.items() if name.startswith("vcenter-")]
    assert vcenter_notes and all(n["last_success"] is None and n["last_error"] is None for n in vcenter_notes)
    assert not [p for p in slow_site.requests if p.path.startswith("/notes/vcenter-")]  # linked, not yet fetched

    slow_site.stop_trickling()
    second = _tracker(config, "poll", now=LATER)
    assert second.returncode == 0, second.stderr
    notes = {item["url"].rsplit("/", 1)[1]: item for item in _sources(config).values() if not item["configured"]}
    assert notes["esxi-70u2d.html"]["health"] == "ok"  # the next cycle fetched it
    assert notes["vcenter-70u2d.html"]["health"] == "ok"  # and followed what the first one had no time for


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", "greater than or equal to 1"), ("soon", "expected a duration like 30m")],
)
def test_a_bad_cycle_deadline_is_refused_naming_the_key(tmp_path: Path, value: str, expected: str) -> None:
    config = tmp_path / "tracker.yaml"
    config.write_text(f"database: 'sqlite:///{tmp_path}/tracker.db'\nservice: {{cycle_deadline: {value}}}\n")
    ended = _tracker(config, "poll")
    assert ended.returncode == 2
    assert "service.cycle_deadline" in ended.stderr and expected in ended.stderr, ended.stderr

"""Page completeness and growth guards (issue 10), through `tracker poll` and `tracker run --once` against the
fixture site on 127.0.0.1: a KB page cut at 80% raises no false pull, a page that suddenly lists 10,000 rows
raises no `new` event and leaves the baseline as it was, and the release notes a KB links to are followed at
most `http.follow_limit` at a time, however many rows it lists."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.site import FIXTURES, FixtureSite

KB = "/kb/316595.html"
PAGE = (FIXTURES / "kb" / "guard-316595-45-rows.html").read_bytes()  # 45 rows in three tables
TECHDOCS = b"https://techdocs.broadcom.com"
FLOOD = 10_000
FOLLOW = 5  # http.follow_limit of these tests

Command = tuple[str, ...]
COMMANDS: dict[str, Command] = {"poll": ("poll",), "run --once": ("run", "--once")}


class Polls:
    """One `tracker poll` or `tracker run --once` an hour apart (the sources' interval), read back as a user would."""

    def __init__(self, cli: Cli, command: Command) -> None:
        self.cli, self.command, self.hour = cli, command, 0

    @property
    def now(self) -> str:
        day, hour = divmod(self.hour, 24)
        return f"2026-06-{day + 1:02d}T{hour:02d}:00:00Z"

    def __call__(self, hours: int = 1) -> list[dict[str, Any]]:
        """Poll once, `hours` after the last poll; the events it added."""
        before = len(self.events())
        self.hour += hours
        self.cli(*self.command, now=self.now)
        return self.events()[before:]

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.cli.json("events", now=self.now)
        return sorted(events, key=lambda e: e["id"])

    def source(self) -> dict[str, Any]:
        return next(s for s in self.cli.json("sources", now=self.now) if s["id"] == "esxi-kb")


def write_config(site: FixtureSite, folder: Path, follow: bool) -> Path:
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder}/tracker.db\n"
        f"sources:\n  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url(KB)}', product: esxi,"
        f" follow_links: {str(follow).lower()}}}\n"
        f"http: {{politeness_delay: 0, timeout: 5, follow_limit: {FOLLOW}}}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(params=list(COMMANDS))
def polls(request: pytest.FixtureRequest, site: FixtureSite, tmp_path: Path) -> Callable[[bool], Polls]:
    def make(follow: bool) -> Polls:
        return Polls(Cli(write_config(site, tmp_path, follow)), COMMANDS[request.param])

    return make


def local_links(site: FixtureSite, page: bytes) -> bytes:
    """The page with its release-notes links on the fixture site (the tests never leave 127.0.0.1)."""
    return page.replace(TECHDOCS, site.base_url.encode())


def flooded(page: bytes, rows: int) -> bytes:
    """The page with `rows` more rows in its ESXi 8.0 table, each linking to its own release notes."""
    extra = "".join(
        f'<tr><td>ESXi 8.0.3</td><td><a href="/flood/notes-{i}.html">ESXi 8.0 Update 3</a></td>'
        f"<td>2026-05-{1 + i % 28:02d}</td><td>{30_000_000 + i}</td><td>ISO</td></tr>\n"
        for i in range(rows)
    )
    cut = page.index(b"</tbody>")
    return page[:cut] + extra.encode() + page[cut:]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


# --- a page cut short -----------------------------------------------------------------------------------------
def test_a_kb_page_cut_at_80_percent_raises_no_pull_and_the_source_shows_where_it_ended(
    site: FixtureSite, polls: Callable[[bool], Polls]
):
    poll = polls(False)
    site.serve(KB, PAGE)
    assert poll() == []  # the baseline: 45 builds
    # Served whole as 80% of the page: a response with no Content-Length that ends early looks exactly like this.
    site.serve(KB, PAGE[: len(PAGE) * 8 // 10])
    first, second = poll(), poll()
    assert kinds(first + second) == ["source_anomaly"]  # not 7 medium-confidence pulls
    source = poll.source()
    assert source["health"] == "anomaly"
    assert source["last_error"].startswith("page ends early: no </table> after row ")
    assert all(b["status"] == "available" for b in poll.cli.json("builds", now=poll.now))
    site.serve(KB, PAGE)
    assert kinds(poll()) == ["source_recovered"]  # nothing restored: nothing was pulled
    assert poll() == [] and poll.source()["health"] == "ok"


# --- a page that suddenly grows -------------------------------------------------------------------------------
def test_a_page_that_suddenly_lists_10000_rows_is_an_anomaly_and_the_real_page_recovers_cleanly(
    site: FixtureSite, polls: Callable[[bool], Polls]
):
    poll = polls(False)
    site.serve(KB, PAGE)
    poll()
    site.serve(KB, flooded(PAGE, FLOOD))
    assert kinds(poll()) == ["source_anomaly"]  # not 10,000 `new` events
    source = poll.source()
    assert source["last_error"] == "the page added 10000 rows to the 45 it had, more than the 22 a page may add at once"
    assert len(poll.cli.json("builds", now=poll.now)) == 45  # the baseline was not replaced
    site.serve(KB, PAGE)
    assert kinds(poll()) == ["source_recovered"]  # not "lost 10000 of 10045 rows"
    assert poll.source()["health"] == "ok"
    site.serve(KB, flooded(PAGE, 2))  # real growth afterwards is news again
    assert kinds(poll()) == ["new", "new"]


def test_the_links_of_a_flooded_page_are_never_followed(site: FixtureSite, polls: Callable[[bool], Polls]):
    poll = polls(True)
    page = local_links(site, PAGE)
    site.serve(KB, page)
    poll()
    site.reset_log()
    site.serve(KB, flooded(page, FLOOD))
    poll()
    paths = [hit.path for hit in site.requests]
    assert not [p for p in paths if p.startswith("/flood/")]
    assert len([p for p in paths if p != KB]) <= 2 * FOLLOW  # the last good page's notes, by tier and limit


# --- links followed per KB table and cycle --------------------------------------------------------------------
def test_release_notes_due_again_are_followed_at_most_the_follow_limit_per_cycle_and_none_is_forgotten(
    site: FixtureSite, polls: Callable[[bool], Polls]
):
    poll = polls(True)
    page = local_links(site, PAGE)
    site.serve(KB, page)
    for _ in range(9):  # five new pages a cycle: all 45 linked pages fetched once
        poll()
    linked = {s["id"] for s in poll.cli.json("sources", "--all", now=poll.now) if not s["configured"]}
    assert len(linked) == 45 and all(
        s["last_success"] or s["last_error"] for s in poll.cli.json("sources", "--all", now=poll.now)
    )
    every_page = {path for path in local_paths(page)}
    notes: list[list[str]] = []
    while {path for cycle in notes for path in cycle} != every_page and len(notes) < 45:
        site.reset_log()
        poll(hours=24 * 8 if not notes else 1)  # a week later every one of them is due again at once
        notes.append([hit.path for hit in site.requests if hit.path != KB])
    assert max(len(cycle) for cycle in notes) == FOLLOW  # not 45 in one cycle: the every-cycle pages, then the rest
    assert {path for cycle in notes for path in cycle} == every_page  # the rest waited their turn, none was dropped


def local_paths(page: bytes) -> set[str]:
    """The paths of the release notes the page links to."""
    return {m.decode() for m in re.findall(rb'href="https?://[^/"]+(/[^"]*release-notes\.html)"', page)}

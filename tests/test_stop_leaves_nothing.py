"""No process outlives the tracker: `tracker poll` stopped with SIGTERM while its parser processes work (a first
poll of big pages) exits, and within 5 s nothing it started is left: no worker, no resource tracker."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.site import STORY, FixtureSite
from tests.support.waiting import wait_until

PAGES = 3
PAGE_BYTES = 1_200_000  # 3.6 MB of changed pages in all: past tracker/cycle/parse.py MIN_BYTES, so a pool parses them


def big_kb_page() -> bytes:
    """KB 316595 as the story serves it, its first table's rows repeated until the page is PAGE_BYTES long."""
    page = (STORY / "10-2022-02-16" / "kb" / "316595.html").read_text(encoding="utf-8")
    table = page.index('<table class="bc-table"')
    end = page.index("</table>", table)
    start = page.index("<tr>", table)
    rows = page[page.index("</tr>", start) + 5 : end]  # the rows after the header row
    copies = PAGE_BYTES // len(rows) + 1
    return (page[:end] + rows * copies + page[end:]).encode()


def children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.add(int(status.parent.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_sigterm_during_the_parse_pool_leaves_no_process_behind(site: FixtureSite, tmp_path: Path):
    page = big_kb_page()
    sources = ""
    for n in range(PAGES):
        site.serve(f"/kb/big-{n}.html", page)
        sources += f"  - {{id: kb-{n}, kind: kb_build_table, url: '{site.url(f'/kb/big-{n}.html')}', product: esxi}}\n"
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/t.db\nsources:\n{sources}http: {{politeness_delay: 0, max_bytes: 20000000}}\n",
        encoding="utf-8",
    )
    poll = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", "2022-02-16T08:00:00Z", "poll"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: children(poll.pid) or poll.poll() is not None, 60, "the parser processes to start")
        started = children(poll.pid)
        assert started, "the poll ended before it started a parser process: " + (
            poll.stderr.read() if poll.stderr else ""
        )
        os.kill(poll.pid, signal.SIGTERM)
        poll.wait(10)
        wait_until(lambda: not any(running(p) for p in started), 5, "no process of the poll left after SIGTERM")
    finally:
        if poll.poll() is None:
            poll.kill()
